// Package routecheck runs route table tests in the format of Envoy's
// router_check_tool against a RouteConfiguration: each test is a request
// and the route parameters it must get (cluster, virtual host, virtual
// cluster, rewrites, redirect, headers). Matching is pkg/trace's, which
// follows Envoy's router.
package routecheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/trace"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// Suite is a test file.
type Suite struct {
	Tests []Test `json:"tests"`
	// Runtime overrides, as the test file gives them (reported, not needed:
	// the matcher has no program size limit).
	Runtime map[string]any `json:"runtime"`
}

// Test is one test case.
type Test struct {
	Name     string                     `json:"test_name"`
	Input    Input                      `json:"input"`
	Validate map[string]json.RawMessage `json:"validate"`
}

// Input is the request.
type Input struct {
	Authority                 string         `json:"authority"`
	Path                      string         `json:"path"`
	Method                    string         `json:"method"`
	RandomValue               uint64         `json:"random_value"`
	SSL                       bool           `json:"ssl"`
	Internal                  bool           `json:"internal"`
	AdditionalRequestHeaders  []HeaderValue  `json:"additional_request_headers"`
	AdditionalHeaders         []HeaderValue  `json:"additional_headers"` // the older name
	AdditionalResponseHeaders []HeaderValue  `json:"additional_response_headers"`
	DynamicMetadata           []Metadata     `json:"dynamic_metadata"`
	Runtime                   map[string]any `json:"runtime"`
}

// HeaderValue is a header of the input.
type HeaderValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Metadata is dynamic metadata the input sets, by namespace.
type Metadata struct {
	Namespace string         `json:"metadata_namespace"`
	Value     map[string]any `json:"value"`
	// AllowOverwrite false keeps what an earlier entry set for the namespace.
	AllowOverwrite *bool `json:"allow_overwrite"`
}

// Parse reads a test file: JSON (Envoy's parser allows trailing commas),
// YAML, or protobuf text format.
func Parse(data []byte) (*Suite, error) {
	trimmed := bytes.TrimSpace(data)
	var js []byte
	switch {
	case len(trimmed) > 0 && trimmed[0] == '{':
		js = dropTrailingCommas(trimmed)
	case looksTextproto(trimmed):
		var err error
		if js, err = textprotoToJSON(trimmed); err != nil {
			return nil, fmt.Errorf("the test file is not valid protobuf text: %v", err)
		}
	default:
		var err error
		if js, err = yaml.YAMLToJSON(data); err != nil {
			return nil, fmt.Errorf("the test file is neither JSON nor YAML: %v", err)
		}
	}
	var s Suite
	dec := json.NewDecoder(bytes.NewReader(js))
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("the test file does not read as router_check tests: %v", err)
	}
	if len(s.Tests) == 0 {
		return nil, fmt.Errorf("the test file has no tests (a router_check file is {\"tests\": [{\"test_name\", \"input\", \"validate\"}]})")
	}
	for i, t := range s.Tests {
		if t.Name == "" {
			return nil, fmt.Errorf("test %d has no test_name", i+1)
		}
		if t.Input.Authority == "" || t.Input.Path == "" || t.Input.Method == "" {
			return nil, fmt.Errorf("test %s: input needs authority, path and method", t.Name)
		}
		if len(t.Validate) == 0 {
			return nil, fmt.Errorf("test %s: validate names nothing to check", t.Name)
		}
	}
	return &s, nil
}

// dropTrailingCommas removes commas before a closing bracket, outside
// strings, as Envoy's lenient JSON reader accepts them.
func dropTrailingCommas(b []byte) []byte {
	out := make([]byte, 0, len(b))
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inString:
			if c == '\\' && i+1 < len(b) {
				out = append(out, c, b[i+1])
				i++
				continue
			}
			if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == ',':
			j := jsonscan.SkipSpace(b, i+1)
			if j < len(b) && (b[j] == '}' || b[j] == ']') {
				continue
			}
		}
		out = append(out, c)
	}
	return out
}

