package trace

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// proxyWithFilters is a gateway listener on port 80 whose connection
// manager runs the given HTTP filters (JSON, as Envoy dumps them) before
// the router, with one route to cluster "backend".
func proxyWithFilters(t *testing.T, tls bool, filters ...string) *xds.Config {
	t.Helper()
	transport := ""
	if tls {
		transport = `,"transport_socket":{"name":"envoy.transport_sockets.tls","typed_config":{
			"@type":"type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
			"require_client_certificate":true,
			"common_tls_context":{"tls_certificate_sds_secret_configs":[{"name":"default"}],
			"combined_validation_context":{"default_validation_context":{},"validation_context_sds_secret_config":{"name":"ROOTCA"}}}}}`
	}
	dump := `{"configs":[{"@type":"type.googleapis.com/envoy.admin.v3.ListenersConfigDump","static_listeners":[{"listener":{
		"name":"inbound","address":{"socket_address":{"address":"0.0.0.0","port_value":80}},"filter_chains":[{"filters":[{
		"name":"envoy.filters.network.http_connection_manager","typed_config":{
		"@type":"type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
		"stat_prefix":"inbound","route_config":{"name":"r","virtual_hosts":[{"name":"vh","domains":["*"],"routes":[
		{"match":{"prefix":"/"},"route":{"cluster":"backend"}}]}]},
		"http_filters":[` + strings.Join(append(filters, `{"name":"envoy.filters.http.router","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}`), ",") + `]}}]` + transport + `}]}}]},
		{"@type":"type.googleapis.com/envoy.admin.v3.ClustersConfigDump","static_clusters":[{"cluster":{"name":"backend","type":"STATIC","load_assignment":{"cluster_name":"backend","endpoints":[{"lb_endpoints":[{"endpoint":{"address":{"socket_address":{"address":"10.0.0.9","port_value":8080}}}}]}]}}}]}]}`
	dumps, err := envoyadmin.Load([]byte(dump))
	if err != nil {
		t.Fatal(err)
	}
	return xds.New(dumps[0])
}

// istioFilter reads one of Istio's generated filters (testdata, YAML with
// typedConfig) as the JSON an Envoy dump holds.
func istioFilter(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata/istio-authz", name))
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	return string(js)
}

func jwtOf(t *testing.T, claims map[string]any) string {
	b, _ := json.Marshal(claims)
	return "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString(b) + ".c2ln"
}

// TestAuthorizationOracle: requests against the RBAC filters istiod
// generates for Istio's own builder tests, decided as Istio documents
// those policies (sources in testdata/istio-authz/README.md).
func TestAuthorizationOracle(t *testing.T) {
	denyAllow := proxyWithFilters(t, true, istioFilter(t, "deny-and-allow-out1.yaml"), istioFilter(t, "deny-and-allow-out2.yaml"))
	plainDenyAllow := proxyWithFilters(t, false, istioFilter(t, "deny-and-allow-out1.yaml"), istioFilter(t, "deny-and-allow-out2.yaml"))
	paths := proxyWithFilters(t, false, istioFilter(t, "allow-path-out.yaml"))
	for _, tc := range []struct {
		name     string
		cfg      *xds.Config
		tls      string
		identity string
		path     string
		result   string
		status   uint32
		policy   string
	}{
		{"DENY policy matches its principal", denyAllow, "mtls", "spiffe://deny", "/", Denied, 403, "ns[foo]-policy[httpbin-deny]-rule[0]"},
		{"ALLOW policy matches its principal", denyAllow, "mtls", "spiffe://allow", "/", Forwarded, 0, "ns[foo]-policy[httpbin-allow]-rule[0]"},
		{"no ALLOW policy matches another principal", denyAllow, "mtls", "spiffe://other", "/", Denied, 403, ""},
		{"a plaintext request has no principal: not allowed", plainDenyAllow, "plaintext", "", "/", Denied, 403, ""},
		{"an unknown principal leaves the answer unknown", denyAllow, "mtls", "", "/", Unknown, 0, ""},
		{"notPaths * excludes /exact too", paths, "plaintext", "", "/exact", Denied, 403, ""},
		{"notPaths * excludes every path", paths, "plaintext", "", "/prefix/x", Denied, 403, ""},
	} {
		req := Request{Mode: Gateway, Port: 80, Protocol: "http", TLS: tc.tls, Host: "httpbin.foo", Method: "GET", Path: tc.path,
			ClientIdentity: tc.identity, Headers: map[string][]string{}}
		if tc.tls != "plaintext" {
			req.SNI = "httpbin.foo"
		}
		hop := Trace(tc.cfg, req)
		if hop.Result != tc.result || hop.Status != tc.status {
			t.Errorf("%s: %s (%d), want %s (%d)\n  notes %v\n  authz %+v", tc.name, hop.Result, hop.Status, tc.result, tc.status, hop.Notes, hop.Authorization)
			continue
		}
		if tc.policy != "" {
			found := false
			for _, a := range hop.Authorization {
				found = found || a.Policy == tc.policy
			}
			if !found {
				t.Errorf("%s: the decision does not name %s: %+v", tc.name, tc.policy, hop.Authorization)
			}
		}
		if tc.result == Denied && hop.Flag != "RBAC" {
			t.Errorf("%s: flag %q, want RBAC", tc.name, hop.Flag)
		}
	}
}

