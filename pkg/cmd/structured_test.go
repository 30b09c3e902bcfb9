package cmd

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// -o yaml is the -o json document, for every command offering both.
func TestYAMLIsTheJSONDocument(t *testing.T) {
	k := func(name string) string { return fixture("kiali/istiod-debug/" + name) }
	for _, args := range [][]string{
		{"trace", "-f", sidecar, "http://backend.demo.svc.cluster.local:8080/api", "--address", "10.96.173.1", "-H", "end-user: jason"},
		{"status", "-f", k("registry-syncz.json")},
		{"pilot", "config", "-f", k("registry-configz.json")},
	} {
		asJSON, _, err := run(t, "", append(args, "-o", "json")...)
		if ExitCode(err) > 1 {
			t.Fatalf("%v -o json: %v", args, err)
		}
		asYAML, _, err := run(t, "", append(args, "-o", "yaml")...)
		if ExitCode(err) > 1 {
			t.Fatalf("%v -o yaml: %v", args, err)
		}
		var fromJSON, fromYAML any
		if err := json.Unmarshal([]byte(asJSON), &fromJSON); err != nil {
			t.Fatalf("%v -o json is not JSON: %v", args, err)
		}
		if err := yaml.Unmarshal([]byte(asYAML), &fromYAML); err != nil {
			t.Fatalf("%v -o yaml is not YAML: %v", args, err)
		}
		if strings.HasPrefix(strings.TrimSpace(asYAML), "{") {
			t.Errorf("%v -o yaml printed JSON:\n%s", args, asYAML)
		}
		if fromJSON == nil || !reflect.DeepEqual(fromJSON, fromYAML) {
			t.Errorf("%v: -o yaml is not the -o json document:\n%s\n---\n%s", args, asYAML, asJSON)
		}
	}
}

// route-check -o json: each test's result with what failed, and the totals.
func TestRouteCheckJSON(t *testing.T) {
	rc := func(name string) string { return fixture("envoy/router_check/" + name) }
	out, _, err := run(t, "", "route-check", "-c", rc("TestRoutes.yaml"), "-t", rc("Weighted.golden.proto.json"), "-o", "json")
	if ExitCode(err) != 1 {
		t.Fatalf("a failing test: exit %d (%v), want 1", ExitCode(err), err)
	}
	var doc struct {
		Tests []struct {
			Name     string            `json:"test_name"`
			Passed   bool              `json:"passed"`
			Failures []json.RawMessage `json:"failures"`
		} `json:"tests"`
		Failed   int     `json:"failed"`
		Coverage float64 `json:"coverage"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("-o json is not JSON: %v\n%s", err, out)
	}
	failing := 0
	for _, tc := range doc.Tests {
		if !tc.Passed {
			failing++
			if len(tc.Failures) == 0 {
				t.Errorf("%s failed with no failure given", tc.Name)
			}
		}
	}
	if len(doc.Tests) == 0 || doc.Failed == 0 || failing != doc.Failed || doc.Coverage <= 0 {
		t.Errorf("%d tests, %d failing, failed=%d, coverage %v:\n%s", len(doc.Tests), failing, doc.Failed, doc.Coverage, out)
	}
}
