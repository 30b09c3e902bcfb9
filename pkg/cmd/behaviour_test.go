package cmd

import (
	"encoding/json"
	"os"
	"slices"

	"path/filepath"
	"sigs.k8s.io/yaml"
	"sort"
	"strings"
	"testing"
)

func TestBadInputGetsOneLineAndStatus2(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	navigator, _ := os.ReadFile(fixture("navigator/config_dump/envoy_config_dump.json"))
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing file", []string{"listeners", "-f", filepath.Join(dir, "nope.json")}, "no such file"},
		{"empty file", []string{"listeners", "-f", write("empty.json", "")}, "empty"},
		{"truncated dump", []string{"clusters", "-f", write("trunc.json", string(navigator[:len(navigator)/2]))}, "truncated"},
		{"random JSON", []string{"routes", "-f", write("random.json", `{"kind": "Pod"}`)}, "not an Envoy config dump"},
		{"binary", []string{"listeners", "-f", write("bin.dat", "\x7fELF\x00\x00\x01")}, "binary"},
		{"a directory", []string{"listeners", "-f", dir}, "directory"},
		{"pod naming no proxy", []string{"listeners", "-f", "../../examples/istio-sidecar.json", "--pod", "nope"}, "names none"},
		{"bad status", []string{"endpoints", "-f", "../../examples/istio-clusters.json", "--status", "bogus"}, "HEALTHY, UNHEALTHY"},
		{"bad direction", []string{"clusters", "-f", "../../examples/istio-sidecar.json", "--direction", "sideways"}, "inbound, outbound"},
		{"bad address", []string{"endpoints", "-f", "../../examples/istio-clusters.json", "--address", "notanip"}, "not an IP address"},
		{"bad listener address", []string{"listeners", "-f", "../../examples/istio-sidecar.json", "--address", "notanip"}, "not an IP address"},
		{"bad port", []string{"listeners", "-f", "../../examples/istio-sidecar.json", "--port", "99999"}, "not a port number"},
		{"watch a file", []string{"listeners", "-f", "../../examples/istio-sidecar.json", "-w"}, "a file does not change"},
		{"unknown command", []string{"logz"}, "did you mean logs"},
		{"bad output", []string{"listeners", "-f", fixture("navigator/config_dump/envoy_config_dump.json"), "-o", "xml"}, "unknown output format"},
		{"bad flag", []string{"listeners", "--no-such-flag"}, "unknown flag"},
		{"pod and file", []string{"listeners", "mypod", "-f", "x.json"}, "not both"},
		{"nothing to read", []string{"listeners"}, "name a pod"},
		{"several proxies", []string{"listeners", "-f", fixture("envoy-gateway/egctl-config/out/out.all.json"), "--pod", "other"}, "has no proxy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := run(t, "", tc.args...)
			if err == nil {
				t.Fatalf("succeeded:\n%s", out)
			}
			if code := ExitCode(err); code != ExitUsage {
				t.Errorf("exit status %d, want %d (%v)", code, ExitUsage, err)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line mentioning %q", msg, tc.want)
			}
		})
	}
}

func TestNeverPrintsTokensOrKeys(t *testing.T) {
	// Kuma puts its dataplane token (a JWT) in the bootstrap's gRPC initial metadata.
	const token = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEiLCJ0eXAiOiJKV1QifQ"
	kuma := fixture("kuma/admin-sanitize/full_config.json")
	if !strings.Contains(readFixture(t, "kuma/admin-sanitize/full_config.json"), token) {
		t.Fatal("the fixture no longer holds the token this test looks for")
	}
	// A dump made outside Envoy's admin, with a private key inline.
	dir := t.TempDir()
	keyDump := filepath.Join(dir, "key.json")
	pemKey := "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oqbyuw8ysL1hoAoGCCqGSM49\n-----END EC PRIVATE KEY-----\n"
	dump := `{"configs":[{"@type":"type.googleapis.com/envoy.admin.v3.SecretsConfigDump","static_secrets":[{"name":"k","secret":{"name":"k",
	  "tls_certificate":{"certificate_chain":{"inline_string":"x"},"private_key":{"inline_string":` + jsonString(pemKey) + `}}}},
	  {"name":"g","secret":{"name":"g","generic_secret":{"secret":{"inline_bytes":"c2VjcmV0LXZhbHVl"}}}}]}]}`
	if err := os.WriteFile(keyDump, []byte(dump), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args   []string
		secret string
	}{
		{[]string{"bootstrap", "-f", kuma, "-o", "json"}, token},
		{[]string{"bootstrap", "-f", kuma, "-o", "yaml"}, token},
		{[]string{"config", "-f", kuma, "-o", "yaml"}, token},
		{[]string{"secrets", "-f", keyDump, "-o", "json"}, "MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oqbyuw8ysL1hoAoGCCqGSM49"},
		{[]string{"secrets", "-f", keyDump, "-o", "yaml"}, "c2VjcmV0LXZhbHVl"},
		{[]string{"secrets", "-f", keyDump, "-o", "wide"}, "PRIVATE KEY"},
	} {
		out, _, err := run(t, "", tc.args...)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if strings.Contains(out, tc.secret) {
			t.Errorf("%v printed secret material %q", tc.args, tc.secret)
		}
		if tc.args[len(tc.args)-1] != "wide" && !strings.Contains(out, "[redacted]") {
			t.Errorf("%v: no [redacted] placeholder where the secret was", tc.args)
		}
	}
}

