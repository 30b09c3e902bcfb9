package routecheck

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// newer is Envoy's corpus beyond the shared fixtures (testdata/envoy/README.md).
const newer = "testdata/envoy"

func checkerFor(t *testing.T, config string) *Checker {
	t.Helper()
	return NewChecker(routeConfigAt(t, config))
}

func runAll(t *testing.T, c *Checker, tests string) []Result {
	t.Helper()
	data, err := os.ReadFile(tests)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse(data)
	if err != nil {
		t.Fatalf("%s: %v", tests, err)
	}
	var out []Result
	for _, tc := range s.Tests {
		out = append(out, c.Run(tc))
	}
	return out
}

func lines(rs []Result) []string {
	var out []string
	for _, r := range rs {
		for _, f := range r.Failures {
			out = append(out, f.Line)
		}
	}
	return out
}

// TestNewerCorpus: the runtime input (one key enabled, as the tool's
// runtime mock does) and the timeout assertion (in milliseconds, 2026).
func TestNewerCorpus(t *testing.T) {
	for _, pair := range [][2]string{{"Runtime.yaml", "Runtime.golden.proto.json"}, {"Timeout.yaml", "Timeout.golden.proto.json"}} {
		for _, r := range runAll(t, checkerFor(t, filepath.Join(newer, pair[0])), filepath.Join(newer, pair[1])) {
			if !r.Passed {
				t.Errorf("%s: %s failed: %v", pair[1], r.Name, lines([]Result{r}))
			}
		}
	}
	got := lines(runAll(t, checkerFor(t, filepath.Join(newer, "Timeout.yaml")), filepath.Join(newer, "TimeoutFailures.golden.proto.json")))
	if want := "expected: [120000], actual: [30000], test type: timeout"; !slices.Equal(got, []string{want}) {
		t.Errorf("TimeoutFailures: %q, want exactly %q", got, want)
	}
}

const headersConfig = `
virtual_hosts:
- name: vh
  domains: ["*"]
  response_headers_to_add:
  - header: {key: x-served-by, value: vh}
  routes:
  - match: {prefix: /old}
    route: {cluster: c1, prefix_rewrite: /new, host_rewrite_literal: rewritten.example}
    request_headers_to_add:
    - header: {key: x-route, value: old}
  - match: {prefix: /moved}
    redirect: {path_redirect: /elsewhere, response_code: FOUND}
  - match: {prefix: /}
    route: {cluster: c2}
`

