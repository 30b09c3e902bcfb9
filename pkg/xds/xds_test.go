package xds

import (
	"strings"
	"testing"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
)

// load builds the model of a dump given inline.
func load(t *testing.T, dump string) *Config {
	t.Helper()
	ds, err := envoyadmin.Load([]byte(dump))
	if err != nil {
		t.Fatal(err)
	}
	return New(ds[0])
}

func TestParseClusterName(t *testing.T) {
	for _, tc := range []struct {
		name, dir, subset, fqdn string
		port                    uint32
	}{
		{"outbound|9080|v1|reviews.default.svc.cluster.local", "outbound", "v1", "reviews.default.svc.cluster.local", 9080},
		{"inbound|8080||", "inbound", "", "", 8080},
		{"inbound-vip|8000|http|httpbin.default.svc.cluster.local", "inbound-vip", "http", "httpbin.default.svc.cluster.local", 8000},
		{"BlackHoleCluster", "", "", "BlackHoleCluster", 0},
		{"a|b|c|d", "", "", "a|b|c|d", 0}, // not a port: not Istio's naming
	} {
		dir, port, subset, fqdn := ParseClusterName(tc.name)
		if dir != tc.dir || port != tc.port || subset != tc.subset || fqdn != tc.fqdn {
			t.Errorf("%s: got %q %d %q %q", tc.name, dir, port, subset, fqdn)
		}
	}
}

func TestListenerTypeCountsFiltersLikeIstioctl(t *testing.T) {
	hcm := `{"name":"envoy.filters.network.http_connection_manager","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager","rds":{"route_config_name":"80"}}}`
	tcp := func(c string) string {
		return `{"name":"envoy.filters.network.tcp_proxy","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy","cluster":"` + c + `"}}`
	}
	for _, tc := range []struct{ chains, want string }{
		{`[{"filters":[` + hcm + `]}]`, "HTTP"},
		{`[{"filters":[` + tcp("x") + `]}]`, "TCP"},
		{`[{"filters":[` + hcm + `]},{"filters":[` + tcp("x") + `]}]`, "HTTP+TCP"},
		{`[{"filters":[` + hcm + `]},{"filters":[` + tcp("BlackHoleCluster") + `]}]`, "HTTP"},
		{`[{"filters":[{"name":"envoy.filters.network.redis_proxy"}]}]`, "UNKNOWN"},
	} {
		cfg := load(t, `[{"name":"l","address":{"socket_address":{"address":"0.0.0.0","port_value":80}},"filter_chains":`+tc.chains+`}]`)
		if got := cfg.Listeners()[0].Type(); got != tc.want {
			t.Errorf("%s: type %s, want %s", tc.chains, got, tc.want)
		}
	}
}