func sortedLines(s string) string {
	lines := strings.Split(s, "\n")
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func jsonString(s string) string {
	return `"` + strings.NewReplacer("\n", `\n`, `"`, `\"`).Replace(s) + `"`
}

// What -o json and -o yaml print must load again and show the same thing.
func TestStructuredOutputRoundTrips(t *testing.T) {
	for _, rel := range []string{
		"navigator/config_dump/envoy_config_dump.json",
		"istio/config_dump/legacy-v2/productpage-v1-7bbd79f8fd-k6j79.json",
		"envoy-gateway/egctl-translate/from-gateway-api-to-xds.all.yaml",
		"istio/istioctl-golden/secret/istio/config_dump.json",
		"istio/istioctl-golden-1.6/clusters/clusters.json",
	} {
		for _, cmd := range []string{"config", "listeners", "clusters", "routes", "secrets", "endpoints"} {
			want, _, err := run(t, "", cmd, "-f", fixture(rel), "-o", "wide")
			if err != nil {
				continue // the dump has no such section
			}
			for _, format := range []string{"json", "yaml"} {
				doc, _, err := run(t, "", cmd, "-f", fixture(rel), "-o", format)
				if err != nil {
					t.Fatalf("%s %s -o %s: %v", rel, cmd, format, err)
				}
				got, _, err := run(t, doc, cmd, "-f", "-", "-o", "wide")
				if err != nil {
					t.Fatalf("%s %s: reading back -o %s: %v\n%s", rel, cmd, format, err, doc[:min(len(doc), 2000)])
				}
				// YAML maps come back with sorted keys, so static and dynamic lists
				// may swap places: compare the rows, not their order.
				if sortedLines(got) != sortedLines(want) {
					t.Errorf("%s %s: -o %s read back differs\nwant:\n%s\ngot:\n%s", rel, cmd, format, want, got)
				}
			}
		}
	}
}

func TestListenersShowWhatIstioctlHides(t *testing.T) {
	dump := `{"configs":[{"@type":"type.googleapis.com/envoy.admin.v3.ListenersConfigDump","dynamic_listeners":[
	 {"name":"0.0.0.0_9080","active_state":{"version_info":"v1","listener":{"name":"0.0.0.0_9080",
	   "address":{"socket_address":{"address":"0.0.0.0","port_value":9080}},
	   "filter_chains":[{"filter_chain_match":{"source_prefix_ranges":[{"address_prefix":"10.0.0.0","prefix_len":8}],"source_type":"EXTERNAL"},
	     "filters":[{"name":"envoy.filters.network.tcp_proxy","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
	       "weighted_clusters":{"clusters":[{"name":"a","weight":90},{"name":"b","weight":10}]}}}]}]}},
	  "error_state":{"failed_configuration":{"name":"0.0.0.0_9080"},"last_update_attempt":"2026-01-01T00:00:00Z",
	    "details":"error adding listener '0.0.0.0:9080': multiple filter chains with the same matching rules are defined","version_info":"v2"}}]}]}`
	out, _, err := run(t, dump, "listeners", "-f", "-")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SrcType: EXTERNAL; Src: 10.0.0.0/8", "Clusters: a 90%, b 10%", "ERROR",
		"update rejected (version v2) at 2026-01-01T00:00:00Z: error adding listener '0.0.0.0:9080': multiple filter chains"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestRoutesShowWholeMatchesAndActions(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"envoy/router_check/Redirect.yaml", "redirect "},
		{"envoy/router_check/DirectResponse.yaml", "direct response "},
		{"envoy/router_check/ContentType.yaml", "content-type="},
		{"envoy/router_check/Weighted.yaml", "%, "},
		{"envoy/router_check/ClusterHeader.yaml", "cluster from header "},
		{"envoy-gateway/xds-translator-routes/http-route-regex.routes.yaml", "regex "},
	} {
		out, _, err := run(t, "", "routes", "-f", fixture(tc.file), "-o", "wide")
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if !strings.Contains(out, tc.want) {
			t.Errorf("%s: routes output lacks %q:\n%s", tc.file, tc.want, out)
		}
	}
}