// Failure is one validation that did not hold.
type Failure struct {
	Field    string `json:"test_type"`
	Expected string `json:"expected"`
	Actual   string `json:"actual"`
}

// String is router_check_tool's line for it.
func (f Failure) String() string {
	actual := f.Actual
	if !strings.HasPrefix(actual, "[") && !strings.HasPrefix(actual, "NOT [") {
		actual = "[" + actual + "]"
	}
	return fmt.Sprintf("expected: [%s], actual: %s, test type: %s", f.Expected, actual, f.Field)
}

// Result is one test's outcome.
type Result struct {
	Name        string    `json:"test_name"`
	Passed      bool      `json:"passed"`
	Failures    []Failure `json:"failures,omitempty"`
	VirtualHost string    `json:"virtual_host"`
	Route       string    `json:"route"`
	// Unchecked are validate fields this tool does not know.
	Unchecked []string `json:"unchecked,omitempty"`
	route     *xds.Route
}

// Checker runs tests against one route configuration.
type Checker struct {
	rc  *xds.RouteConfig
	hit map[*xds.Route]bool
	// hosts are the virtual hosts' JSON and virtual clusters, read once.
	hosts map[string]*host
}

// host is what a test needs of a virtual host beyond the model: its JSON
// (headers to add) and its virtual clusters, as routes of a probe route
// configuration tried in order.
type host struct {
	raw       jsonscan.Value
	vclusters *xds.RouteConfig // nil when the host has none
}

// NewChecker prepares rc for tests.
func NewChecker(rc *xds.RouteConfig) *Checker {
	c := &Checker{rc: rc, hit: map[*xds.Route]bool{}, hosts: map[string]*host{}}
	_ = rc.Entry.Resource.Get("virtual_hosts").Items(func(_ int, v jsonscan.Value) bool {
		name := v.Get("name").Str()
		if _, seen := c.hosts[name]; !seen {
			c.hosts[name] = &host{raw: v, vclusters: virtualClusters(v)}
		}
		return true
	})
	return c
}

// outcome is what the router does with a test's request.
type outcome struct {
	vh       *xds.VirtualHost
	route    *xds.Route
	cluster  string
	vcluster string
	host     string
	path     string
	redirect string
	code     string
	reqH     map[string][]string
	respH    map[string][]string
}

// Run runs one test.
func (c *Checker) Run(t Test) Result {
	o := c.route(t.Input)
	res := Result{Name: t.Name, route: o.route}
	if o.vh != nil {
		res.VirtualHost = o.vh.Name
	}
	if o.route != nil {
		res.Route = o.route.Name
		c.hit[o.route] = true
	}
	fields := make([]string, 0, len(t.Validate))
	for f := range t.Validate {
		fields = append(fields, f)
	}
	sort.Slice(fields, func(i, j int) bool { return fieldOrder(fields[i]) < fieldOrder(fields[j]) })
	for _, f := range fields {
		raw := t.Validate[f]
		check := func(want, got string) {
			if want != got {
				res.Failures = append(res.Failures, Failure{Field: f, Expected: want, Actual: got})
			}
		}
		switch f {
		case "cluster_name":
			check(str(raw), o.cluster)
		case "virtual_cluster_name":
			check(str(raw), o.vcluster)
		case "virtual_host_name":
			name := ""
			if o.vh != nil {
				name = o.vh.Name
			}
			check(str(raw), name)
		case "host_rewrite":
			check(str(raw), o.host)
		case "path_rewrite":
			check(str(raw), o.path)
		case "path_redirect":
			check(str(raw), o.redirect)
		case "code_redirect":
			check(strings.Trim(string(raw), `"`), o.code)
		case "request_header_matches", "header_fields", "custom_header_fields":
			res.Failures = append(res.Failures, headerChecks(raw, o.reqH, "request_header_matches")...)
		case "response_header_matches":
			res.Failures = append(res.Failures, headerChecks(raw, o.respH, f)...)
		default:
			res.Unchecked = append(res.Unchecked, f)
		}
	}
	res.Passed = len(res.Failures) == 0
	return res
}