func TestListenerDetails(t *testing.T) {
	cfg := load(t, `[{"name":"virtualOutbound","address":{"socket_address":{"address":"0.0.0.0","port_value":15001}},
	  "additional_addresses":[{"address":{"socket_address":{"address":"::","port_value":15001}}}],
	  "use_original_dst":true,"bind_to_port":false,"traffic_direction":"OUTBOUND",
	  "filter_chains":[{"filter_chain_match":{"sni_domains":["a.example.com"],"destination_port":443,"prefix_ranges":[{"address_prefix":"10.0.0.0","prefix_len":8}]},
	    "transport_socket":{"name":"envoy.transport_sockets.tls","typed_config":{"@type":"type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
	      "require_client_certificate":true,"common_tls_context":{"alpn_protocols":["h2"],"tls_certificate_sds_secret_configs":[{"name":"default"}]}}},
	    "filters":[{"name":"envoy.filters.network.tcp_proxy","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
	      "weighted_clusters":{"clusters":[{"name":"a","weight":3},{"name":"b","weight":1}]}}}]}],
	  "default_filter_chain":{"filters":[{"name":"envoy.filters.network.tcp_proxy","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy","cluster":"PassthroughCluster"}}]}},
	 {"name":"uds","address":{"pipe":{"path":"/var/run/x.sock"}}},
	 {"name":"internal","address":{"envoy_internal_address":{"server_listener_name":"main_internal"}}}]`)
	ls := cfg.Listeners()
	l := ls[0]
	if !l.UseOriginalDst || l.BindToPort || l.Direction != "OUTBOUND" || len(l.AdditionalAddresses) != 1 || l.AdditionalAddresses[0] != "[::]:15001" {
		t.Errorf("listener = %+v", l)
	}
	fc := l.FilterChains[0]
	if got := fc.Match.GetServerNames(); len(got) != 1 || got[0] != "a.example.com" {
		t.Errorf("v2 sni_domains not read as server names: %v", got)
	}
	if fc.Match.GetDestinationPort().GetValue() != 443 || fc.Match.GetPrefixRanges()[0].GetPrefixLen().GetValue() != 8 {
		t.Errorf("match = %v", fc.Match)
	}
	if fc.TLS == nil || !fc.TLS.RequireClientCert || fc.TLS.ALPN[0] != "h2" || fc.TLS.Certificates[0] != "default" {
		t.Errorf("tls = %+v", fc.TLS)
	}
	if fc.Destination.Kind != DestWeighted || fc.Destination.Weighted[1].Weight != 1 {
		t.Errorf("destination = %+v", fc.Destination)
	}
	if d := l.FilterChains[1]; !d.Default || d.Destination.Cluster != PassthroughCluster {
		t.Errorf("default chain = %+v", d)
	}
	if ls[1].Address != "unix:///var/run/x.sock" || ls[2].Address != "envoy://main_internal" {
		t.Errorf("addresses: %q %q", ls[1].Address, ls[2].Address)
	}
}

func TestClusterTLSModesAndDefaults(t *testing.T) {
	upstream := func(certs string) string {
		return `{"name":"envoy.transport_sockets.tls","typed_config":{"@type":"type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext","sni":"s.example","common_tls_context":{` + certs + `}}}`
	}
	cfg := load(t, `[
	 {"name":"plain","connect_timeout":"1s"},
	 {"name":"tls","type":"STRICT_DNS","lb_policy":"LEAST_REQUEST","transport_socket":`+upstream(``)+`},
	 {"name":"mtls","transport_socket":`+upstream(`"tls_certificate_sds_secret_configs":[{"name":"file-cert"}]`)+`},
	 {"name":"istio","transport_socket":`+upstream(`"tls_certificate_sds_secret_configs":[{"name":"default"}]`)+`},
	 {"name":"outbound|80||a.b.svc.cluster.local","type":"EDS","transport_socket_matches":[{"name":"tlsMode-istio","match":{"tlsMode":"istio"},"transport_socket":`+upstream(`"tls_certificate_sds_secret_configs":[{"name":"default"}]`)+`},
	   {"name":"tlsMode-disabled","match":{},"transport_socket":{"name":"envoy.transport_sockets.raw_buffer","typed_config":{"@type":"type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer"}}}],
	   "metadata":{"filter_metadata":{"istio":{"config":"/apis/networking.istio.io/v1alpha3/namespaces/bookinfo/destination-rule/reviews"}}},
	   "circuit_breakers":{"thresholds":[{"max_connections":4294967295,"max_requests":100}]}}]`)
	want := map[string][3]string{ // TLS, LB, type
		"plain":                              {"plaintext", "ROUND_ROBIN", "STATIC"},
		"tls":                                {"TLS", "LEAST_REQUEST", "STRICT_DNS"},
		"mtls":                               {"mTLS", "ROUND_ROBIN", "STATIC"},
		"istio":                              {"ISTIO_MUTUAL", "ROUND_ROBIN", "STATIC"},
		"outbound|80||a.b.svc.cluster.local": {"ISTIO_MUTUAL (auto)", "ROUND_ROBIN", "EDS"},
	}
	for _, c := range cfg.Clusters() {
		w := want[c.Name]
		if c.TLS != w[0] || c.LBPolicy != w[1] || c.Type != w[2] {
			t.Errorf("%s: tls %q lb %q type %q, want %v", c.Name, c.TLS, c.LBPolicy, c.Type, w)
		}
		if c.Name == "outbound|80||a.b.svc.cluster.local" {
			if c.DestinationRule != "reviews.bookinfo" || c.CircuitBreakers != "conn=max,req=100" || c.SNI != "s.example" {
				t.Errorf("istio cluster: dr %q cb %q sni %q", c.DestinationRule, c.CircuitBreakers, c.SNI)
			}
		}
	}
}