// Istio's RequestAuthentication and a requestPrincipals ALLOW policy, in
// the form istiod writes them: jwt_authn requiring a valid token or none
// (requires_any provider | allow_missing), then RBAC on istio_authn's
// request.auth.principal. Istio documents: no token passes authentication
// but is denied by the policy (403); an invalid token is 401.
const istioJWT = `{"name":"envoy.filters.http.jwt_authn","typed_config":{
	"@type":"type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
	"providers":{"origins-0":{"issuer":"testing@secure.istio.io","local_jwks":{"inline_string":"{}"},"forward":true,"payload_in_metadata":"testing@secure.istio.io"}},
	"rules":[{"match":{"prefix":"/"},"requires":{"requires_any":{"requirements":[{"provider_name":"origins-0"},{"allow_missing":{}}]}}}],
	"bypass_cors_preflight":true}}`

const requestPrincipalsPolicy = `{"name":"envoy.filters.http.rbac","typed_config":{
	"@type":"type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
	"rules":{"policies":{"ns[foo]-policy[require-jwt]-rule[0]":{"permissions":[{"and_rules":{"rules":[{"any":true}]}}],
	"principals":[{"and_ids":{"ids":[{"or_ids":{"ids":[{"metadata":{"filter":"istio_authn","path":[{"key":"request.auth.principal"}],
	"value":{"string_match":{"safe_regex":{"regex":".+"}}}}}]}}]}}]}}}}}`

func TestJWTAndRequestPrincipals(t *testing.T) {
	cfg := proxyWithFilters(t, false, istioJWT, requestPrincipalsPolicy)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	good := jwtOf(t, map[string]any{"iss": "testing@secure.istio.io", "sub": "jane", "exp": float64(now.Add(time.Hour).Unix())})
	expired := jwtOf(t, map[string]any{"iss": "testing@secure.istio.io", "sub": "jane", "exp": float64(now.Add(-time.Hour).Unix())})
	otherIssuer := jwtOf(t, map[string]any{"iss": "someone@else", "sub": "jane"})
	for _, tc := range []struct {
		name, auth string
		result     string
		status     uint32
	}{
		{"a valid token", "Bearer " + good, Forwarded, 0},
		{"no token: authenticated, then denied by the policy", "", Denied, 403},
		{"an expired token is 401", "Bearer " + expired, Denied, 401},
		{"a token of another issuer is 401", "Bearer " + otherIssuer, Denied, 401},
		{"not a JWT is 401", "Bearer not-a-jwt", Denied, 401},
	} {
		req := Request{Mode: Gateway, Port: 80, Protocol: "http", TLS: "plaintext", Host: "httpbin.foo", Method: "GET", Path: "/",
			Headers: map[string][]string{}, Now: func() time.Time { return now }}
		if tc.auth != "" {
			req.Headers["authorization"] = []string{tc.auth}
		}
		hop := Trace(cfg, req)
		if hop.Result != tc.result || hop.Status != tc.status {
			t.Errorf("%s: %s (%d), want %s (%d)\n  notes %v\n  steps %v", tc.name, hop.Result, hop.Status, tc.result, tc.status, hop.Notes, hop.Steps)
		}
	}
}