func fieldOrder(f string) int {
	for i, name := range []string{"cluster_name", "virtual_cluster_name", "virtual_host_name", "host_rewrite", "path_rewrite", "path_redirect", "code_redirect", "request_header_matches", "response_header_matches"} {
		if f == name {
			return i
		}
	}
	return 100
}

func str(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return strings.TrimSpace(string(raw))
}

// route runs the router on the input.
func (c *Checker) route(in Input) outcome {
	req := trace.Request{Mode: trace.Gateway, Host: in.Authority, Path: in.Path, Method: in.Method, Protocol: "http",
		TLS: "plaintext", Internal: in.Internal, Headers: map[string][]string{}, DynamicMetadata: map[string]any{}}
	rv := in.RandomValue
	req.Random = &rv
	if in.SSL {
		req.TLS = "tls"
	}
	proto := "http"
	if in.SSL {
		proto = "https"
	}
	req.Headers["x-forwarded-proto"] = []string{proto}
	if in.Internal {
		req.Headers["x-envoy-internal"] = []string{"true"}
	}
	for _, h := range append(in.AdditionalRequestHeaders, in.AdditionalHeaders...) {
		k := strings.ToLower(h.Key)
		req.Headers[k] = append(req.Headers[k], h.Value)
	}
	for _, m := range in.DynamicMetadata {
		prev, set := req.DynamicMetadata[m.Namespace].(map[string]any)
		if !set {
			req.DynamicMetadata[m.Namespace] = m.Value
			continue
		}
		keep := m.AllowOverwrite != nil && !*m.AllowOverwrite
		for k, v := range m.Value {
			if _, exists := prev[k]; !exists || !keep {
				prev[k] = v
			}
		}
	}
	o := outcome{host: in.Authority, path: in.Path, reqH: map[string][]string{}, respH: map[string][]string{}}
	for k, v := range req.Headers {
		o.reqH[k] = v
	}
	o.reqH[":authority"], o.reqH[":path"], o.reqH[":method"] = []string{in.Authority}, []string{in.Path}, []string{in.Method}
	for _, h := range in.AdditionalResponseHeaders {
		k := strings.ToLower(h.Key)
		o.respH[k] = append(o.respH[k], h.Value)
	}
	vh, r, hop := trace.MatchRoute(c.rc, req)
	o.vh = vh
	scheme := "http"
	if in.SSL {
		scheme = "https"
	}
	if vh == nil {
		return o
	}
	if hop.Result == trace.Redirect { // require_tls: no route entry, a redirect to https
		o.vh, o.host, o.path = nil, "", ""
		o.redirect, o.code = "https://"+in.Authority+in.Path, "301"
		return o
	}
	if r == nil {
		o.host, o.path = "", ""
		return o
	}
	o.route = r
	a := r.Action
	switch a.Kind {
	case xds.ActRedirect, xds.ActDirectResponse:
		// No route entry: router_check reports no cluster, virtual host or
		// rewrites, and the new URI (for a direct response, the request's).
		o.vh, o.host, o.path = nil, "", ""
		if a.Kind == xds.ActRedirect {
			o.redirect, o.code = trace.RedirectURL(req, a.Redirect, r), strconv.Itoa(int(trace.RedirectCode(a.Redirect.Code)))
		} else {
			o.redirect, o.code = scheme+"://"+in.Authority+in.Path, strconv.Itoa(int(a.Status))
			if body := r.Raw.Get("direct_response", "body"); body.Exists() {
				text := body.Get("inline_string").Str()
				if text == "" {
					text = body.Get("inline_bytes").Str()
				}
				if text != "" {
					o.respH["content-length"] = []string{strconv.Itoa(len(text))}
					o.respH["content-type"] = []string{"text/plain"}
				}
			}
		}
		addHeaders(o.respH, r.Raw.Get("response_headers_to_add"), c.vhRaw(vh).Get("response_headers_to_add"), c.rc.Entry.Resource.Get("response_headers_to_add"))
		return o
	case xds.ActCluster:
		o.cluster = a.Cluster
	case xds.ActClusterHeader:
		if v := req.Headers[strings.ToLower(a.ClusterHeader)]; len(v) > 0 {
			o.cluster = v[0]
		} else if a.ClusterHeader == ":authority" {
			o.cluster = in.Authority
		}
	case xds.ActWeighted:
		o.cluster = pickWeighted(a, rv)
	}
	o.vcluster = c.virtualCluster(vh, req)
	o.path = rewritePath(in.Path, r)
	if a.HostRewrite != "" && !strings.HasPrefix(a.HostRewrite, "from header") && !strings.HasPrefix(a.HostRewrite, "auto") {
		o.host = a.HostRewrite
	}
	o.reqH[":authority"], o.reqH[":path"] = []string{o.host}, []string{o.path}
	addHeaders(o.reqH, r.Raw.Get("request_headers_to_add"), c.vhRaw(vh).Get("request_headers_to_add"), c.rc.Entry.Resource.Get("request_headers_to_add"))
	addHeaders(o.respH, r.Raw.Get("response_headers_to_add"), c.vhRaw(vh).Get("response_headers_to_add"), c.rc.Entry.Resource.Get("response_headers_to_add"))
	return o
}