func TestRouteActionsAndLegacyMatches(t *testing.T) {
	cfg := load(t, `[{"name":"80","virtual_hosts":[{"name":"vh","domains":["*"],"routes":[
	  {"match":{"regex":"/api/.*","headers":[{"name":"x","regex_match":"a+"}]},"route":{"cluster":"c","prefix_rewrite":"/v2"}},
	  {"match":{"prefix":"/w"},"route":{"weighted_clusters":{"clusters":[{"name":"a","weight":90},{"name":"b","weight":10}]}},
	   "metadata":{"filter_metadata":{"istio":{"config":"/apis/networking.istio.io/v1alpha3/namespaces/default/virtual-service/reviews"}}}},
	  {"match":{"prefix":"/r"},"redirect":{"https_redirect":true,"response_code":"PERMANENT_REDIRECT"}},
	  {"match":{"path":"/d"},"direct_response":{"status":503}},
	  {"match":{"prefix":"/h"},"route":{"cluster_header":"x-cluster"}}]}]}]`)
	rs := cfg.RouteConfigs()[0].VirtualHosts[0].Routes
	if rs[0].Match.GetSafeRegex().GetRegex() != "/api/.*" || rs[0].Match.GetHeaders()[0].GetStringMatch().GetSafeRegex().GetRegex() != "a+" {
		t.Errorf("v2 regex not carried into v3: %v", rs[0].Match)
	}
	if rs[0].Action.Kind != ActCluster || rs[0].Action.PrefixRewrite != "/v2" {
		t.Errorf("route 0 action %+v", rs[0].Action)
	}
	if a := rs[1].Action; a.Kind != ActWeighted || a.TotalWeight != 100 || rs[1].VirtualService != "reviews.default" {
		t.Errorf("route 1 %+v vs %q", a, rs[1].VirtualService)
	}
	if a := rs[2].Action; a.Kind != ActRedirect || a.Redirect.Scheme != "https" || a.Redirect.Code != "PERMANENT_REDIRECT" {
		t.Errorf("route 2 %+v", a)
	}
	if a := rs[3].Action; a.Kind != ActDirectResponse || a.Status != 503 {
		t.Errorf("route 3 %+v", a)
	}
	if a := rs[4].Action; a.Kind != ActClusterHeader || a.ClusterHeader != "x-cluster" {
		t.Errorf("route 4 %+v", a)
	}
}

func TestEndpointHealthFromClustersAdmin(t *testing.T) {
	cfg := load(t, `{"cluster_statuses":[{"name":"c","host_statuses":[
	  {"address":{"socket_address":{"address":"10.0.0.1","port_value":80}},"health_status":{"eds_health_status":"HEALTHY"},"weight":2,"locality":{"region":"r","zone":"z"}},
	  {"address":{"socket_address":{"address":"10.0.0.2","port_value":80}},"health_status":{"eds_health_status":"HEALTHY","failed_active_health_check":true}},
	  {"address":{"socket_address":{"address":"10.0.0.3","port_value":80}},"health_status":{"eds_health_status":"HEALTHY","failed_outlier_check":true}}]}]}`)
	es := cfg.Endpoints()
	got := [][3]string{}
	for _, e := range es {
		got = append(got, [3]string{e.Address, e.Health, e.Outlier})
	}
	want := [][3]string{{"10.0.0.1:80", "HEALTHY", "OK"}, {"10.0.0.2:80", "UNHEALTHY", "OK"}, {"10.0.0.3:80", "HEALTHY", "FAILED"}}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("got %v, want %v", got, want)
	}
	if es[0].Weight != 2 || es[0].Locality != "r/z" {
		t.Errorf("weight %d locality %q", es[0].Weight, es[0].Locality)
	}
}