// TestFiltersTraceCannotEvaluate: an ext_authz, Wasm or Lua filter before
// the router makes the outcome unknown, never forwarded.
func TestFiltersTraceCannotEvaluate(t *testing.T) {
	for _, f := range []string{
		`{"name":"envoy.filters.http.ext_authz","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz"}}`,
		`{"name":"envoy.filters.http.lua","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua"}}`,
		`{"name":"my-plugin","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm","config":{"root_id":"auth"}}}`,
		`{"name":"ecds-filter","config_discovery":{"config_source":{"ads":{}},"type_urls":["type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"]}}`,
	} {
		hop := Trace(proxyWithFilters(t, false, f), Request{Mode: Gateway, Port: 80, Protocol: "http", TLS: "plaintext", Host: "x", Method: "GET", Path: "/"})
		if hop.Result != Unknown || hop.UnknownDependsOn == "" {
			t.Errorf("%s: %s (depends on %q), want unknown", f, hop.Result, hop.UnknownDependsOn)
		}
	}
	// Istio's stats filters only observe.
	hop := Trace(proxyWithFilters(t, false, `{"name":"istio.stats","typed_config":{"@type":"type.googleapis.com/stats.PluginConfig"}}`),
		Request{Mode: Gateway, Port: 80, Protocol: "http", TLS: "plaintext", Host: "x", Method: "GET", Path: "/"})
	if hop.Result != Forwarded {
		t.Errorf("istio.stats: %s, want forwarded", hop.Result)
	}
}

// TestFaultInjection: an abort of all requests is a fault with its status;
// of a share, it is decided by --random-value, else unknown.
func TestFaultInjection(t *testing.T) {
	fault := func(pct int) string {
		return `{"name":"envoy.filters.http.fault","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault",
			"abort":{"http_status":503,"percentage":{"numerator":` + strconv.Itoa(pct) + `,"denominator":"HUNDRED"}}}}`
	}
	req := func(random *uint64) Request {
		return Request{Mode: Gateway, Port: 80, Protocol: "http", TLS: "plaintext", Host: "x", Method: "GET", Path: "/", Random: random}
	}
	low, high := uint64(5), uint64(95)
	for _, tc := range []struct {
		pct    int
		random *uint64
		result string
	}{
		{0, nil, Forwarded}, {50, nil, Unknown}, {50, &low, Fault}, {50, &high, Forwarded},
	} {
		hop := Trace(proxyWithFilters(t, false, fault(tc.pct)), req(tc.random))
		if hop.Result != tc.result {
			t.Errorf("abort %d%%: %s, want %s (%v)", tc.pct, hop.Result, tc.result, hop.Notes)
		}
		if tc.result == Fault && (hop.Status != 503 || hop.Flag != "FI") {
			t.Errorf("abort: %d %s, want 503 FI", hop.Status, hop.Flag)
		}
	}
	all := `{"name":"envoy.filters.http.fault","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault","abort":{"http_status":418,"percentage":{"numerator":100}}}}`
	if hop := Trace(proxyWithFilters(t, false, all), req(nil)); hop.Result != Fault || hop.Status != 418 {
		t.Errorf("abort 100%%: %s %d", hop.Result, hop.Status)
	}
}

// TestClientCertificateRequired: a chain that requires a client
// certificate fails the handshake for a client that presents none.
func TestClientCertificateRequired(t *testing.T) {
	cfg := proxyWithFilters(t, true)
	base := Request{Mode: Gateway, Port: 80, Protocol: "http", Host: "x", SNI: "x", Method: "GET", Path: "/"}
	for _, tc := range []struct {
		tls, cert, result string
	}{
		{"tls", "", TLSError},
		{"mtls", "none", TLSError},
		{"mtls", "", Forwarded},
		{"mtls", "mesh", Forwarded},
	} {
		r := base
		r.TLS, r.ClientCert = tc.tls, tc.cert
		if hop := Trace(cfg, r); hop.Result != tc.result {
			t.Errorf("--tls %s --client-cert %q: %s, want %s (%v)", tc.tls, tc.cert, hop.Result, tc.result, hop.Notes)
		}
	}
}