func TestNoHeadersForScripts(t *testing.T) {
	with, _, err := run(t, "", "clusters", "-f", fixture("navigator/config_dump/envoy_config_dump.json"))
	if err != nil {
		t.Fatal(err)
	}
	without, _, err := run(t, "", "clusters", "-f", fixture("navigator/config_dump/envoy_config_dump.json"), "--no-headers")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(with, "\n", 2)
	if !strings.HasPrefix(lines[0], "SERVICE FQDN") || strings.Contains(without, "SERVICE FQDN") {
		t.Fatalf("header handling wrong:\n%s\n---\n%s", with, without)
	}
	if strings.Count(with, "\n")-1 != strings.Count(without, "\n") {
		t.Errorf("--no-headers changed more than the header: %d vs %d lines", strings.Count(with, "\n"), strings.Count(without, "\n"))
	}
}

func TestFiltersSelectWhatTheySay(t *testing.T) {
	dump := fixture("navigator/config_dump/envoy_config_dump.json")
	for _, tc := range []struct {
		args      []string
		col, want string // every row's col must be want
		min       int    // and there must be at least min rows
	}{
		{[]string{"clusters", "--direction", "inbound"}, "DIRECTION", "inbound", 1},
		{[]string{"routes", "--name", "80"}, "NAME", "80", 2},
		{[]string{"listeners", "--name", "virtualInbound", "-o", "wide"}, "NAME", "virtualInbound", 5},
		{[]string{"listeners", "--port", "15006"}, "PORT", "15006", 5},
		{[]string{"endpoints", "--status", "unhealthy", "-f", "../../examples/istio-clusters.json"}, "STATUS", "UNHEALTHY", 1},
		{[]string{"endpoints", "--address", "172.17.0.4", "-f", "../../examples/istio-clusters.json"}, "ENDPOINT", "172.17.0.4:443", 1},
		{[]string{"endpoints", "--cluster", "outbound|443||istio-galley.istio-system.svc.cluster.local", "-f", "../../examples/istio-clusters.json"},
			"CLUSTER", "outbound|443||istio-galley.istio-system.svc.cluster.local", 1},
	} {
		if !slices.Contains(tc.args, "-f") {
			tc.args = append(tc.args, "-f", dump)
		}
		out, _, err := run(t, "", tc.args...)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		rows := parseTable(out).rows
		if len(rows) < tc.min {
			t.Errorf("%v: %d rows, want at least %d", tc.args, len(rows), tc.min)
		}
		for _, r := range rows {
			if r[tc.col] != tc.want {
				t.Errorf("%v let through a row with %s %q", tc.args, tc.col, r[tc.col])
			}
		}
	}

	// --inline adds the route configurations listeners carry (Istio's 15021 health route).
	plain, _, _ := run(t, "", "routes", "-f", dump)
	inline, _, err := run(t, "", "routes", "-f", dump, "--inline")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain, "(inline in listener") || !strings.Contains(inline, "(inline in listener") || !strings.Contains(inline, "/healthz/ready*") {
		t.Errorf("--inline did not add the inline route configurations:\n%s", inline)
	}
}

