// Package routecheck is Envoy's router_check_tool over this project's
// router: route table tests in the tool's format (see schema.go) run
// against a RouteConfiguration, each assertion evaluated as the tool
// evaluates it and each failure worded as the tool words it. The routing
// itself is pkg/trace's Route, the code trace follows requests with.
package routecheck

import (
	"fmt"
	"strconv"
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/trace"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// Failure is one assertion that did not hold.
type Failure struct {
	// Line is router_check_tool's line for it, byte for byte.
	Line     string `json:"line"`
	TestType string `json:"test_type"`
	Expected string `json:"expected,omitempty"`
	Actual   string `json:"actual"`
}

// String is router_check_tool's line.
func (f Failure) String() string { return f.Line }

// Result is one test's outcome.
type Result struct {
	Name        string    `json:"test_name"`
	Passed      bool      `json:"passed"`
	Failures    []Failure `json:"failures,omitempty"`
	VirtualHost string    `json:"virtual_host"`
	Route       string    `json:"route"`
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
	_ = rc.Raw.Get("virtual_hosts").Items(func(_ int, v jsonscan.Value) bool {
		name := v.Get("name").Str()
		if _, seen := c.hosts[name]; !seen {
			c.hosts[name] = &host{raw: v, vclusters: virtualClusters(v)}
		}
		return true
	})
	return c
}

// headers are a request's or response's headers: names in lower case,
// values in the order added.
type headers map[string][]string

func (h headers) add(name, value string) {
	k := strings.ToLower(name)
	h[k] = append(h[k], value)
}

// first is the tool's reading of a header: its first value, "" if absent.
func (h headers) first(name string) string {
	if vs := h[strings.ToLower(name)]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// Request is the request a test's input describes, as router_check_tool
// builds it: :authority, :path, :method, :scheme and x-forwarded-proto
// from ssl, x-envoy-internal, the additional headers, dynamic metadata, the
// random value and the one runtime key enabled.
func Request(in Input) trace.Request {
	scheme := "http"
	tls := "plaintext"
	if in.SSL {
		scheme, tls = "https", "tls"
	}
	rv := in.RandomValue
	runtime := in.Runtime
	req := trace.Request{Mode: trace.Gateway, Host: in.Authority, Path: in.Path, Method: in.Method, Protocol: "http",
		TLS: tls, Internal: in.Internal, Headers: map[string][]string{"x-forwarded-proto": {scheme}},
		Random: &rv, ActiveRuntime: &runtime, DynamicMetadata: map[string]any{}}
	if in.Internal {
		req.Headers["x-envoy-internal"] = []string{"true"}
	}
	for _, h := range in.RequestHeaders {
		k := strings.ToLower(h.Key)
		req.Headers[k] = append(req.Headers[k], h.Value)
	}
	for _, m := range in.DynamicMetadata {
		prev, set := req.DynamicMetadata[m.Namespace].(map[string]any)
		if !set {
			req.DynamicMetadata[m.Namespace] = m.Value
			continue
		}
		// As the set_metadata filter merges: a later entry overwrites keys
		// only with allow_overwrite.
		for k, v := range m.Value {
			if _, exists := prev[k]; !exists || m.AllowOverwrite {
				prev[k] = v
			}
		}
	}
	return req
}

// Decision is what the router decides for a test's input, in the terms
// trace reports: the virtual host and route, the cluster, the rewritten
// path and host of a forwarded request, and the Location and status of an
// answer.
type Decision struct {
	VirtualHost, Route, Cluster string
	Path, Host                  string
	Location                    string
	Status                      uint32
}

// Decide runs the router on a test's input.
func (c *Checker) Decide(in Input) Decision {
	rt, _ := trace.Route(c.rc, Request(in))
	var d Decision
	if rt.VirtualHost != nil {
		d.VirtualHost = rt.VirtualHost.Name
	}
	if rt.Route != nil {
		d.Route = rt.Route.Name
	}
	if rt.Forwards() {
		d.Cluster, d.Path, d.Host = rt.Cluster, rt.Path, rt.Host
	}
	if rt.Answers() {
		d.Location, d.Status = rt.Location, rt.Status
	}
	return d
}

// outcome is what the router did with a test's request, and the headers
// after the route finalized them.
type outcome struct {
	rt         trace.Routing
	vcluster   string
	reqH, resH headers
}

// Run runs one test: every assertion the test makes, in router_check_tool's
// order, each failure worded as the tool words it.
func (c *Checker) Run(t Test) Result {
	req := Request(t.Input)
	o := c.route(t.Input, req)
	res := Result{Name: t.Name}
	if vh := o.rt.VirtualHost; vh != nil && o.rt.Forwards() {
		res.VirtualHost = vh.Name
	}
	if r := o.rt.Route; r != nil {
		res.Route = r.Name
		c.hit[r] = true
	}
	v := t.Validate
	fail := func(f Failure) { res.Failures = append(res.Failures, f) }
	compare := func(want *string, got, testType string) {
		if want != nil && *want != got {
			fail(mismatch(*want, got, testType, true))
		}
	}
	forwards, answers := o.rt.Forwards(), o.rt.Answers()
	pick := func(cond bool, s string) string {
		if cond {
			return s
		}
		return ""
	}
	compare(v.ClusterName, pick(forwards, o.rt.Cluster), "cluster_name")
	compare(v.VirtualClusterName, pick(forwards, o.vcluster), "virtual_cluster_name")
	vhName := ""
	if o.rt.VirtualHost != nil {
		vhName = o.rt.VirtualHost.Name
	}
	compare(v.VirtualHostName, pick(forwards, vhName), "virtual_host_name")
	compare(v.PathRewrite, pick(forwards, o.reqH.first(":path")), "path_rewrite")
	compare(v.HostRewrite, pick(forwards, o.reqH.first(":authority")), "host_rewrite")
	compare(v.PathRedirect, pick(answers, c.newURI(o, req)), "path_redirect")
	if v.CodeRedirect != nil {
		got := uint32(0)
		if answers {
			got = o.rt.Status
		}
		if got != *v.CodeRedirect {
			fail(mismatch(strconv.Itoa(int(*v.CodeRedirect)), strconv.Itoa(int(got)), "code_redirect", true))
		}
	}
	for _, m := range v.RequestHeaderMatches {
		if f, ok := matchHeader(m, o.reqH, "request_header_matches"); !ok {
			fail(f)
		}
	}
	for _, h := range v.RequestHeaderFields {
		if got := o.reqH.first(h.Key); got != h.Value {
			fail(mismatch(h.Value, got, "request_header_fields", true))
		}
	}
	for _, m := range v.ResponseHeaderMatches {
		if f, ok := matchHeader(m, o.resH, "response_header_matches"); !ok {
			fail(f)
		}
	}
	for _, h := range v.ResponseHeaderFields {
		if got := o.resH.first(h.Key); got != h.Value {
			fail(mismatch(h.Value, got, "response_header_fields", true))
		}
	}
	if v.Timeout != nil {
		got := int64(0)
		if forwards {
			got = trace.RouteTimeout(o.rt.Route).Milliseconds()
		}
		if want := v.Timeout.Milliseconds(); got != want {
			fail(mismatch(strconv.FormatInt(want, 10), strconv.FormatInt(got, 10), "timeout", true))
		}
	}
	res.Passed = len(res.Failures) == 0
	return res
}

// Vacuous tells whether a test asserts nothing (Envoy's tool passes it).
func Vacuous(t Test) bool { return t.Validate.empty() }

// mismatch is router_check_tool's failure line for a compared value:
// "expected: [E], actual: [A], test type: T", with NOT when the values were
// expected to differ.
func mismatch(want, got, testType string, expectMatch bool) Failure {
	not := ""
	if !expectMatch {
		not = "NOT "
	}
	return Failure{Line: fmt.Sprintf("expected: [%s], actual: %s[%s], test type: %s", want, not, got, testType),
		TestType: testType, Expected: want, Actual: not + got}
}

// route runs the router on the request and finalizes the headers as the
// tool does: for a forwarding route, the rewrites and headers to add; for a
// redirect or direct response, the local reply's headers.
func (c *Checker) route(in Input, req trace.Request) outcome {
	rt, _ := trace.Route(c.rc, req)
	o := outcome{rt: rt, reqH: headers{}, resH: headers{}}
	o.reqH.add(":authority", in.Authority)
	o.reqH.add(":path", in.Path)
	o.reqH.add(":method", in.Method)
	for k, vs := range req.Headers {
		o.reqH[k] = append([]string(nil), vs...)
	}
	if in.SSL {
		o.reqH.add(":scheme", "https")
	} else {
		o.reqH.add(":scheme", "http")
	}
	for _, h := range in.ResponseHeaders {
		o.resH.add(h.Key, h.Value)
	}
	vh, r := rt.VirtualHost, rt.Route
	switch {
	case rt.Forwards():
		if rt.Path != in.Path {
			o.reqH[":path"] = []string{rt.Path}
			o.reqH["x-envoy-original-path"] = []string{in.Path}
		}
		o.reqH[":authority"] = []string{rt.Host}
		vreq := req
		vreq.Path, vreq.Host = rt.Path, rt.Host
		o.vcluster = c.virtualCluster(vh, vreq)
		addHeaders(o.reqH, r.Raw.Get("request_headers_to_add"), c.vhRaw(vh).Get("request_headers_to_add"), c.rc.Raw.Get("request_headers_to_add"))
		addHeaders(o.resH, r.Raw.Get("response_headers_to_add"), c.vhRaw(vh).Get("response_headers_to_add"), c.rc.Raw.Get("response_headers_to_add"))
	case rt.Answers() && r != nil:
		o.resH[":status"] = []string{strconv.Itoa(int(rt.Status))}
		if r.Action.Kind == xds.ActDirectResponse {
			if body := r.Raw.Get("direct_response", "body"); body.Exists() {
				text := body.Get("inline_string").Str()
				if text == "" {
					text = body.Get("inline_bytes").Str()
				}
				if text != "" {
					o.resH["content-length"] = []string{strconv.Itoa(len(text))}
					o.resH["content-type"] = []string{"text/plain"}
				}
			}
		}
		addHeaders(o.resH, r.Raw.Get("response_headers_to_add"), c.vhRaw(vh).Get("response_headers_to_add"), c.rc.Raw.Get("response_headers_to_add"))
	}
	return o
}

// newURI is the URI a direct response entry gives: a redirect's Location,
// or for a direct response the request's own URI.
func (c *Checker) newURI(o outcome, req trace.Request) string {
	if o.rt.Location != "" {
		return o.rt.Location
	}
	scheme := "http"
	if req.TLS != "plaintext" {
		scheme = "https"
	}
	return scheme + "://" + req.Host + req.Path
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
// match the finalized request; "other" when the virtual host has some and
// none matches (Envoy's catch-all), "" when it has none.
func (c *Checker) virtualCluster(vh *xds.VirtualHost, req trace.Request) string {
	h, ok := c.hosts[vh.Name]
	if !ok || h.vclusters == nil {
		return ""
	}
	req.Host = "*"
	if rt, _ := trace.Route(h.vclusters, req); rt.Route != nil {
		return rt.Route.Name
	}
	return "other"
}

// addHeaders applies headers_to_add lists, most specific first: a header
// already set is kept unless the entry appends. The downstream address a
// value may name is router_check's, 127.0.0.1.
func addHeaders(h headers, lists ...jsonscan.Value) {
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

// matchHeader runs one HeaderMatcher of a test on headers with the router's
// matcher (trace.MatchHeader), and words a failure as router_check_tool
// does: presence as has(name):bool, an exact string match as expected and
// actual (NOT when inverted), any other matcher as the actual value alone.
// A header's value in a line is its first value, NULL when absent.
func matchHeader(m *routev3.HeaderMatcher, h headers, field string) (Failure, bool) {
	vs, present := h[strings.ToLower(m.GetName())]
	if trace.MatchHeader(m, vs, present) {
		return Failure{}, true
	}
	testType := field + "." + matcherKind(m)
	actual := "NULL"
	if len(vs) > 0 {
		actual = vs[0]
	}
	switch s := m.HeaderMatchSpecifier.(type) {
	case *routev3.HeaderMatcher_PresentMatch, nil:
		got := fmt.Sprintf("has(%s):%t", m.GetName(), m.GetInvertMatch())
		want := fmt.Sprintf("has(%s):%t", m.GetName(), !m.GetInvertMatch())
		return mismatch(want, got, testType, true), false
	case *routev3.HeaderMatcher_StringMatch:
		if exact, ok := s.StringMatch.GetMatchPattern().(*matcherv3.StringMatcher_Exact); ok {
			return mismatch(m.GetName()+": "+exact.Exact, m.GetName()+": "+actual, testType, !m.GetInvertMatch()), false
		}
	}
	line := fmt.Sprintf("actual: [%s: %s], test type: %s", m.GetName(), actual, testType)
	return Failure{Line: line, TestType: testType, Actual: m.GetName() + ": " + actual}, false
}

// matcherKind names a HeaderMatcher's kind as router_check_tool does.
func matcherKind(m *routev3.HeaderMatcher) string {
	switch s := m.HeaderMatchSpecifier.(type) {
	case *routev3.HeaderMatcher_ExactMatch:
		return "exact_match"
	case *routev3.HeaderMatcher_SafeRegexMatch:
		return "safe_regex_match"
	case *routev3.HeaderMatcher_RangeMatch:
		return "range_match"
	case *routev3.HeaderMatcher_PrefixMatch:
		return "prefix_match"
	case *routev3.HeaderMatcher_SuffixMatch:
		return "suffix_match"
	case *routev3.HeaderMatcher_ContainsMatch:
		return "contains_match"
	case *routev3.HeaderMatcher_StringMatch:
		switch s.StringMatch.GetMatchPattern().(type) {
		case *matcherv3.StringMatcher_Exact:
			return "string_match.exact"
		case *matcherv3.StringMatcher_Prefix:
			return "string_match.prefix"
		case *matcherv3.StringMatcher_Suffix:
			return "string_match.suffix"
		case *matcherv3.StringMatcher_SafeRegex:
			return "string_match.safe_regex"
		case *matcherv3.StringMatcher_Contains:
			return "string_match.contains"
		}
		return "string_match.match_pattern_not_set"
	}
	return "present_match"
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