// TestCaptureBeyondIstio: Open Service Mesh's outbound listener (15001)
// restores the original destination with the original_dst listener filter
// and matches it with its own chains, no hand-off (the real OSM bookbuyer
// dump); a Consul-style sidecar adds explicit upstreams on loopback, which
// are not captured and reached directly.
func TestCaptureBeyondIstio(t *testing.T) {
	data, err := os.ReadFile("../../../shared/fixtures/osm/config_dump/sample-envoy-config-dump-bookbuyer.json")
	if err != nil {
		t.Skip(err)
	}
	dumps, err := envoyadmin.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	osm := xds.New(dumps[0])
	hop := Trace(osm, Request{Mode: Outbound, Address: "10.0.77.207", Port: 14001, Protocol: "http", TLS: "plaintext",
		Host: "bookstore.bookstore:14001", Method: "GET", Path: "/books-bought", Headers: map[string][]string{}})
	if hop.Listener != "outbound-listener" || hop.Cluster != "bookstore/bookstore" || hop.Result != Forwarded {
		t.Errorf("OSM: listener %q cluster %q result %s, want outbound-listener, bookstore/bookstore, forwarded\n  notes %v", hop.Listener, hop.Cluster, hop.Result, hop.Notes)
	}
	// Another destination: the capture listener has no chain for it.
	hop = Trace(osm, Request{Mode: Outbound, Address: "10.0.9.9", Port: 80, Protocol: "http", TLS: "plaintext", Host: "x", Method: "GET", Path: "/"})
	if hop.Listener != "outbound-listener" || hop.Result != NoFilterChain {
		t.Errorf("OSM, unknown destination: listener %q result %s, want outbound-listener no_filter_chain", hop.Listener, hop.Result)
	}

	consul := `{"configs":[{"@type":"type.googleapis.com/envoy.admin.v3.ListenersConfigDump","dynamic_listeners":[
	{"name":"db:127.0.0.1:9191","active_state":{"listener":{"name":"db:127.0.0.1:9191","address":{"socket_address":{"address":"127.0.0.1","port_value":9191}},
	  "filter_chains":[{"filters":[{"name":"envoy.filters.network.tcp_proxy","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy","stat_prefix":"db","cluster":"db.default.dc1.internal.consul"}}]}],"traffic_direction":"OUTBOUND"}}},
	{"name":"outbound_listener:127.0.0.1:15001","active_state":{"listener":{"name":"outbound_listener:127.0.0.1:15001","address":{"socket_address":{"address":"127.0.0.1","port_value":15001}},
	  "filter_chains":[{"filter_chain_match":{"prefix_ranges":[{"address_prefix":"10.0.0.1","prefix_len":32}]},"filters":[{"name":"envoy.filters.network.tcp_proxy","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy","stat_prefix":"google","cluster":"google.default.dc1.internal.consul"}}]},
	  {"filters":[{"name":"envoy.filters.network.tcp_proxy","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy","stat_prefix":"original","cluster":"original-destination"}}]}],
	  "listener_filters":[{"name":"envoy.filters.listener.original_dst","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst"}}],"traffic_direction":"OUTBOUND"}}}]}]}`
	dumps, err = envoyadmin.Load([]byte(consul))
	if err != nil {
		t.Fatal(err)
	}
	cfg := xds.New(dumps[0])
	for _, tc := range []struct {
		addr                    string
		port                    uint32
		listener, cluster, want string
	}{
		{"10.0.0.1", 443, "outbound_listener:127.0.0.1:15001", "google.default.dc1.internal.consul", NoCluster},
		{"10.0.0.2", 443, "outbound_listener:127.0.0.1:15001", "original-destination", NoCluster},
		{"127.0.0.1", 9191, "db:127.0.0.1:9191", "db.default.dc1.internal.consul", NoCluster},
	} {
		hop := Trace(cfg, Request{Mode: Outbound, Address: tc.addr, Port: tc.port, Protocol: "tcp", TLS: "plaintext"})
		if hop.Listener != tc.listener || hop.Cluster != tc.cluster || hop.Result != tc.want {
			t.Errorf("Consul-style %s:%d: listener %q cluster %q %s, want %q %q %s (the dump has no clusters)", tc.addr, tc.port, hop.Listener, hop.Cluster, hop.Result, tc.listener, tc.cluster, tc.want)
		}
	}
}

