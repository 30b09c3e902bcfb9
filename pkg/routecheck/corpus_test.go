package routecheck

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// Envoy's router_check_tool corpus (../shared/fixtures/envoy/router_check):
// each pair must give the result its MANIFEST entry documents.
const corpus = "../../../shared/fixtures/envoy/router_check"

func load(t testing.TB, config string) *xds.RouteConfig {
	t.Helper()
	path := filepath.Join(corpus, config)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("corpus not here: %v", err)
	}
	return routeConfigAt(t, path)
}

// routeConfigAt reads the one route configuration of a file.
func routeConfigAt(t testing.TB, path string) *xds.RouteConfig {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dumps, err := envoyadmin.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	rcs := xds.New(dumps[0]).RouteConfigs()
	if len(rcs) != 1 {
		t.Fatalf("%s: %d route configurations", path, len(rcs))
	}
	return rcs[0]
}

func runFile(t *testing.T, config, tests string) (*Checker, []Result) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(corpus, tests))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse(data)
	if err != nil {
		t.Fatalf("%s: %v", tests, err)
	}
	c := NewChecker(load(t, config))
	var out []Result
	for _, tc := range s.Tests {
		out = append(out, c.Run(tc))
	}
	return c, out
}

func TestCorpusPasses(t *testing.T) {
	for _, pair := range [][2]string{
		{"ClusterHeader.yaml", "ClusterHeader.golden.proto.json"},
		{"ComprehensiveRoutes.yaml", "ComprehensiveRoutes.golden.proto.json"},
		{"ContentType.yaml", "ContentType.golden.proto.json"},
		{"DefaultRuntime.yaml", "DefaultRuntime.golden.proto.json"},
		{"DetailedCoverage.yaml", "DetailedCoverage.golden.proto.json"},
		{"DirectResponse.yaml", "DirectResponse.golden.proto.json"},
		{"DynamicMetadata.yaml", "DynamicMetadata.golden.proto.json"},
		{"Redirect.yaml", "Redirect.golden.proto.json"},
		{"Redirect3.yaml", "Redirect3.golden.proto.json"},
		{"Redirect4.yaml", "Redirect4.golden.proto.json"},
		{"TestRoutes.yaml", "TestRoutes.golden.proto.json"},
		{"Weighted.yaml", "Weighted.golden.proto.json"},
		{"Weighted.yaml", "Weighted.golden.proto.yaml"},
		{"Weighted.yaml", "Weighted.golden.proto.pb_text"},
	} {
		_, results := runFile(t, pair[0], pair[1])
		for _, r := range results {
			if !r.Passed {
				t.Errorf("%s + %s: %s failed: %v", pair[0], pair[1], r.Name, r.Failures)
			}
		}
	}
}

// TestCorpusDocumentedFailures: the pairs whose MANIFEST entry lists
// failures must fail with exactly those lines.
func TestCorpusDocumentedFailures(t *testing.T) {
	_, results := runFile(t, "TestRoutes.yaml", "TestRoutesFailures.golden.proto.json")
	if len(results) != 1 || results[0].Passed {
		t.Fatalf("TestRoutesFailures must fail: %+v", results)
	}
	var lines []string
	for _, f := range results[0].Failures {
		lines = append(lines, f.String())
	}
	got := strings.Join(lines, "\n")
	// Envoy's route_tests.sh checks each as a whole line (grep -Fx).
	for _, want := range []string{
		"expected: [content-type: text/plain], actual: NOT [content-type: text/plain], test type: response_header_matches.string_match.exact",
		"actual: [content-length: 25], test type: response_header_matches.range_match",
		"expected: [x-ping-response: pong], actual: [x-ping-response: yes], test type: response_header_matches.string_match.exact",
		"expected: [has(x-ping-response):false], actual: [has(x-ping-response):true], test type: response_header_matches.present_match",
		"expected: [has(x-pong-response):true], actual: [has(x-pong-response):false], test type: response_header_matches.present_match",
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("no failure line is exactly %q:\n%s", want, got)
		}
	}
	if len(lines) != 5 {
		t.Errorf("%d failures, the corpus documents 5:\n%s", len(lines), got)
	}

	// The cross pair: TestRoutes.yaml with Weighted's tests.
	_, results = runFile(t, "TestRoutes.yaml", "Weighted.golden.proto.json")
	byName := map[string]Result{}
	for _, r := range results {
		byName[r.Name] = r
	}
	if !byName["Test_1"].Passed {
		t.Errorf("cross pair Test_1 should pass: %v", byName["Test_1"].Failures)
	}
	var t2 []string
	for _, f := range byName["Test_2"].Failures {
		t2 = append(t2, f.String())
	}
	for _, want := range []string{
		"expected: [cluster1], actual: [instant-server], test type: cluster_name",
		"expected: [test_virtual_cluster], actual: [other], test type: virtual_cluster_name",
	} {
		if !strings.Contains(strings.Join(t2, "\n"), want) {
			t.Errorf("cross pair Test_2 lacks %q: %v", want, t2)
		}
	}
	if _, ok := byName["Test_3"]; !ok {
		t.Error("cross pair Test_3 not reported")
	}
}

