package cmd

import (
	"encoding/json"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// Istio 1.0's dumps (Envoy 1.7: configs keyed by kind, v2alpha), read
// with istioctl 1.0's own expected outputs: see testdata/istio-1.0.
const istio10 = "testdata/istio-1.0/"

// namesUnder collects the "name" of every object held under key (cluster,
// listener, route_config, or its camelCase as 1.0 dumps write it)
// anywhere in a document.
func namesUnder(v any, key string, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if m, ok := c.(map[string]any); ok && (k == key || k == snakeToCamel(key)) {
				if n, ok := m["name"].(string); ok {
					out[n] = true
				}
			}
			namesUnder(c, key, out)
		}
	case []any:
		for _, c := range x {
			namesUnder(c, key, out)
		}
	}
}

func TestIstio10DumpMatchesIstioctl10(t *testing.T) {
	for _, tc := range []struct{ command, golden, key string }{
		{"clusters", "clusterdump.json", "cluster"},
		{"listeners", "listenerdump.json", "listener"},
		{"routes", "routedump.json", "route_config"},
	} {
		t.Run(tc.command, func(t *testing.T) {
			out, _, err := run(t, "", tc.command, "-f", istio10+"configdump.json", "-o", "json")
			if err != nil {
				t.Fatal(err)
			}
			var doc any
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatal(err)
			}
			ours := map[string]bool{}
			namesUnder(doc, tc.key, ours)
			data, err := os.ReadFile(istio10 + tc.golden)
			if err != nil {
				t.Fatal(err)
			}
			var theirs []map[string]any
			if err := json.Unmarshal(data, &theirs); err != nil {
				t.Fatal(err)
			}
			var want, got []string
			for _, r := range theirs {
				want = append(want, r["name"].(string))
			}
			for n := range ours {
				got = append(got, n)
			}
			sort.Strings(want)
			sort.Strings(got)
			if len(want) == 0 || !reflect.DeepEqual(got, want) {
				t.Errorf("%s: %v, istioctl 1.0 shows %v", tc.command, got, want)
			}
		})
	}
	for _, c := range []string{"endpoints", "secrets", "bootstrap", "config"} {
		if _, errOut, err := run(t, "", c, "-f", istio10+"configdump.json"); err != nil {
			t.Errorf("%s: %v %s", c, err, errOut)
		}
	}
}

// istioctl 1.0 compared Pilot's view with Envoy's: in sync, every kind
// matches; out of sync, its goldens show one cluster (a circuit breaker
// threshold gone), one listener (envoy.router gone from the HTTP filters)
// and one route (two domains gone) differ. diff finds those, naming the
// fields.
func TestIstio10DiffMatchesIstioctl10Compare(t *testing.T) {
	out, _, err := run(t, "", "diff", "-f", istio10+"pilotconfigdump.json", "-f", istio10+"envoyconfigdump.json")
	if err != nil || strings.Contains(out, "Don't Match") {
		t.Errorf("in sync: %v\n%s", err, out)
	}
	out, _, err = run(t, "", "diff", "-f", istio10+"pilotconfigdump.json", "-f", istio10+"diffenvoyconfigdump.json", "-o", "json")
	if ExitCode(err) != ExitNegative {
		t.Fatalf("out of sync: exit %d (%v)", ExitCode(err), err)
	}
	var res struct {
		Changes []struct {
			Kind, Name, Change string
			Paths              []string
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range res.Changes {
		got[c.Kind+" "+c.Name] = c.Change + " " + strings.Join(c.Paths, ",")
	}
	for golden, want := range map[string]struct{ resource, field string }{
		"clusterdiff.txt":  {"clusters outbound|15004||istio-policy.istio-system.svc.cluster.local", "max_requests"},
		"listenerdiff.txt": {"listeners 0.0.0.0_8080", "http_filters"},
		"routediff.txt":    {"routes 15004", "domains"},
	} {
		g, err := os.ReadFile(istio10 + golden)
		if err != nil || !strings.Contains(string(g), "@@") {
			t.Fatalf("%s: istioctl's golden shows no change (%v)", golden, err)
		}
		if c := got[want.resource]; !strings.HasPrefix(c, "changed ") || !strings.Contains(c, want.field) {
			t.Errorf("%s: %s: %q, want a change naming %s", golden, want.resource, c, want.field)
		}
	}
	if len(res.Changes) != 3 {
		t.Errorf("%d changes, istioctl shows 3: %+v", len(res.Changes), res.Changes)
	}
}

func snakeToCamel(s string) string {
	parts := strings.Split(s, "_")
	for i := 1; i < len(parts); i++ {
		parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
	}
	return strings.Join(parts, "")
}
