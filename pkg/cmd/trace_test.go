package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sidecar = "../../examples/istio-sidecar.json"

// TestTraceOnRealDumps follows requests through the real sidecar and
// gateway dumps shipped in examples/.
func TestTraceOnRealDumps(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"-f", sidecar, "http://backend.demo.svc.cluster.local:8080/api", "--address", "10.96.173.1"}, 0, []string{
			"listener         10.96.173.1_8080", "virtualOutbound (port 15001, use_original_dst) hands the connection to the listener for the original destination 10.96.173.1:8080 exactly",
			"route config     backend.demo.svc.cluster.local:8080", "route            default", "cluster          outbound|8080||backend.demo.svc.cluster.local",
			"TLS ISTIO_MUTUAL (auto)", "=> result        forwarded"}},
		// A port no Service has: virtualOutbound's own chains pass it through.
		{[]string{"-f", sidecar, "tcp://203.0.113.9:5555"}, 0, []string{"listener         virtualOutbound", "PassthroughCluster", "=> result        passthrough"}},
		// kube-dns over TCP on its VIP.
		{[]string{"-f", sidecar, "tcp://10.96.0.10:53"}, 0, []string{"outbound|53||kube-dns.kube-system.svc.cluster.local"}},
		// Inbound, plaintext, to the app's port.
		{[]string{"-f", sidecar, "--mode", "inbound", "--address", "10.244.1.4", "--port", "8080", "--protocol", "http"}, 0, []string{"listener         virtualInbound"}},
		// The Envoy Gateway proxy: its listener on 10080, the HTTPRoute's route.
		{[]string{"-f", "../../examples/envoy-gateway.json", "http://www.example.com/", "--port", "10080", "--mode", "gateway"}, 0, []string{
			"listener         default-eg-http", "virtual host     default-eg-http", "cluster          default-backend-rule-0-match-0-www.example.com", "=> result        forwarded"}},
		{[]string{"-f", "../../examples/envoy-gateway.json", "http://shop.example.org/", "--port", "10080", "--mode", "gateway"}, 1, []string{
			"=> result        no_virtual_host (404), response flag NR", `no virtual host of default-eg-http has a domain matching Host "shop.example.org"`}},
		{[]string{"-f", "../../examples/envoy-gateway.json", "http://www.example.com/", "--port", "443", "--mode", "gateway"}, 1, []string{
			"=> result        no_listener\n", "nothing listens on port 443 (listeners are on 10080)"}},
	} {
		out, errOut, err := run(t, "", append([]string{"trace"}, tc.args...)...)
		if ExitCode(err) != tc.code {
			t.Errorf("%v: exit %d (%v), want %d\n%s%s", tc.args, ExitCode(err), err, tc.code, out, errOut)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", tc.args, w, out)
			}
		}
	}
}