func headerChecker(t *testing.T) *Checker {
	t.Helper()
	path := filepath.Join(t.TempDir(), "routes.yaml")
	if err := os.WriteFile(path, []byte(headersConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	return checkerFor(t, path)
}

// TestEveryAssertionIsEvaluated: each field of ValidationAssert, and each
// HeaderMatcher form, passes when it holds and fails with the tool's line
// when it does not. A matcher that is not evaluated cannot pass both ways.
func TestEveryAssertionIsEvaluated(t *testing.T) {
	c := headerChecker(t)
	const in = `{"authority": "www.example.com", "path": "/old/x?q=1", "method": "GET", "additional_request_headers": [{"key": "x-n", "value": "42"}, {"key": "x-t", "value": "Hello"}]}`
	for _, tc := range []struct {
		validate string
		line     string // "" when it must pass
	}{
		{`"cluster_name": "c1"`, ""},
		{`"cluster_name": "c2"`, "expected: [c2], actual: [c1], test type: cluster_name"},
		{`"virtual_host_name": "vh"`, ""},
		{`"virtual_cluster_name": ""`, ""},
		{`"path_rewrite": "/new/x?q=1"`, ""},
		{`"path_rewrite": "/old/x?q=1"`, "expected: [/old/x?q=1], actual: [/new/x?q=1], test type: path_rewrite"},
		{`"host_rewrite": "rewritten.example"`, ""},
		{`"path_redirect": ""`, ""},
		{`"code_redirect": 0`, ""},
		{`"code_redirect": 301`, "expected: [301], actual: [0], test type: code_redirect"},
		{`"timeout": "15s"`, ""},
		{`"timeout": "1s"`, "expected: [1000], actual: [15000], test type: timeout"},
		{`"request_header_fields": [{"key": "x-route", "value": "old"}]`, ""},
		{`"request_header_fields": [{"key": "x-route", "value": "new"}]`, "expected: [new], actual: [old], test type: request_header_fields"},
		{`"request_header_fields": [{"key": "x-envoy-original-path", "value": "/old/x?q=1"}]`, ""},
		{`"response_header_fields": [{"key": "x-served-by", "value": "vh"}]`, ""},
		{`"response_header_fields": [{"key": "x-served-by", "value": "other"}]`, "expected: [other], actual: [vh], test type: response_header_fields"},
		{`"request_header_matches": [{"name": "x-route", "exact_match": "old"}]`, ""},
		{`"request_header_matches": [{"name": "x-route", "exact_match": "new"}]`, "actual: [x-route: old], test type: request_header_matches.exact_match"},
		{`"request_header_matches": [{"name": "x-route", "prefix_match": "ol"}]`, ""},
		{`"request_header_matches": [{"name": "x-route", "prefix_match": "ne"}]`, "actual: [x-route: old], test type: request_header_matches.prefix_match"},
		{`"request_header_matches": [{"name": "x-route", "suffix_match": "ld"}]`, ""},
		{`"request_header_matches": [{"name": "x-route", "suffix_match": "ew"}]`, "actual: [x-route: old], test type: request_header_matches.suffix_match"},
		{`"request_header_matches": [{"name": "x-route", "contains_match": "l"}]`, ""},
		{`"request_header_matches": [{"name": "x-route", "contains_match": "z"}]`, "actual: [x-route: old], test type: request_header_matches.contains_match"},
		{`"request_header_matches": [{"name": "x-route", "safe_regex_match": {"regex": "o.d"}}]`, ""},
		{`"request_header_matches": [{"name": "x-route", "safe_regex_match": {"regex": "o"}}]`, "actual: [x-route: old], test type: request_header_matches.safe_regex_match"},
		{`"request_header_matches": [{"name": "x-n", "range_match": {"start": 40, "end": 43}}]`, ""},
		{`"request_header_matches": [{"name": "x-n", "range_match": {"start": 1, "end": 42}}]`, "actual: [x-n: 42], test type: request_header_matches.range_match"},
		{`"request_header_matches": [{"name": "x-route", "present_match": true}]`, ""},
		{`"request_header_matches": [{"name": "x-nope", "present_match": true}]`, "expected: [has(x-nope):true], actual: [has(x-nope):false], test type: request_header_matches.present_match"},
		{`"request_header_matches": [{"name": "x-nope"}]`, "expected: [has(x-nope):true], actual: [has(x-nope):false], test type: request_header_matches.present_match"},
		{`"request_header_matches": [{"name": "x-route", "present_match": true, "invert_match": true}]`, "expected: [has(x-route):false], actual: [has(x-route):true], test type: request_header_matches.present_match"},
		{`"request_header_matches": [{"name": "x-t", "string_match": {"exact": "hello", "ignore_case": true}}]`, ""},
		{`"request_header_matches": [{"name": "x-t", "string_match": {"exact": "hello"}}]`, "expected: [x-t: hello], actual: [x-t: Hello], test type: request_header_matches.string_match.exact"},
		{`"request_header_matches": [{"name": "x-t", "string_match": {"exact": "Hello"}, "invert_match": true}]`, "expected: [x-t: Hello], actual: NOT [x-t: Hello], test type: request_header_matches.string_match.exact"},
		{`"request_header_matches": [{"name": "x-t", "string_match": {"prefix": "He"}}]`, ""},
		{`"request_header_matches": [{"name": "x-t", "string_match": {"prefix": "he"}}]`, "actual: [x-t: Hello], test type: request_header_matches.string_match.prefix"},
		{`"request_header_matches": [{"name": "x-t", "string_match": {"suffix": "LO", "ignore_case": true}}]`, ""},
		{`"request_header_matches": [{"name": "x-t", "string_match": {"contains": "ell"}}]`, ""},
		{`"request_header_matches": [{"name": "x-t", "string_match": {"safe_regex": {"regex": "H.*o"}}}]`, ""},
		{`"request_header_matches": [{"name": "x-t", "string_match": {"safe_regex": {"regex": "H"}}}]`, "actual: [x-t: Hello], test type: request_header_matches.string_match.safe_regex"},
		{`"request_header_matches": [{"name": "x-nope", "string_match": {"exact": ""}, "treat_missing_header_as_empty": true}]`, ""},
		{`"request_header_matches": [{"name": "x-nope", "string_match": {"exact": ""}}]`, "expected: [x-nope: ], actual: [x-nope: NULL], test type: request_header_matches.string_match.exact"},
		{`"request_header_matches": [{"name": "x-nope", "prefix_match": "a", "invert_match": true}]`, "actual: [x-nope: NULL], test type: request_header_matches.prefix_match"},
		{`"request_header_matches": [{"name": ":path", "exact_match": "/new/x?q=1"}]`, ""},
		{`"response_header_matches": [{"name": "x-served-by", "exact_match": "vh"}]`, ""},
	} {
		s, err := Parse([]byte(`{"tests": [{"test_name": "t", "input": ` + in + `, "validate": {` + tc.validate + `}}]}`))
		if err != nil {
			t.Errorf("%s: %v", tc.validate, err)
			continue
		}
		r := c.Run(s.Tests[0])
		got := lines([]Result{r})
		switch {
		case tc.line == "" && !r.Passed:
			t.Errorf("%s: failed: %q", tc.validate, got)
		case tc.line != "" && !slices.Equal(got, []string{tc.line}):
			t.Errorf("%s:\n got %q\nwant %q", tc.validate, got, tc.line)
		}
	}
}

// TestRedirectAssertions: a redirect has no route entry (no cluster, host,
// path) and gives its Location and code.
func TestRedirectAssertions(t *testing.T) {
	c := headerChecker(t)
	s, err := Parse([]byte(`tests:
- test_name: moved
  input: {authority: www.example.com, path: /moved/a, method: GET, ssl: true}
  validate:
    cluster_name: ""
    virtual_host_name: ""
    path_redirect: https://www.example.com/elsewhere
    code_redirect: 302
    response_header_matches: [{name: ":status", exact_match: "302"}]
`))
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Run(s.Tests[0]); !r.Passed {
		t.Errorf("redirect: %q", lines([]Result{r}))
	}
}

// TestSchemaIsStrict: a field validation.proto lacks, anywhere, is an
// error naming it, never a pass.
func TestSchemaIsStrict(t *testing.T) {
	const in = `"input": {"authority": "a", "path": "/", "method": "GET"}`
	for _, tc := range []struct{ doc, want string }{
		{`{"tests": [{"test_name": "t", ` + in + `, "validate": {"cluster_nmae": "x"}}]}`, "cluster_nmae"},
		{`{"tests": [{"test_name": "t", "input": {"authority": "a", "path": "/", "method": "GET", "bogus": 1}, "validate": {"cluster_name": "x"}}]}`, "bogus"},
		{`{"tests": [{"test_name": "t", "input": {"authority": "a", "path": "/", "method": "GET", "additional_headers": []}, "validate": {"cluster_name": "x"}}]}`, "additional_headers"},
		{`{"tests": [{"test_name": "t", ` + in + `, "validate": {"header_fields": []}}]}`, "header_fields"},
		{`{"tests": [{"test_name": "t", ` + in + `, "validate": {"request_header_matches": [{"name": "x", "prefix_matchh": "a"}]}}]}`, "prefix_matchh"},
		{`{"tests": [{"test_name": "t", ` + in + `, "validate": {"code_redirect": "three"}}]}`, `invalid value for uint32 field value: "three"`},
		{`{"tests": [{"test_name": "t", ` + in + `, "validate": {"timeout": 5}}]}`, "line 1:114"},
		{`{"tests": [{"test_name": "t", "input": {"authority": "a", "path": "/", "method": "GET", "runtime": {"k": 1}}, "validate": {}}]}`, "runtime"},
		{`{"extra": 1, "tests": []}`, "extra"},
		{"tests:\n- test_name: t\n  input: {authority: a, path: /, method: GET}\n  validate: {clusterName: x, nope: 1}\n", "nope"},
		{"tests {\n  test_name: \"t\"\n  input { authority: \"a\" path: \"/\" method: \"GET\" }\n  validate { bogus_field: { value: \"\" } }\n}\n", "bogus_field"},
		{`{"tests": []}`, "no tests"},
		{`{"tests": [{"test_name": "t", "input": {"authority": "a", "path": "/", "method": "GE"}, "validate": {}}]}`, "method"},
		{`{"tests": [{"test_name": "", ` + in + `, "validate": {}}]}`, "test_name"},
		{`{"tests": [{"test_name": "t", ` + in + `}]}`, "no validate"},
	} {
		_, err := Parse([]byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %q", tc.doc, err, tc.want)
		}
	}
	// camelCase names are the schema's JSON names: accepted, as protobuf's JSON reader does.
	if _, err := Parse([]byte(`{"tests": [{"testName": "t", "input": {"authority": "a", "path": "/", "method": "GET", "randomValue": 3}, "validate": {"clusterName": ""}}]}`)); err != nil {
		t.Errorf("camelCase: %v", err)
	}
}