func TestOpaqueCountsOnlyTypesOutsideEnvoysAPI(t *testing.T) {
	cfg := load(t, `[{"name":"l","filter_chains":[{"filters":[
	  {"name":"istio.metadata_exchange","typed_config":{"@type":"type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange"}},
	  {"name":"istio.stats","typed_config":{"@type":"type.googleapis.com/udpa.type.v1.TypedStruct","type_url":"type.googleapis.com/stats.PluginConfig"}},
	  {"name":"envoy.filters.network.rbac","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC"}},
	  {"name":"envoy.filters.network.tcp_proxy","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy","cluster":"c"}}]}]}]`)
	_ = cfg.Listeners()
	if got, want := cfg.Opaque.Summary(), "2 typed configs of 2 types outside Envoy's API kept opaque: envoy.tcp.metadataexchange.config.MetadataExchange (1), stats.PluginConfig (1)"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestClusterFilterBySubsetAndPort(t *testing.T) {
	cfg := load(t, `[{"name":"outbound|9080|v1|reviews.default.svc.cluster.local","type":"EDS"},
	  {"name":"outbound|9080|v2|reviews.default.svc.cluster.local","type":"EDS"},
	  {"name":"outbound|80||reviews.default.svc.cluster.local","type":"EDS"}]`)
	var got []string
	for _, c := range cfg.Clusters() {
		if (ClusterFilter{FQDN: "reviews.default.svc.cluster.local", Port: 9080, Subset: "v2"}).Match(c) {
			got = append(got, c.Name)
		}
	}
	if len(got) != 1 || got[0] != "outbound|9080|v2|reviews.default.svc.cluster.local" {
		t.Errorf("matched %v", got)
	}
}

// IPv6 endpoints print as Envoy's admin prints them, "[fd00::1]:8080" (an
// unbracketed "fd00::1:8080" cannot be split back), and --address/--port
// select them by the bare address.
func TestIPv6EndpointsAreBracketedAndFilterable(t *testing.T) {
	cfg := load(t, `{"cluster_statuses":[{"name":"c","host_statuses":[
	  {"address":{"socket_address":{"address":"fd00::1","port_value":8080}},"health_status":{"eds_health_status":"HEALTHY"}},
	  {"address":{"socket_address":{"address":"fd00::1:8080","port_value":0}},"health_status":{"eds_health_status":"HEALTHY"}},
	  {"address":{"socket_address":{"address":"10.0.0.1","port_value":8080}},"health_status":{"eds_health_status":"HEALTHY"}},
	  {"address":{"pipe":{"path":"/var/run/app.sock"}},"health_status":{"eds_health_status":"HEALTHY"}}]}]}`)
	es := cfg.Endpoints()
	var got []string
	for _, e := range es {
		got = append(got, e.Address)
	}
	want := []string{"[fd00::1]:8080", "fd00::1:8080", "10.0.0.1:8080", "unix:///var/run/app.sock"}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("endpoint %d: got %q, want %q", i, got[i], want[i])
		}
	}
	for _, tc := range []struct {
		f    EndpointFilter
		want []string
	}{
		{EndpointFilter{Address: "fd00::1"}, []string{"[fd00::1]:8080"}},
		{EndpointFilter{Address: "fd00::1", Port: 8080}, []string{"[fd00::1]:8080"}},
		{EndpointFilter{Address: "fd00::1:8080"}, []string{"fd00::1:8080"}},
		{EndpointFilter{Port: 8080}, []string{"[fd00::1]:8080", "10.0.0.1:8080"}},
	} {
		var m []string
		for _, e := range es {
			if tc.f.Match(e) {
				m = append(m, e.Address)
			}
		}
		if strings.Join(m, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%+v matched %q, want %q", tc.f, m, tc.want)
		}
	}
}