func pickWeighted(a xds.Action, rv uint64) string {
	total := a.TotalWeight
	if total == 0 {
		for _, w := range a.Weighted {
			total += w.Weight
		}
	}
	if total == 0 {
		return ""
	}
	v, acc := uint32(rv%uint64(total)), uint32(0)
	for _, w := range a.Weighted {
		acc += w.Weight
		if v < acc {
			return w.Name
		}
	}
	return ""
}

// vhRaw is a virtual host's JSON in the route configuration.
func (c *Checker) vhRaw(vh *xds.VirtualHost) jsonscan.Value {
	if h, ok := c.hosts[vh.Name]; ok {
		return h.raw
	}
	return jsonscan.Value{}
}

// virtualClusters reads a virtual host's virtual clusters into a probe
// route configuration: one route per virtual cluster, in order, matching
// any path on the cluster's headers.
func virtualClusters(vh jsonscan.Value) *xds.RouteConfig {
	vcs := vh.Get("virtual_clusters")
	if !vcs.Exists() || vcs.Empty() {
		return nil
	}
	probe := &xds.VirtualHost{Name: "vc", Domains: []string{"*"}}
	_ = vcs.Items(func(_ int, vc jsonscan.Value) bool {
		m := &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: ""}}
		if hs := vc.Get("headers"); hs.Exists() {
			var rm routev3.RouteMatch
			js := append(append([]byte(`{"prefix":"","headers":`), hs.Raw()...), '}')
			if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(js, &rm); err != nil {
				return true
			}
			m = &rm
		}
		probe.Routes = append(probe.Routes, &xds.Route{Name: vc.Get("name").Str(), Match: m})
		return true
	})
	return &xds.RouteConfig{VirtualHosts: []*xds.VirtualHost{probe}}
}

// virtualCluster is the name of the first virtual cluster whose headers
// match; "other" when the virtual host has some and none matches (Envoy's
// catch-all), "" when it has none.
func (c *Checker) virtualCluster(vh *xds.VirtualHost, req trace.Request) string {
	h, ok := c.hosts[vh.Name]
	if !ok || h.vclusters == nil {
		return ""
	}
	req.Host = "*"
	if _, route, _ := trace.MatchRoute(h.vclusters, req); route != nil {
		return route.Name
	}
	return "other"
}