func TestTraceJSONSchema(t *testing.T) {
	out, _, err := run(t, "", "trace", "-f", sidecar, "http://backend.demo.svc.cluster.local:8080/api", "--address", "10.96.173.1", "-H", "end-user: jason", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Request struct {
			URL, Method, Address string
			Port                 uint32
			Headers              map[string]string
		} `json:"request"`
		Hops []map[string]json.RawMessage `json:"hops"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Request.Address != "10.96.173.1" || doc.Request.Port != 8080 || doc.Request.Headers["end-user"] != "jason" || len(doc.Hops) != 1 {
		t.Fatalf("request %+v, %d hops", doc.Request, len(doc.Hops))
	}
	// The field names DESIGN.md fixes: scripts and tests read them.
	for _, k := range []string{"proxy", "direction", "listener", "filter_chain", "route_config", "virtual_host", "route", "cluster", "endpoints", "result", "response_flag", "notes", "rejected"} {
		if _, ok := doc.Hops[0][k]; !ok {
			t.Errorf("hop lacks %q", k)
		}
	}
	if string(doc.Hops[0]["result"]) != `"forwarded"` || string(doc.Hops[0]["proxy"]) != `"frontend-694f65c7d-g7hz4.demo"` {
		t.Errorf("result %s proxy %s", doc.Hops[0]["result"], doc.Hops[0]["proxy"])
	}
}

func TestTraceDot(t *testing.T) {
	out, _, err := run(t, "", "trace", "-f", sidecar, "tcp://10.96.0.10:53", "-o", "dot")
	if err != nil || !strings.HasPrefix(out, "digraph trace {") || !strings.Contains(out, "forwarded") || !strings.HasSuffix(out, "}\n") {
		t.Errorf("dot: %v\n%s", err, out)
	}
}

func TestTraceBadUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"trace", "http://x/"}, "give --from TARGET"},
		{[]string{"trace", "-f", sidecar, "ftp://x/"}, `scheme "ftp"`},
		{[]string{"trace", "-f", sidecar, "http://x:99999/"}, "not a port number"},
		{[]string{"trace", "-f", sidecar, "tcp://x"}, "needs a port"},
		{[]string{"trace", "-f", sidecar, "http://x/", "-H", "nocolon"}, "write it as 'Name: value'"},
		{[]string{"trace", "-f", sidecar, "http://x/", "--mode", "sideways"}, "--mode must be"},
		{[]string{"trace", "-f", sidecar, "http://x/", "--address", "not-an-ip"}, "not an IP address"},
		{[]string{"trace", "-f", sidecar, "http://x/", "--alpn", "h2"}, "--alpn is offered in a TLS handshake"},
		{[]string{"trace", "-f", sidecar, "--port", "0"}, "give a URL with a port"},
		{[]string{"trace", "-f", sidecar, "http://x/", "-o", "wide"}, "unknown output format"},
		{[]string{"trace", "-f", sidecar, "--from", "pod/x", "http://x/"}, "not both"},
	} {
		_, _, err := run(t, "", tc.args...)
		if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v (exit %d), want status 2 and %q", tc.args, err, ExitCode(err), tc.want)
		}
	}
}

// TestTraceUnknownAndInference: an HTTP filter trace cannot evaluate makes
// the result unknown (exit 4, with what it depends on, in the tree and in
// -o json); without --address the destination is inferred or refused.
func TestTraceUnknownAndInference(t *testing.T) {
	dump := filepath.Join(t.TempDir(), "extauthz.json")
	if err := os.WriteFile(dump, []byte(`{"configs":[{"@type":"type.googleapis.com/envoy.admin.v3.ListenersConfigDump","static_listeners":[{"listener":{
		"name":"gw","address":{"socket_address":{"address":"0.0.0.0","port_value":80}},"filter_chains":[{"filters":[{
		"name":"envoy.filters.network.http_connection_manager","typed_config":{
		"@type":"type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
		"stat_prefix":"gw","route_config":{"name":"r","virtual_hosts":[{"name":"vh","domains":["*"],"routes":[{"match":{"prefix":"/"},"route":{"cluster":"b"}}]}]},
		"http_filters":[{"name":"envoy.filters.http.ext_authz","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz"}},
		{"name":"envoy.filters.http.router","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}]}}]}]}}]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, "", "trace", "-f", dump, "http://shop.example/cart", "--mode", "gateway")
	if ExitCode(err) != ExitUnknown || !strings.Contains(out, "=> result        unknown: depends on HTTP filter envoy.filters.http.ext_authz") {
		t.Errorf("ext_authz: exit %d, want %d:\n%s", ExitCode(err), ExitUnknown, out)
	}
	out, _, err = run(t, "", "trace", "-f", dump, "http://shop.example/cart", "--mode", "gateway", "-o", "json")
	var doc struct {
		Hops []struct {
			Result    string `json:"result"`
			DependsOn string `json:"unknown_depends_on"`
		} `json:"hops"`
	}
	if jerr := json.Unmarshal([]byte(out), &doc); jerr != nil || len(doc.Hops) != 1 || doc.Hops[0].Result != "unknown" || doc.Hops[0].DependsOn == "" || ExitCode(err) != ExitUnknown {
		t.Errorf("-o json: %v exit %d\n%s", jerr, ExitCode(err), out)
	}

	out, _, err = run(t, "", "trace", "-f", sidecar, "http://backend.demo.svc.cluster.local:8080/api")
	if err != nil || !strings.Contains(out, "to 10.96.173.1:8080") || !strings.Contains(out, "destination 10.96.173.1 inferred") || !strings.Contains(out, "=> result        forwarded") {
		t.Errorf("inferred destination: %v\n%s", err, out)
	}
	if _, _, err := run(t, "", "trace", "-f", sidecar, "http://example.com/"); ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "--address") {
		t.Errorf("a host no listener serves: %v, want exit 2 asking for --address", err)
	}
}