func TestCorpusCoverage(t *testing.T) {
	for _, pair := range [][2]string{
		{"ComprehensiveRoutes.yaml", "ComprehensiveRoutes.golden.proto.json"},
		{"DirectResponse.yaml", "DirectResponse.golden.proto.json"},
		{"Weighted.yaml", "Weighted.golden.proto.json"},
	} {
		c, _ := runFile(t, pair[0], pair[1])
		if pct, missing := c.Coverage(false); pct != 100 {
			t.Errorf("%s: coverage %.4g%%, the corpus documents 100%% (missing %v)", pair[0], pct, missing)
		}
	}
	c, _ := runFile(t, "Redirect.yaml", "Redirect.golden.proto.json")
	if pct, _ := c.Coverage(false); pct >= 100 {
		t.Errorf("Redirect coverage %.4g%%: the corpus says it fails a 100%% requirement", pct)
	}
	c, _ = runFile(t, "TestRoutes.yaml", "TestRoutes.golden.proto.json")
	_, missing := c.Coverage(false)
	for _, want := range []string{`Missing test for host: www2_staging, route: prefix: "/"`, `Missing test for host: default, route: prefix: "/api/application_data"`} {
		if !strings.Contains(strings.Join(missing, "\n"), want) {
			t.Errorf("--covall lacks %q:\n%s", want, strings.Join(missing, "\n"))
		}
	}
	c, _ = runFile(t, "DetailedCoverage.yaml", "DetailedCoverage.golden.proto.json")
	_, missing = c.Coverage(true)
	all := strings.Join(missing, "\n")
	for _, re := range []string{`Missing test for host: localhost, route name: new_endpoint2-.+`, `Missing test for host: localhost, route name: -.+`} {
		if !regexp.MustCompile(re).MatchString(all) {
			t.Errorf("--detailed-coverage lacks %s:\n%s", re, all)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for name, in := range map[string]string{
		"no tests":      `{"tests": []}`,
		"no name":       `{"tests": [{"input": {"authority": "a", "path": "/", "method": "GET"}, "validate": {"cluster_name": ""}}]}`,
		"no input":      `{"tests": [{"test_name": "t", "validate": {"cluster_name": ""}}]}`,
		"no validate":   `{"tests": [{"test_name": "t", "input": {"authority": "a", "path": "/", "method": "GET"}}]}`,
		"not json":      `{"tests": [`,
		"bad textproto": "tests { test_name: ",
	} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzParse: no test file makes the parser panic.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"Weighted.golden.proto.json", "Weighted.golden.proto.yaml", "Weighted.golden.proto.pb_text", "TestRoutes.golden.proto.json"} {
		if b, err := os.ReadFile(filepath.Join(corpus, name)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = Parse(b) })
}