// rewritePath applies the route's prefix or regex rewrite.
func rewritePath(path string, r *xds.Route) string {
	a := r.Action
	switch {
	case a.PrefixRewrite != "":
		if p, ok := r.Match.PathSpecifier.(*routev3.RouteMatch_Prefix); ok {
			if len(path) >= len(p.Prefix) {
				return a.PrefixRewrite + path[len(p.Prefix):]
			}
		}
		if _, ok := r.Match.PathSpecifier.(*routev3.RouteMatch_Path); ok {
			_, q, hasQ := strings.Cut(path, "?")
			if hasQ {
				return a.PrefixRewrite + "?" + q
			}
			return a.PrefixRewrite
		}
	case a.RegexRewrite != "":
		pattern := r.Raw.Get("route", "regex_rewrite", "pattern", "regex").Str()
		re, err := regexp.Compile(pattern)
		if err != nil {
			return path
		}
		p, q, hasQ := strings.Cut(path, "?")
		// RE2's \1 in Envoy's substitution is Go's ${1}.
		sub := regexp.MustCompile(`\\(\d)`).ReplaceAllString(a.RegexRewrite, "$${$1}")
		p = re.ReplaceAllString(p, sub)
		if hasQ {
			return p + "?" + q
		}
		return p
	}
	return path
}

// addHeaders applies headers_to_add lists, most specific first: a header
// already set is kept unless the entry appends. The downstream address a
// value may name is router_check's, 127.0.0.1.
func addHeaders(h map[string][]string, lists ...jsonscan.Value) {
	for _, list := range lists {
		_ = list.Items(func(_ int, hv jsonscan.Value) bool {
			k := strings.ToLower(hv.Get("header", "key").Str())
			v := strings.NewReplacer("%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%", "127.0.0.1", "%DOWNSTREAM_REMOTE_ADDRESS%", "127.0.0.1:0").Replace(hv.Get("header", "value").Str())
			appendIt := true
			if a := hv.Get("append"); a.Exists() {
				appendIt = a.Bool() || a.Get("value").Bool()
			}
			if act := hv.Get("append_action").Str(); act != "" {
				appendIt = act == "APPEND_IF_EXISTS_OR_ADD"
				if act == "ADD_IF_ABSENT" && len(h[k]) > 0 {
					return true
				}
			}
			if appendIt {
				h[k] = append(h[k], v)
			} else {
				h[k] = []string{v}
			}
			return true
		})
	}
}

// headerChecks runs the HeaderMatchers of a validate field on headers.
func headerChecks(raw json.RawMessage, h map[string][]string, field string) []Failure {
	var matchers []json.RawMessage
	if err := json.Unmarshal(raw, &matchers); err != nil {
		return []Failure{{Field: field, Expected: string(raw), Actual: "not a list of header matchers"}}
	}
	var out []Failure
	for _, m := range matchers {
		var hm routev3.HeaderMatcher
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(m, &hm); err != nil {
			out = append(out, Failure{Field: field, Expected: string(m), Actual: "not a header matcher: " + err.Error()})
			continue
		}
		if f, ok := headerCheck(&hm, h, field); !ok {
			out = append(out, f)
		}
	}
	return out
}

