package trace

import (
	"os"
	"strings"
	"testing"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// A small config, written for these tests, where each rule of Envoy's
// matching has a case: listeners on a VIP, a wildcard port and the virtual
// outbound listener; chains by port, prefix, SNI, transport and ALPN;
// virtual hosts of each domain kind; routes of each match kind.
const testDump = `{"configs":[
{"@type":"type.googleapis.com/envoy.admin.v3.ListenersConfigDump","dynamic_listeners":[
 {"name":"virtualOutbound","active_state":{"listener":{"name":"virtualOutbound","use_original_dst":true,
   "address":{"socket_address":{"address":"0.0.0.0","port_value":15001}},
   "filter_chains":[
    {"name":"virtualOutbound-blackhole","filter_chain_match":{"prefix_ranges":[{"address_prefix":"10.99.0.0","prefix_len":16}]},
     "filters":[{"name":"envoy.filters.network.tcp_proxy","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy","cluster":"BlackHoleCluster"}}]},
    {"name":"virtualOutbound-catchall-tcp","filters":[{"name":"envoy.filters.network.tcp_proxy","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy","cluster":"PassthroughCluster"}}]}]}}},
 {"name":"10.0.0.5_3306","active_state":{"listener":{"name":"10.0.0.5_3306","bind_to_port":false,
   "address":{"socket_address":{"address":"10.0.0.5","port_value":3306}},
   "filter_chains":[{"filters":[{"name":"envoy.filters.network.tcp_proxy","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
     "weighted_clusters":{"clusters":[{"name":"outbound|3306|v1|db.default.svc.cluster.local","weight":75},{"name":"outbound|3306|v2|db.default.svc.cluster.local","weight":25}]}}}]}]}}},
 {"name":"0.0.0.0_80","active_state":{"listener":{"name":"0.0.0.0_80","bind_to_port":false,
   "address":{"socket_address":{"address":"0.0.0.0","port_value":80}},
   "listener_filters":[{"name":"envoy.filters.listener.tls_inspector"},{"name":"envoy.filters.listener.http_inspector"}],
   "filter_chains":[
    {"name":"tls-exact","filter_chain_match":{"server_names":["api.example.com"],"transport_protocol":"tls"},
     "filters":[{"name":"envoy.filters.network.tcp_proxy","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy","cluster":"outbound|80||api"}}]},
    {"name":"tls-wildcard","filter_chain_match":{"server_names":["*.example.com"],"transport_protocol":"tls"},
     "filters":[{"name":"envoy.filters.network.tcp_proxy","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy","cluster":"outbound|80||wild"}}]},
    {"name":"http","filter_chain_match":{"application_protocols":["http/1.1","h2c"]},
     "filters":[{"name":"envoy.filters.network.http_connection_manager","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
       "rds":{"route_config_name":"80"}}}]}],
   "default_filter_chain":{"name":"default-tcp","filters":[{"name":"envoy.filters.network.tcp_proxy","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy","cluster":"PassthroughCluster"}}]}}}},
 {"name":"0.0.0.0_9000","active_state":{"listener":{"name":"0.0.0.0_9000","bind_to_port":false,
   "address":{"socket_address":{"address":"0.0.0.0","port_value":9000}},
   "filter_chains":[
    {"name":"a","filter_chain_match":{"destination_port":9000},"filters":[{"name":"envoy.filters.network.tcp_proxy","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy","cluster":"a"}}]},
    {"name":"b","filter_chain_match":{"destination_port":9000},"filters":[{"name":"envoy.filters.network.tcp_proxy","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy","cluster":"b"}}]}]}}},
 {"name":"virtualInbound","active_state":{"listener":{"name":"virtualInbound","use_original_dst":true,
   "address":{"socket_address":{"address":"0.0.0.0","port_value":15006}},
   "listener_filters":[{"name":"envoy.filters.listener.tls_inspector"}],
   "filter_chains":[
    {"name":"inbound_0.0.0.0_8080","filter_chain_match":{"destination_port":8080,"transport_protocol":"tls"},
     "transport_socket":{"name":"envoy.transport_sockets.tls","typed_config":{"@type":"type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
       "require_client_certificate":true,"common_tls_context":{"tls_certificate_sds_secret_configs":[{"name":"default"}]}}},
     "filters":[{"name":"envoy.filters.network.http_connection_manager","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
       "route_config":{"name":"inbound|8080||","virtual_hosts":[{"name":"inbound|http|8080","domains":["*"],"routes":[{"name":"default","match":{"prefix":"/"},"route":{"cluster":"inbound|8080||"}}]}]}}}]}]}}}
]},
{"@type":"type.googleapis.com/envoy.admin.v3.RoutesConfigDump","dynamic_route_configs":[{"route_config":{"name":"80","virtual_hosts":[
 {"name":"exact","domains":["shop.example.com","shop.example.com:80"],"routes":[
   {"name":"admin-exact","match":{"path":"/admin"},"direct_response":{"status":403}},
   {"name":"regex","match":{"safe_regex":{"regex":"/items/[0-9]+"}},"route":{"cluster":"outbound|80||items"}},
   {"name":"beta","match":{"prefix":"/","headers":[{"name":"x-beta","string_match":{"exact":"1"}}]},"route":{"cluster":"outbound|80|beta|shop"}},
   {"name":"not-curl","match":{"prefix":"/ua","headers":[{"name":"user-agent","string_match":{"prefix":"curl"},"invert_match":true}]},"route":{"cluster":"outbound|80||ua"}},
   {"name":"debug-query","match":{"prefix":"/","query_parameters":[{"name":"debug","present_match":true}]},"route":{"cluster":"outbound|80|debug|shop"}},
   {"name":"grpc","match":{"prefix":"/","grpc":{}},"route":{"cluster":"outbound|80|grpc|shop"}},
   {"name":"canary","match":{"prefix":"/canary","runtime_fraction":{"default_value":{"numerator":10,"denominator":"HUNDRED"},"runtime_key":"canary"}},"route":{"cluster":"outbound|80|canary|shop"}},
   {"name":"split","match":{"prefix":"/split"},"route":{"weighted_clusters":{"clusters":[{"name":"outbound|80|v1|shop","weight":90},{"name":"outbound|80|v2|shop","weight":10}]}}},
   {"name":"move","match":{"prefix":"/old/"},"redirect":{"prefix_rewrite":"/new/","response_code":"FOUND"}},
   {"name":"by-header","match":{"prefix":"/h"},"route":{"cluster_header":"x-cluster"}},
   {"name":"missing","match":{"prefix":"/missing"},"route":{"cluster":"outbound|80||nowhere"}},
   {"name":"Case","match":{"prefix":"/CASE","case_sensitive":false},"route":{"cluster":"outbound|80||shop"}},
   {"name":"sep","match":{"path_separated_prefix":"/api"},"route":{"cluster":"outbound|80||api"}},
   {"name":"default","match":{"prefix":"/"},"route":{"cluster":"outbound|80||shop"}}]},
 {"name":"suffix","domains":["*.example.com"],"routes":[{"name":"suffix","match":{"prefix":"/"},"route":{"cluster":"outbound|80||suffix"}}]},
 {"name":"prefix","domains":["shop.*"],"routes":[{"name":"prefix","match":{"prefix":"/"},"route":{"cluster":"outbound|80||prefix"}}]},
 {"name":"secure","domains":["secure.internal"],"require_tls":"ALL","routes":[{"name":"s","match":{"prefix":"/"},"route":{"cluster":"outbound|80||secure"}}]},
 {"name":"catchall","domains":["*"],"routes":[{"name":"allow_any","match":{"prefix":"/"},"route":{"cluster":"PassthroughCluster"}}]}
]}}]},
{"@type":"type.googleapis.com/envoy.admin.v3.ClustersConfigDump","dynamic_active_clusters":[
 {"cluster":{"name":"outbound|80||shop","type":"EDS","eds_cluster_config":{"service_name":"outbound|80||shop"}}},
 {"cluster":{"name":"outbound|80||items","type":"EDS"}},
 {"cluster":{"name":"outbound|80|beta|shop","type":"EDS"}},
 {"cluster":{"name":"outbound|80|v1|shop","type":"EDS"}},
 {"cluster":{"name":"outbound|80|v2|shop","type":"EDS"}},
 {"cluster":{"name":"inbound|8080||","type":"ORIGINAL_DST"}},
 {"cluster":{"name":"PassthroughCluster","type":"ORIGINAL_DST"}},
 {"cluster":{"name":"BlackHoleCluster","type":"STATIC"}}
]},
{"@type":"type.googleapis.com/envoy.admin.v3.EndpointsConfigDump","dynamic_endpoint_configs":[
 {"endpoint_config":{"cluster_name":"outbound|80||shop","endpoints":[{"lb_endpoints":[
   {"endpoint":{"address":{"socket_address":{"address":"10.1.0.1","port_value":8080}}},"health_status":"HEALTHY"},
   {"endpoint":{"address":{"socket_address":{"address":"10.1.0.2","port_value":8080}}},"health_status":"UNHEALTHY"}]}]}},
 {"endpoint_config":{"cluster_name":"outbound|80||items","endpoints":[{"lb_endpoints":[
   {"endpoint":{"address":{"socket_address":{"address":"10.1.0.3","port_value":8080}}},"health_status":"UNHEALTHY"}]}]}}
]}
]}`

func testConfig(t *testing.T) *xds.Config {
	t.Helper()
	dumps, err := envoyadmin.Load([]byte(testDump))
	if err != nil {
		t.Fatal(err)
	}
	return xds.New(dumps[0])
}

func httpReq(host, path string) Request {
	return Request{Mode: Outbound, Address: "10.0.0.80", Port: 80, Protocol: "http", TLS: "plaintext", Host: host, Path: path, Method: "GET", Headers: map[string][]string{}}
}

func rnd(v uint64) *uint64 { return &v }

// TestEnvoyMatching: each case is one of Envoy's documented rules.
func TestEnvoyMatching(t *testing.T) {
	cfg := testConfig(t)
	type want struct{ listener, chain, vhost, route, cluster, result, flag string }
	with := func(r Request, f func(*Request)) Request { f(&r); return r }
	cases := []struct {
		name string
		req  Request
		want want
	}{
		// Listeners: exact IP:port, then 0.0.0.0:port, then virtualOutbound's own chains.
		{"the VIP listener wins over the wildcard", with(httpReq("", ""), func(r *Request) { r.Address, r.Port, r.Protocol, r.Path = "10.0.0.5", 3306, "tcp", "" }),
			want{listener: "10.0.0.5_3306", result: Forwarded}},
		{"no listener for the port: virtualOutbound passes it through", with(httpReq("", ""), func(r *Request) { r.Address, r.Port, r.Protocol = "192.0.2.1", 5432, "tcp" }),
			want{listener: "virtualOutbound", chain: "virtualOutbound-catchall-tcp", cluster: "PassthroughCluster", result: Passthrough}},
		{"an address in the blackhole range", with(httpReq("", ""), func(r *Request) { r.Address, r.Port, r.Protocol = "10.99.1.1", 5432, "tcp" }),
			want{chain: "virtualOutbound-blackhole", cluster: "BlackHoleCluster", result: Blackhole, flag: "UH"}},
		{"a gateway has no virtual listener", with(httpReq("", ""), func(r *Request) { r.Mode, r.Port = Gateway, 7777 }),
			want{result: NoListener, flag: ""}},
		// Filter chains.
		{"SNI: the exact name beats the wildcard", with(httpReq("", ""), func(r *Request) { r.TLS, r.SNI, r.Protocol = "tls", "api.example.com", "tcp" }),
			want{chain: "tls-exact", cluster: "outbound|80||api"}},
		{"SNI: the wildcard when the exact does not match", with(httpReq("", ""), func(r *Request) { r.TLS, r.SNI, r.Protocol = "tls", "www.example.com", "tcp" }),
			want{chain: "tls-wildcard", cluster: "outbound|80||wild"}},
		{"no chain matches: the default chain", with(httpReq("", ""), func(r *Request) { r.Protocol = "tcp" }),
			want{chain: "default-tcp", result: Passthrough}},
		{"two chains with the same match: Envoy rejects the listener", with(httpReq("", ""), func(r *Request) { r.Port, r.Protocol = 9000, "tcp" }),
			want{result: ConfigError, flag: "NR"}},
		{"inbound plaintext into an mTLS chain", with(httpReq("", ""), func(r *Request) { r.Mode, r.Address, r.Port = Inbound, "10.1.0.9", 8080 }),
			want{listener: "virtualInbound", result: NoFilterChain}},
		{"inbound mTLS", with(httpReq("x", "/"), func(r *Request) {
			r.Mode, r.Address, r.Port, r.TLS, r.ALPN = Inbound, "10.1.0.9", 8080, "mtls", []string{"istio-http/1.1"}
		}), want{chain: "inbound_0.0.0.0_8080", route: "default", cluster: "inbound|8080||", result: Forwarded}},
		{"inbound plain TLS into Istio's mTLS chain", with(httpReq("x", "/"), func(r *Request) { r.Mode, r.Address, r.Port, r.TLS = Inbound, "10.1.0.9", 8080, "tls" }),
			want{chain: "inbound_0.0.0.0_8080", result: TLSError}},
		// Virtual hosts: exact, then suffix wildcard, then prefix wildcard, then "*".
		{"exact domain", httpReq("shop.example.com", "/"), want{chain: "http", vhost: "exact", route: "default"}},
		{"exact domain with its port", httpReq("shop.example.com:80", "/"), want{vhost: "exact"}},
		{"suffix wildcard", httpReq("a.example.com", "/"), want{vhost: "suffix"}},
		{"prefix wildcard", httpReq("shop.example.org", "/"), want{vhost: "prefix"}},
		{"catch-all", httpReq("other", "/"), want{vhost: "catchall", cluster: "PassthroughCluster", result: Passthrough}},
		{"require_tls ALL redirects plaintext", httpReq("secure.internal", "/"), want{vhost: "secure", result: Redirect}},
		// Routes: first match wins, every criterion.
		{"exact path, direct response", httpReq("shop.example.com", "/admin"), want{route: "admin-exact", result: DirectResponse}},
		{"exact path ignores the query string", httpReq("shop.example.com", "/admin?x=1"), want{route: "admin-exact"}},
		{"regex: the whole path must match", httpReq("shop.example.com", "/items/42"), want{route: "regex", cluster: "outbound|80||items", result: NoHealthyUpstream, flag: "UH"}},
		{"regex: a partial match is no match", httpReq("shop.example.com", "/items/42/reviews"), want{route: "default"}},
		{"header exact", with(httpReq("shop.example.com", "/x"), func(r *Request) { r.Headers["x-beta"] = []string{"1"} }), want{route: "beta"}},
		{"header exact, other value", with(httpReq("shop.example.com", "/x"), func(r *Request) { r.Headers["x-beta"] = []string{"2"} }), want{route: "default"}},
		{"inverted header match", with(httpReq("shop.example.com", "/ua"), func(r *Request) { r.Headers["user-agent"] = []string{"wget"} }), want{route: "not-curl"}},
		{"inverted header match, header absent", httpReq("shop.example.com", "/ua"), want{route: "default"}},
		{"query parameter present", httpReq("shop.example.com", "/x?debug"), want{route: "debug-query"}},
		{"gRPC only for gRPC", with(httpReq("shop.example.com", "/svc.Foo/Bar"), func(r *Request) { r.Protocol = "grpc" }), want{route: "grpc"}},
		{"runtime fraction, random value inside it", with(httpReq("shop.example.com", "/canary"), func(r *Request) { r.Random = rnd(205) }), want{route: "canary"}},
		{"runtime fraction, random value outside it", with(httpReq("shop.example.com", "/canary"), func(r *Request) { r.Random = rnd(50) }), want{route: "default"}},
		{"weighted clusters, picked by random value", with(httpReq("shop.example.com", "/split"), func(r *Request) { r.Random = rnd(95) }), want{route: "split", cluster: "outbound|80|v2|shop"}},
		{"weighted clusters without a random value", httpReq("shop.example.com", "/split"), want{route: "split", cluster: "", result: Forwarded}},
		{"redirect", httpReq("shop.example.com", "/old/page?q=1"), want{route: "move", result: Redirect}},
		{"cluster from a header", with(httpReq("shop.example.com", "/h"), func(r *Request) { r.Headers["x-cluster"] = []string{"outbound|80||shop"} }), want{route: "by-header", cluster: "outbound|80||shop"}},
		{"cluster from a header that is missing", httpReq("shop.example.com", "/h"), want{route: "by-header", result: NoCluster, flag: "NC"}},
		{"a cluster that is not there", httpReq("shop.example.com", "/missing"), want{route: "missing", result: NoCluster, flag: "NC"}},
		{"case-insensitive prefix", httpReq("shop.example.com", "/case/x"), want{route: "Case"}},
		{"path-separated prefix: the segment itself", httpReq("shop.example.com", "/api"), want{route: "sep"}},
		{"path-separated prefix: under it", httpReq("shop.example.com", "/api/v1"), want{route: "sep"}},
		{"path-separated prefix: not a longer segment", httpReq("shop.example.com", "/apiv2"), want{route: "default"}},
		{"forwarded with healthy endpoints", httpReq("shop.example.com", "/"), want{cluster: "outbound|80||shop", result: Forwarded}},
		{"TLS into a chain whose HCM does not terminate it", with(httpReq("shop.example.com", "/"), func(r *Request) {
			r.TLS, r.ALPN = "tls", []string{"http/1.1"} // no SNI: the server-name chains drop out, ALPN picks the HTTP chain
		}), want{chain: "http", result: ProtocolError, flag: "DPE"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := Trace(cfg, tc.req)
			check := func(field, got, want string) {
				if want != "" && got != want {
					t.Errorf("%s = %q, want %q\nsteps %v\nnotes %v\nrejected %v", field, got, want, h.Steps, h.Notes, h.Rejected)
				}
			}
			check("listener", h.Listener, tc.want.listener)
			check("filter chain", h.FilterChain, tc.want.chain)
			check("virtual host", h.VirtualHost, tc.want.vhost)
			check("route", h.Route, tc.want.route)
			if tc.want.cluster != "" || tc.name == "weighted clusters without a random value" {
				if h.Cluster != tc.want.cluster {
					t.Errorf("cluster = %q, want %q", h.Cluster, tc.want.cluster)
				}
			}
			check("result", h.Result, tc.want.result)
			check("flag", h.Flag, tc.want.flag)
		})
	}
}

func TestTraceSaysWhy(t *testing.T) {
	cfg := testConfig(t)
	h := Trace(cfg, httpReq("shop.example.com", "/old/page?q=1"))
	if h.Location != "http://shop.example.com/new/page?q=1" || h.Status != 302 {
		t.Errorf("redirect to %q (%d)", h.Location, h.Status)
	}
	h = Trace(cfg, with2(httpReq("shop.example.com", "/x"), "x-beta", "2"))
	found := false
	for _, r := range h.Rejected {
		if r.Stage == "route" && r.Name == "beta" && strings.Contains(r.Reason, "header x-beta = 1, the request has 2") {
			found = true
		}
	}
	if !found {
		t.Errorf("the near miss is not explained: %v", h.Rejected)
	}
	h = Trace(cfg, httpReq("shop.example.com", "/split"))
	if len(h.Weighted) != 2 || h.Weighted[0].Percent != 90 || !strings.Contains(strings.Join(h.Notes, " "), "--random-value") {
		t.Errorf("weights not shown: %+v %v", h.Weighted, h.Notes)
	}
	h = Trace(cfg, httpReq("shop.example.com", "/canary"))
	if !strings.Contains(strings.Join(h.Notes, " "), "runtime") {
		t.Errorf("a runtime fraction taken without a random value must say so: %v", h.Notes)
	}
}

func with2(r Request, k, v string) Request {
	r.Headers[k] = []string{v}
	return r
}

// FuzzTrace: no URL, header or request makes trace panic.
func FuzzTrace(f *testing.F) {
	f.Add("http://shop.example.com:80/items/42?x=1", "x-beta: 1", "10.0.0.80", uint32(80))
	f.Add("https://api.example.com", "user-agent: curl", "10.0.0.5", uint32(3306))
	f.Add("tcp://10.99.1.1:5432", ":authority: x", "", uint32(0))
	f.Add("grpc://[::1]:9000/svc.A/B", "bad header", "::1", uint32(9000))
	dumps, err := envoyadmin.Load([]byte(testDump))
	if err != nil {
		f.Fatal(err)
	}
	cfg := xds.New(dumps[0])
	f.Fuzz(func(t *testing.T, url, header, addr string, port uint32) {
		u, err := ParseURL(url)
		if err != nil {
			return
		}
		r := Request{Mode: Outbound, Address: addr, Port: u.Port, Protocol: "http", TLS: "plaintext", Host: u.Authority, Path: u.Path, Headers: map[string][]string{}}
		if port != 0 {
			r.Port = port
		}
		if n, v, err := ParseHeader(header); err == nil {
			r.Headers[n] = []string{v}
		}
		h := Trace(cfg, r)
		if h.Result == "" {
			t.Errorf("no result for %+v", r)
		}
	})
}

// TestFilterChainMatcherTree evaluates a real filter_chain_matcher (an
// Istio waypoint's main_internal listener: destination IP, then port).
func TestFilterChainMatcherTree(t *testing.T) {
	data, err := os.ReadFile("../../../shared/fixtures/istio/istioctl-golden/compare/configdump.json")
	if err != nil {
		t.Skip(err)
	}
	dumps, err := envoyadmin.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	cfg := xds.New(dumps[0])
	var l *xds.Listener
	for _, x := range cfg.Listeners() {
		if x.Name == "main_internal" {
			l = x
		}
	}
	if l == nil || !l.Matcher.Exists() {
		t.Fatal("no main_internal listener with a matcher tree")
	}
	for _, tc := range []struct {
		addr   string
		port   uint32
		chain  string
		result string
	}{
		{"10.96.1.201", 9080, "inbound-vip|9080||details.default.svc.cluster.local-http", ""},
		{"10.96.1.201", 9999, "", NoFilterChain},
		{"10.1.1.1", 9080, "", NoFilterChain},
	} {
		tr := &tracer{cfg: cfg, req: Request{Mode: Inbound, Address: tc.addr, Port: tc.port, Protocol: "http", TLS: "plaintext"},
			hop: &Hop{Notes: []string{}, Rejected: []Rejection{}, Steps: []Step{}}}
		tr.inspect(l)
		fc, result := tr.filterChain(l)
		got := ""
		if fc != nil {
			got = fc.Name
		}
		if got != tc.chain || result != tc.result {
			t.Errorf("%s:%d: chain %q result %q, want %q %q (notes %v)", tc.addr, tc.port, got, result, tc.chain, tc.result, tr.hop.Notes)
		}
	}
}

func TestURITemplates(t *testing.T) {
	for _, tc := range []struct {
		tmpl, path string
		ok         bool
	}{
		{"/books/{id}", "/books/42", true},
		{"/books/{id}", "/books/42/pages", false},
		{"/books/*/pages", "/books/42/pages", true},
		{"/books/**", "/books/42/pages/7", true},
		{"/books/{rest=**}", "/books/a/b", true},
		{"/books/{id}", "/shelves/42", false},
		{"/books/{id}", "/books/", false},
	} {
		if got := templateMatches(tc.tmpl, tc.path); got != tc.ok {
			t.Errorf("%s ~ %s: %v, want %v", tc.path, tc.tmpl, got, tc.ok)
		}
	}
}

// The two readings of a Host header: stripPort drops its port as Envoy's
// virtual host matching does, an IPv6 literal keeping its brackets (Istio
// writes its domains "[fd00::1]", "[fd00::1]:80"); Hostname is the bare
// host a DNS lookup or an SNI takes.
func TestHostHeaderReadings(t *testing.T) {
	for _, tc := range []struct{ in, stripped, hostname string }{
		{"reviews:9080", "reviews", "reviews"},
		{"reviews", "reviews", "reviews"},
		{"reviews.default.svc", "reviews.default.svc", "reviews.default.svc"},
		{"10.0.0.1:80", "10.0.0.1", "10.0.0.1"},
		{"[fd00::1]:80", "[fd00::1]", "fd00::1"},
		{"[fd00::1]", "[fd00::1]", "fd00::1"},
		{"fd00::1", "fd00::1", "fd00::1"},
		{"*.example.com:8", "*.example.com", "*.example.com"},
	} {
		if got := stripPort(tc.in); got != tc.stripped {
			t.Errorf("stripPort(%q) = %q, want %q", tc.in, got, tc.stripped)
		}
		if got := Hostname(tc.in); got != tc.hostname {
			t.Errorf("Hostname(%q) = %q, want %q", tc.in, got, tc.hostname)
		}
	}
}

// TestTraceSaysWhenAHostsWeightIsInvalid: an assignment Envoy would have
// rejected (a host's weight 0, below the proto's minimum of 1) is said,
// host and weight, where the trace reaches its cluster, and the trace
// ends unknown, not forwarded.
func TestTraceSaysWhenAHostsWeightIsInvalid(t *testing.T) {
	dump := strings.Replace(testDump, `"port_value":8080}}},"health_status":"HEALTHY"}`, `"port_value":8080}}},"health_status":"HEALTHY","load_balancing_weight":0}`, 1)
	if dump == testDump {
		t.Fatal("the test dump has no healthy host to change")
	}
	dumps, err := envoyadmin.Load([]byte(dump))
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]*xds.Config{"valid": testConfig(t), "weight 0": xds.New(dumps[0])} {
		h := Trace(cfg, httpReq("shop.example.com", "/"))
		if h.Cluster != "outbound|80||shop" {
			t.Fatalf("%s: the request goes to %q", name, h.Cluster)
		}
		said := strings.Contains(strings.Join(h.Notes, " "), "10.1.0.1:8080 (0)")
		if said != (name == "weight 0") {
			t.Errorf("%s: the invalid weight said %v: %v", name, said, h.Notes)
		}
		// Not "forwarded" on hosts Envoy would not have taken: unknown.
		if want := map[bool]string{false: Forwarded, true: Unknown}[name == "weight 0"]; h.Result != want {
			t.Errorf("%s: the trace ends %v, want %v", name, h.Result, want)
		}
	}
}