// TestEmptyAnswersAreNoResourcesFound: a kind the input does not hold, or
// filters that match nothing, is kubectl's answer: "No resources found" on
// stderr naming the kind (and what the input holds), exit 0, nothing on
// stdout for a table and an empty list for -o json|yaml.
func TestEmptyAnswersAreNoResourcesFound(t *testing.T) {
	gateway := fixture("istio/istioctl-golden/routes/empty-gateway/configdump.json")
	sidecar := "../../examples/istio-sidecar.json"
	for _, tc := range []struct {
		args       []string
		kind, also string
	}{
		{[]string{"endpoints", "-f", gateway}, "endpoints", "it holds"},
		{[]string{"ecds", "-f", sidecar}, "ECDS filter configs", "it holds bootstrap, listeners, routes, clusters, secrets"},
		{[]string{"endpoints", "-f", "../../examples/istio-clusters.json", "--status", "draining"}, "endpoints", "match the filters"},
		{[]string{"listeners", "-f", sidecar, "--port", "1"}, "listeners", "match the filters"},
		{[]string{"routes", "-f", sidecar, "--name", "nope"}, "route configurations", "match the filters"},
		{[]string{"clusters", "-f", sidecar, "--subset", "nope"}, "clusters", "match the filters"},
		{[]string{"secrets", "-f", "../../examples/istio-ecds.json"}, "secrets", "it holds"},
		{[]string{"bootstrap", "-f", "../../examples/istio-clusters.json"}, "bootstrap", "it holds endpoint health"},
	} {
		name := strings.Join(tc.args, " ")
		out, errOut, err := run(t, "", tc.args...)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if out != "" {
			t.Errorf("%s: printed a table:\n%s", name, out)
		}
		if !strings.Contains(errOut, "No resources found") || !strings.Contains(errOut, tc.kind) || !strings.Contains(errOut, tc.also) {
			t.Errorf("%s: stderr %q, want No resources found naming %q and %q", name, errOut, tc.kind, tc.also)
		}
		for _, format := range []string{"json", "yaml"} {
			out, _, err := run(t, "", append(tc.args, "-o", format)...)
			if err != nil {
				t.Errorf("%s -o %s: %v", name, format, err)
				continue
			}
			var doc map[string]any
			if err := yaml.Unmarshal([]byte(out), &doc); err != nil {
				t.Errorf("%s -o %s: %v\n%s", name, format, err, out)
				continue
			}
			list, ok := doc["configs"].([]any)
			if _, statuses := doc["cluster_statuses"]; statuses {
				list, ok = doc["cluster_statuses"].([]any)
			}
			if !ok || len(list) != 0 {
				t.Errorf("%s -o %s: want an empty list, got:\n%s", name, format, out)
			}
		}
	}
}

// TestEndpointsDumpWritesARejectedAssignmentOnce: an assignment whose
// update was rejected is two entries (the one in use, the rejected one)
// sharing their bytes; endpoints -o json|yaml, without filters and with,
// writes it once, as the dump has it.
func TestEndpointsDumpWritesARejectedAssignmentOnce(t *testing.T) {
	const cla = `"@type": "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"`
	dump := `{"configs": [{"@type": "type.googleapis.com/envoy.admin.v3.EndpointsConfigDump", "dynamic_endpoint_configs": [
	 {"version_info": "1", "endpoint_config": {` + cla + `, "cluster_name": "a", "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {"socket_address": {"address": "10.0.0.1", "port_value": 80}}}}]}]},
	  "error_state": {"failed_configuration": {` + cla + `, "cluster_name": "a", "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {"socket_address": {"address": "10.0.0.3", "port_value": 80}}}}]}]},
	   "details": "rejected", "version_info": "2"}},
	 {"version_info": "1", "endpoint_config": {` + cla + `, "cluster_name": "b", "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {"socket_address": {"address": "10.0.0.2", "port_value": 80}}}}]}]}}
	]}]}`
	path := filepath.Join(t.TempDir(), "rejected.json")
	if err := os.WriteFile(path, []byte(dump), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"-o", "json"}, {"-o", "yaml"}, {"-o", "json", "--port", "80"}, {"-o", "yaml", "--port", "80"}} {
		out, errOut, err := run(t, "", append([]string{"endpoints", "-f", path}, args...)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errOut)
		}
		var got struct {
			Configs []struct {
				Dynamic []json.RawMessage `json:"dynamic_endpoint_configs"`
			} `json:"configs"`
		}
		if err := yaml.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		if len(got.Configs) != 1 || len(got.Configs[0].Dynamic) != 2 || !strings.Contains(string(got.Configs[0].Dynamic[0]), "rejected") {
			t.Errorf("%v: want the two assignments, the first with its rejected update, once each:\n%s", args, out)
		}
	}
}