// headerCheck runs one matcher as router_check does, and words a failure
// as it does: "expected: [name: value], actual: [name: value]", with NOT
// for an inverted match and has(name) for presence.
func headerCheck(m *routev3.HeaderMatcher, h map[string][]string, field string) (Failure, bool) {
	name := strings.ToLower(m.GetName())
	vs, present := h[name]
	value := strings.Join(vs, ",")
	var ok bool
	var want, kind string
	switch s := m.HeaderMatchSpecifier.(type) {
	case *routev3.HeaderMatcher_StringMatch:
		kind, want = "string_match", fmt.Sprintf("%s: %s", m.GetName(), stringValue(s.StringMatch))
		ok = present && trace.StringMatches(s.StringMatch, value)
		kind += "." + stringKind(s.StringMatch)
	case *routev3.HeaderMatcher_ExactMatch:
		kind, want, ok = "exact_match", m.GetName()+": "+s.ExactMatch, present && value == s.ExactMatch
	case *routev3.HeaderMatcher_RangeMatch:
		n, err := strconv.ParseInt(value, 10, 64)
		kind = "range_match"
		want = fmt.Sprintf("%s: [%d, %d)", m.GetName(), s.RangeMatch.GetStart(), s.RangeMatch.GetEnd())
		ok = present && err == nil && n >= s.RangeMatch.GetStart() && n < s.RangeMatch.GetEnd()
	case *routev3.HeaderMatcher_PresentMatch:
		kind, want = "present_match", fmt.Sprintf("has(%s):%t", m.GetName(), s.PresentMatch != m.GetInvertMatch())
		got := fmt.Sprintf("has(%s):%t", m.GetName(), present)
		if present == (s.PresentMatch != m.GetInvertMatch()) {
			return Failure{}, true
		}
		return Failure{Field: field + "." + kind, Expected: want, Actual: got}, false
	case nil:
		kind, want = "present_match", fmt.Sprintf("has(%s):%t", m.GetName(), !m.GetInvertMatch())
		if present != m.GetInvertMatch() {
			return Failure{}, true
		}
		return Failure{Field: field + "." + kind, Expected: want, Actual: fmt.Sprintf("has(%s):%t", m.GetName(), present)}, false
	default:
		kind, want, ok = "matcher", m.GetName(), present
	}
	if m.GetInvertMatch() {
		ok = present && !ok
	}
	if ok {
		return Failure{}, true
	}
	actual := "[" + m.GetName() + ": " + value + "]"
	if !present {
		actual = "[" + m.GetName() + ": (absent)]"
	}
	if m.GetInvertMatch() {
		actual = "NOT " + actual
	}
	return Failure{Field: field + "." + kind, Expected: want, Actual: actual}, false
}

func stringValue(m *matcherv3.StringMatcher) string {
	switch {
	case m.GetExact() != "":
		return m.GetExact()
	case m.GetPrefix() != "":
		return m.GetPrefix()
	case m.GetSuffix() != "":
		return m.GetSuffix()
	case m.GetContains() != "":
		return m.GetContains()
	case m.GetSafeRegex() != nil:
		return m.GetSafeRegex().GetRegex()
	}
	return ""
}

func stringKind(m *matcherv3.StringMatcher) string {
	switch {
	case m.GetPrefix() != "":
		return "prefix"
	case m.GetSuffix() != "":
		return "suffix"
	case m.GetContains() != "":
		return "contains"
	case m.GetSafeRegex() != nil:
		return "safe_regex"
	}
	return "exact"
}

// Coverage is the share of the configuration's routes the tests run so far
// matched, and the routes none matched: "Missing test for host: VHOST,
// route: MATCH" (with detailed, the route's name too).
func (c *Checker) Coverage(detailed bool) (percent float64, missing []string) {
	total, hit := 0, 0
	for _, vh := range c.rc.VirtualHosts {
		for _, r := range vh.Routes {
			total++
			if c.hit[r] {
				hit++
				continue
			}
			if detailed {
				missing = append(missing, fmt.Sprintf("Missing test for host: %s, route name: %s-%s", vh.Name, r.Name, matchText(r)))
			} else {
				missing = append(missing, fmt.Sprintf("Missing test for host: %s, route: %s", vh.Name, matchText(r)))
			}
		}
	}
	if total == 0 {
		return 100, nil
	}
	return float64(hit) * 100 / float64(total), missing
}

// matchText is a route's path match as Envoy's debug string writes it.
func matchText(r *xds.Route) string {
	if r.Match == nil {
		return "?"
	}
	switch p := r.Match.PathSpecifier.(type) {
	case *routev3.RouteMatch_Prefix:
		return fmt.Sprintf("prefix: %q", p.Prefix)
	case *routev3.RouteMatch_Path:
		return fmt.Sprintf("path: %q", p.Path)
	case *routev3.RouteMatch_SafeRegex:
		return fmt.Sprintf("safe_regex { regex: %q }", p.SafeRegex.GetRegex())
	case *routev3.RouteMatch_PathSeparatedPrefix:
		return fmt.Sprintf("path_separated_prefix: %q", p.PathSeparatedPrefix)
	}
	return "?"
}