// TestClientIdentityChecks: a chain that checks the client certificate's
// subject alt names or trust domain, against the identity given; Istio
// 1.0 to 1.4 file certificates (/etc/certs) are the mesh identity.
func TestClientIdentityChecks(t *testing.T) {
	chain := func(validation string, cert string) *xds.Config {
		dump := `{"configs":[{"@type":"type.googleapis.com/envoy.admin.v3.ListenersConfigDump","static_listeners":[{"listener":{
			"name":"in","address":{"socket_address":{"address":"0.0.0.0","port_value":80}},"filter_chains":[{"filters":[{
			"name":"envoy.filters.network.tcp_proxy","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy","stat_prefix":"in","cluster":"app"}}],
			"transport_socket":{"name":"tls","typed_config":{"@type":"type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
			"require_client_certificate":true,"common_tls_context":{` + cert + `,"combined_validation_context":{"default_validation_context":` + validation + `,
			"validation_context_sds_secret_config":{"name":"ROOTCA"}}}}}}]}}]},
			{"@type":"type.googleapis.com/envoy.admin.v3.ClustersConfigDump","static_clusters":[{"cluster":{"name":"app","type":"ORIGINAL_DST","lb_policy":"CLUSTER_PROVIDED"}}]}]}`
		dumps, err := envoyadmin.Load([]byte(dump))
		if err != nil {
			t.Fatal(err)
		}
		return xds.New(dumps[0])
	}
	sds := `"tls_certificate_sds_secret_configs":[{"name":"default"}]`
	files := `"tls_certificates":[{"certificate_chain":{"filename":"/etc/certs/cert-chain.pem"},"private_key":{"filename":"/etc/certs/key.pem"}}]`
	trustDomain := `{"match_subject_alt_names":[{"prefix":"spiffe://cluster.local/"}]}`
	exact := `{"match_subject_alt_names":[{"exact":"spiffe://cluster.local/ns/default/sa/sleep"}]}`
	for _, tc := range []struct {
		name, validation, cert, identity, want string
	}{
		{"mesh identity in the trust domain", trustDomain, sds, "spiffe://cluster.local/ns/a/sa/b", Forwarded},
		{"identity of another trust domain", trustDomain, sds, "spiffe://other.local/ns/a/sa/b", TLSError},
		{"mesh certificate, identity not given, trust domain only", trustDomain, sds, "", Forwarded},
		{"the SAN the chain asks for", exact, sds, "spiffe://cluster.local/ns/default/sa/sleep", Forwarded},
		{"another SAN", exact, sds, "spiffe://cluster.local/ns/default/sa/other", TLSError},
		{"an exact SAN and no identity given", exact, sds, "", Unknown},
		{"Istio 1.0-1.4 file certificates are mesh mTLS", `{}`, files, "", Forwarded},
	} {
		hop := Trace(chain(tc.validation, tc.cert), Request{Mode: Gateway, Port: 80, Protocol: "tcp", TLS: "mtls", ClientIdentity: tc.identity})
		if hop.Result != tc.want {
			t.Errorf("%s: %s, want %s (%v)", tc.name, hop.Result, tc.want, hop.Notes)
		}
	}
	// Plain TLS into the file-certificate chain: it takes Istio mTLS only.
	if hop := Trace(chain(`{}`, files), Request{Mode: Gateway, Port: 80, Protocol: "tcp", TLS: "tls", ClientCert: "client"}); hop.Result != TLSError {
		t.Errorf("plain TLS into an /etc/certs mTLS chain: %s, want tls_error", hop.Result)
	}
}

