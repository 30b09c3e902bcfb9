package cmd

import (
	"encoding/json"
	"os"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// The listings' kinds, with the key istioctl's -o json sections hold each
// resource under and the resource's name field.
var listingKinds = []struct {
	cmd, under, name string
}{
	{"listeners", "listener", "name"},
	{"clusters", "cluster", "name"},
	{"routes", "route_config", "name"},
	{"endpoints", "endpoint_config", "clusterName"},
	{"secrets", "secret", "name"},
}

// decodeAny reads JSON or YAML into generic values, independently of the
// loader under test.
func decodeAny(t *testing.T, data []byte) any {
	t.Helper()
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(j, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// printedNames collects the names of the resources a command's -o json
// printed: every object held under key (at any depth).
func printedNames(v any, under, name string, into map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if k == under {
				if r, ok := val.(map[string]any); ok {
					n, _ := r[name].(string)
					if n == "" {
						n, _ = r[snake(name)].(string)
					}
					into[n] = true
					continue
				}
			}
			printedNames(val, under, name, into)
		}
	case []any:
		for _, val := range x {
			printedNames(val, under, name, into)
		}
	}
}

func snake(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestControlPlaneOutputs: what kgateway's translator, Emissary's IR and
// Kuma's inspect API write (their own goldens, testdata READMEs) is read
// as one proxy's config: every listing prints exactly the resources the
// file holds by kind, as an independent YAML decoding of the file finds
// them, and says what it read past (kgateway's Statuses, Kuma's diff).
func TestControlPlaneOutputs(t *testing.T) {
	const dir = "../envoyadmin/testdata/"
	kinds := map[string]string{ // a producer's kind key (any case) or type URL -> listing
		"listeners": "listeners", "clusters": "clusters", "routes": "routes",
		"type.googleapis.com/envoy.config.listener.v3.Listener":                "listeners",
		"type.googleapis.com/envoy.config.cluster.v3.Cluster":                  "clusters",
		"type.googleapis.com/envoy.config.route.v3.RouteConfiguration":         "routes",
		"type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment":   "endpoints",
		"type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret": "secrets",
	}
	for _, tc := range []struct {
		file, readPast string
		min            int // resources the file must hold, so the comparison means something
	}{
		{"kgateway/tcp-routing-basic-proxy.yaml", "Statuses", 3},
		{"kgateway/https-routing-proxy.yaml", "", 3},
		{"kgateway/http-routing-proxy.yaml", "", 2},
		{"emissary/listeners-no_host_out.yaml", "", 1},
		{"emissary/listeners-host_missing_tls_out.yaml", "", 1},
		{"emissary/listeners-prefix_wildcard_and_hostname_with_port_out.yaml", "", 1},
		{"kuma/e2e-sidecar-outbound-route.demo-client.golden.json", "diff", 20},
		{"kuma/e2e-sidecar-meshtls-inbound-rules.test-server.golden.json", "diff", 20},
		{"kuma/e2e-zoneproxy-sni.zone-proxy-ingress.golden.json", "diff", 10},
		{"kuma/api-server-proxyconfig_shadow-false.golden.json", "", 2},
	} {
		data, err := os.ReadFile(dir + tc.file)
		if err != nil {
			t.Fatal(err)
		}
		top, _ := decodeAny(t, data).(map[string]any)
		if x, ok := top["xds"].(map[string]any); ok {
			top = x
		}
		want := map[string]map[string]bool{}
		total := 0
		for key, val := range top {
			cmd := kinds[strings.ToLower(key)]
			if cmd == "" {
				cmd = kinds[key]
			}
			if cmd == "" {
				continue
			}
			if want[cmd] == nil {
				want[cmd] = map[string]bool{}
			}
			add := func(r any) {
				m, _ := r.(map[string]any)
				n, _ := m["name"].(string)
				if cmd == "endpoints" {
					n, _ = m["clusterName"].(string)
				}
				want[cmd][n] = true
				total++
			}
			switch x := val.(type) {
			case []any:
				for _, r := range x {
					add(r)
				}
			case map[string]any:
				for _, r := range x {
					add(r)
				}
			}
		}
		if total < tc.min {
			t.Fatalf("%s: the decoding found %d resources, want at least %d", tc.file, total, tc.min)
		}
		for _, k := range listingKinds {
			out, errOut, err := run(t, "", k.cmd, "-f", dir+tc.file, "-o", "json")
			if err != nil {
				t.Errorf("%s -f %s: %v", k.cmd, tc.file, err)
				continue
			}
			got := map[string]bool{}
			printedNames(decodeAny(t, []byte(out)), k.under, k.name, got)
			if g, w := strings.Join(sortedKeys(got), " "), strings.Join(sortedKeys(want[k.cmd]), " "); g != w {
				t.Errorf("%s -f %s printed\n  %s\nthe file holds\n  %s", k.cmd, tc.file, g, w)
			}
			if tc.readPast != "" && !strings.Contains(errOut, "read past "+tc.readPast) {
				t.Errorf("%s -f %s: stderr does not say %s was read past: %q", k.cmd, tc.file, tc.readPast, errOut)
			}
			// And as a table: exit 0, rows or No resources found.
			tab, tabErr, err := run(t, "", k.cmd, "-f", dir+tc.file)
			if err != nil || (tab == "") != strings.Contains(tabErr, "No resources found") {
				t.Errorf("%s -f %s as a table: %v, stderr %q", k.cmd, tc.file, err, tabErr)
			}
		}
	}
}