// TestNetworkRBACAndCORS: the RBAC network filter decides on the
// connection before the TCP proxy; a CORS preflight from an allowed origin
// is answered by Envoy itself.
func TestNetworkRBACAndCORS(t *testing.T) {
	tcp := func(action string) *xds.Config {
		dump := `{"configs":[{"@type":"type.googleapis.com/envoy.admin.v3.ListenersConfigDump","static_listeners":[{"listener":{
			"name":"db","address":{"socket_address":{"address":"0.0.0.0","port_value":5432}},"filter_chains":[{"filters":[
			{"name":"envoy.filters.network.rbac","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC","stat_prefix":"tcp",
			 "rules":{"action":"` + action + `","policies":{"ns[db]-policy[only-app]-rule[0]":{"permissions":[{"destination_port":5432}],"principals":[{"direct_remote_ip":{"address_prefix":"10.0.0.0","prefix_len":8}}]}}}}},
			{"name":"envoy.filters.network.tcp_proxy","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy","stat_prefix":"db","cluster":"db"}}]}]}}]},
			{"@type":"type.googleapis.com/envoy.admin.v3.ClustersConfigDump","static_clusters":[{"cluster":{"name":"db","type":"ORIGINAL_DST","lb_policy":"CLUSTER_PROVIDED"}}]}]}`
		dumps, err := envoyadmin.Load([]byte(dump))
		if err != nil {
			t.Fatal(err)
		}
		return xds.New(dumps[0])
	}
	for _, tc := range []struct {
		action, source, want string
	}{
		{"ALLOW", "10.1.2.3", Forwarded}, {"ALLOW", "192.168.1.1", Denied}, {"ALLOW", "", Unknown},
		{"DENY", "10.1.2.3", Denied}, {"DENY", "192.168.1.1", Forwarded},
	} {
		hop := Trace(tcp(tc.action), Request{Mode: Gateway, Port: 5432, Protocol: "tcp", TLS: "plaintext", SourceIP: tc.source})
		if hop.Result != tc.want {
			t.Errorf("network RBAC %s from %q: %s, want %s (%v)", tc.action, tc.source, hop.Result, tc.want, hop.Notes)
		}
		if tc.want == Denied && (hop.Flag != "RBAC" || hop.Status != 0) {
			t.Errorf("network RBAC denial: flag %q status %d, want RBAC and no HTTP status (the connection is closed)", hop.Flag, hop.Status)
		}
	}

	cors := `{"name":"envoy.filters.http.cors","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors"}}`
	cfg := proxyWithFilters(t, false, cors)
	// The route's CORS policy, per filter, as Istio writes a VirtualService's corsPolicy.
	preflight := func(origin string) Request {
		return Request{Mode: Gateway, Port: 80, Protocol: "http", TLS: "plaintext", Host: "x", Method: "OPTIONS", Path: "/",
			Headers: map[string][]string{"origin": {origin}, "access-control-request-method": {"PUT"}}}
	}
	// No policy on the route: the preflight goes on to the upstream.
	if hop := Trace(cfg, preflight("https://a.example")); hop.Result != Forwarded {
		t.Errorf("preflight without a policy: %s, want forwarded", hop.Result)
	}
	dump := `{"configs":[{"@type":"type.googleapis.com/envoy.admin.v3.ListenersConfigDump","static_listeners":[{"listener":{
		"name":"gw","address":{"socket_address":{"address":"0.0.0.0","port_value":80}},"filter_chains":[{"filters":[{
		"name":"envoy.filters.network.http_connection_manager","typed_config":{
		"@type":"type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
		"stat_prefix":"gw","route_config":{"name":"r","virtual_hosts":[{"name":"vh","domains":["*"],"routes":[
		{"match":{"prefix":"/"},"route":{"cluster":"backend"},"typed_per_filter_config":{"envoy.filters.http.cors":{
		"@type":"type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy","allow_origin_string_match":[{"exact":"https://a.example"}],"allow_methods":"PUT"}}}]}]},
		"http_filters":[` + cors + `,{"name":"envoy.filters.http.router","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}]}}]}]}}]}]}`
	dumps, err := envoyadmin.Load([]byte(dump))
	if err != nil {
		t.Fatal(err)
	}
	withPolicy := xds.New(dumps[0])
	if hop := Trace(withPolicy, preflight("https://a.example")); hop.Result != DirectResponse || hop.Status != 200 {
		t.Errorf("preflight from an allowed origin: %s %d, want direct_response 200", hop.Result, hop.Status)
	}
	if hop := Trace(withPolicy, preflight("https://evil.example")); hop.Result == DirectResponse {
		t.Errorf("preflight from an origin the policy does not allow: answered by Envoy")
	}
}
