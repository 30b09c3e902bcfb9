package trace

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// http follows the request through the chain's HTTP connection manager:
// the route the router picks, the HTTP filters before the router (which
// may end the request first), then the router's action.
func (t *tracer) http(fc *xds.FilterChain) {
	d := fc.Destination
	var rc *xds.RouteConfig
	switch d.Kind {
	case xds.DestInlineRoute:
		rc = d.Inline
		t.step("route_config", "(inline)", "the HTTP connection manager carries its route configuration inline")
	case xds.DestRDS:
		t.hop.RouteConfig = d.RouteConfig
		for _, r := range t.cfg.RouteConfigs() {
			if r.Name == d.RouteConfig && (r.State == "ACTIVE" || r.State == "STATIC" || r.State == "") {
				rc = r
			}
		}
		if rc == nil {
			t.note("route configuration %q (RDS) is not in the proxy's config: Envoy answers 404 until it arrives", d.RouteConfig)
		} else {
			t.step("route_config", rc.Name, "the HTTP connection manager takes its routes from RDS %q", rc.Name)
		}
	default:
		t.note("the HTTP connection manager uses scoped routes or no route source: not followed further")
	}
	var rt Routing
	if rc != nil {
		rt = t.routing(rc, d.HCM)
	}
	if !t.httpFilters(d, rc, rt) {
		return
	}
	switch {
	case rt.VirtualHost == nil && rc != nil:
		t.fail(NoVirtualHost, "NR", 404)
		return
	case rt.VirtualHost == nil:
		t.fail(NoRoute, "NR", 404)
		return
	}
	t.hop.VirtualHost = rt.VirtualHost.Name
	if rt.TLSRedirect {
		t.hop.Result, t.hop.Status, t.hop.Location = Redirect, rt.Status, rt.Location
		return
	}
	if rt.Route == nil {
		t.fail(NoRoute, "NR", 404)
		return
	}
	t.hop.Route = rt.Route.Name
	t.action(rt)
}

// tlsRedirect tells whether the virtual host's require_tls redirects the
// request: a plaintext one (an external one, for EXTERNAL_ONLY) goes to https.
func (t *tracer) tlsRedirect(vh *xds.VirtualHost) bool {
	if t.req.TLS != "plaintext" || !(vh.RequireTLS == "ALL" || (vh.RequireTLS == "EXTERNAL_ONLY" && !t.req.Internal)) {
		return false
	}
	t.note("virtual host %s requires TLS (%s): Envoy redirects the plaintext request to https", vh.Name, vh.RequireTLS)
	return true
}

// virtualHost picks the virtual host by the Host header as Envoy does:
// an exact domain, then the longest suffix wildcard ("*.example.com"),
// then the longest prefix wildcard ("example.*"), then "*".
func (t *tracer) virtualHost(rc *xds.RouteConfig, hcm jsonscan.Value) *xds.VirtualHost {
	host := strings.ToLower(t.req.Host)
	if host == "" {
		t.note("the request has no Host header: only a \"*\" virtual host can take it")
	}
	if rc.Raw.Get("ignore_port_in_host_matching").Bool() || hcm.Get("strip_any_host_port").Bool() {
		if stripped := stripPort(host); stripped != host {
			host = stripped
			t.note("the port is dropped from the Host header before virtual host matching (ignore_port_in_host_matching or strip_any_host_port)")
		}
	} else if hcm.Get("strip_matching_host_port").Bool() && strings.HasSuffix(host, ":"+strconv.Itoa(int(t.req.Port))) {
		host = stripPort(host)
	}
	type cand struct {
		vh    *xds.VirtualHost
		rank  int // 4 exact, 3 suffix wildcard, 2 prefix wildcard, 1 "*"
		len   int
		match string
	}
	var best *cand
	for _, vh := range rc.VirtualHosts {
		for _, d := range vh.Domains {
			d = strings.ToLower(d)
			c := cand{vh: vh, match: d}
			switch {
			case d == host:
				c.rank = 4
			case d == "*":
				c.rank = 1
			case strings.HasPrefix(d, "*") && len(host) >= len(d) && strings.HasSuffix(host, d[1:]):
				c.rank, c.len = 3, len(d)
			case strings.HasSuffix(d, "*") && len(host) >= len(d) && strings.HasPrefix(host, d[:len(d)-1]):
				c.rank, c.len = 2, len(d)
			default:
				continue
			}
			if best == nil || c.rank > best.rank || (c.rank == best.rank && c.len > best.len) {
				cc := c
				best = &cc
			}
		}
	}
	if best == nil {
		t.note("no virtual host of %s has a domain matching Host %q (%d virtual hosts): Envoy answers 404", dash(rc.Name), host, len(rc.VirtualHosts))
		return nil
	}
	kinds := map[int]string{4: "exactly", 3: "by the suffix wildcard", 2: "by the prefix wildcard", 1: "only by the catch-all"}
	t.step("virtual_host", best.vh.Name, "domain %q matches Host %q %s", best.match, host, kinds[best.rank])
	return best.vh
}

// stripPort drops the port of a Host header as Envoy does: an IPv6
// literal keeps its brackets ("[fd00::1]:80" is "[fd00::1]").
func stripPort(host string) string {
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		return host
	}
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

// route walks the virtual host's routes in order: the first whose every
// criterion matches wins.
func (t *tracer) route(vh *xds.VirtualHost) *xds.Route {
	for i, r := range vh.Routes {
		name := r.Name
		if name == "" {
			name = fmt.Sprintf("#%d", i)
		}
		if r.MatchError != "" {
			t.reject("route", name, "its match could not be read: %s", r.MatchError)
			continue
		}
		if ok, why := t.routeMatches(r.Match); !ok {
			t.reject("route", name, "%s", why)
			continue
		} else {
			t.step("route", name, "the first route of %s that matches: %s", vh.Name, why)
		}
		return r
	}
	t.note("no route of virtual host %s matches %s %s: Envoy answers 404", vh.Name, dash(t.req.Method), t.req.Path)
	return nil
}

// routeMatches evaluates a RouteMatch against the request.
func (t *tracer) routeMatches(m *routev3.RouteMatch) (bool, string) {
	if m == nil {
		return false, "no match"
	}
	path := t.req.Path
	if path == "" {
		path = "/"
	}
	pathOnly, query, _ := strings.Cut(path, "?")
	caseSensitive := m.GetCaseSensitive() == nil || m.GetCaseSensitive().GetValue()
	fold := func(s string) string {
		if caseSensitive {
			return s
		}
		return strings.ToLower(s)
	}
	var why []string
	switch p := m.PathSpecifier.(type) {
	case *routev3.RouteMatch_Prefix:
		if !strings.HasPrefix(fold(path), fold(p.Prefix)) {
			return false, fmt.Sprintf("path %s does not start with %s", path, p.Prefix)
		}
		why = append(why, "prefix "+p.Prefix)
	case *routev3.RouteMatch_Path:
		if fold(pathOnly) != fold(p.Path) {
			return false, fmt.Sprintf("path %s is not %s", pathOnly, p.Path)
		}
		why = append(why, "path "+p.Path)
	case *routev3.RouteMatch_SafeRegex:
		re, err := compile(p.SafeRegex.GetRegex(), true)
		if err != nil {
			return false, fmt.Sprintf("regex %q is not RE2: Envoy would reject it", p.SafeRegex.GetRegex())
		}
		if !re.MatchString(pathOnly) {
			return false, fmt.Sprintf("path %s does not match regex %s (the whole path must match)", pathOnly, p.SafeRegex.GetRegex())
		}
		why = append(why, "regex "+p.SafeRegex.GetRegex())
	case *routev3.RouteMatch_PathSeparatedPrefix:
		pp := p.PathSeparatedPrefix
		fp := fold(pathOnly)
		if !(fp == fold(pp) || strings.HasPrefix(fp, fold(pp)+"/")) {
			return false, fmt.Sprintf("path %s is not %s nor under %s/", pathOnly, pp, pp)
		}
		why = append(why, "path-separated prefix "+pp)
	case *routev3.RouteMatch_ConnectMatcher_:
		if t.req.Method != "CONNECT" {
			return false, "a CONNECT route and the request is not CONNECT"
		}
		why = append(why, "CONNECT")
	case *routev3.RouteMatch_PathMatchPolicy:
		tmpl := uriTemplate(p.PathMatchPolicy.GetTypedConfig())
		if tmpl == "" {
			return false, "a path match policy this trace cannot read"
		}
		if !templateMatches(tmpl, pathOnly) {
			return false, fmt.Sprintf("path %s does not fit the template %s", pathOnly, tmpl)
		}
		why = append(why, "template "+tmpl)
	default:
		return false, "a path match this trace does not know"
	}
	for _, h := range m.GetHeaders() {
		ok, desc := t.headerMatches(h)
		if !ok {
			return false, desc
		}
		why = append(why, desc)
	}
	params, _ := url.ParseQuery(query)
	for _, q := range m.GetQueryParameters() {
		vals, present := params[q.GetName()]
		switch {
		case q.GetPresentMatch():
			if !present {
				return false, fmt.Sprintf("query parameter %s is absent", q.GetName())
			}
		case q.GetStringMatch() != nil:
			if !present || !stringMatches(q.GetStringMatch(), vals[0]) {
				return false, fmt.Sprintf("query parameter %s=%s does not match %s", q.GetName(), strings.Join(vals, ","), describeString(q.GetStringMatch()))
			}
		}
		why = append(why, "query "+q.GetName())
	}
	if m.GetGrpc() != nil {
		if !strings.HasPrefix(t.header("content-type"), "application/grpc") {
			return false, "a gRPC-only route and the request's content-type is not application/grpc"
		}
		why = append(why, "gRPC")
	}
	if tc := m.GetTlsContext(); tc != nil {
		if tc.GetPresented() != nil && tc.GetPresented().GetValue() != (t.req.TLS == "mtls") {
			return false, "matches on whether a client certificate was presented"
		}
	}
	if rf := m.GetRuntimeFraction(); rf != nil {
		num := rf.GetDefaultValue().GetNumerator()
		den := denominator(rf.GetDefaultValue().GetDenominator().String())
		if active := t.req.ActiveRuntime; active != nil {
			if *active != rf.GetRuntimeKey() {
				return false, fmt.Sprintf("runtime key %q is not enabled (the test enables %q)", rf.GetRuntimeKey(), *active)
			}
			num = max(num, 1)
		}
		v := uint64(0)
		if t.req.Random != nil {
			v = *t.req.Random
		} else {
			t.note("a route matches only a fraction of requests (runtime key %q, default %d/%d): taken with random value 0; pass --random-value to choose, and the runtime may override the default", rf.GetRuntimeKey(), num, den)
		}
		if v%den >= uint64(num) {
			return false, fmt.Sprintf("runtime fraction %d/%d does not take random value %d", num, den, v)
		}
		why = append(why, fmt.Sprintf("runtime fraction %d/%d", num, den))
	}
	for _, dm := range m.GetDynamicMetadata() {
		if t.req.DynamicMetadata == nil {
			return false, "matches on dynamic metadata set by filters at run time, which a config dump does not hold: taken not to match"
		}
		if !metadataMatches(dm, t.req.DynamicMetadata) {
			return false, fmt.Sprintf("dynamic metadata %s does not match", dm.GetFilter())
		}
		why = append(why, "dynamic metadata "+dm.GetFilter())
	}
	if len(m.GetFilterState()) > 0 {
		return false, "matches on filter state set at run time, which a config dump does not hold: taken not to match"
	}
	return true, strings.Join(why, ", ")
}

func denominator(d string) uint64 {
	switch d {
	case "TEN_THOUSAND":
		return 10000
	case "MILLION":
		return 1000000
	}
	return 100
}

// header is a request header's first value, pseudo-headers included.
func (t *tracer) header(name string) string {
	vs, _ := t.headerValues(name)
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

func (t *tracer) headerValues(name string) ([]string, bool) {
	switch strings.ToLower(name) {
	case ":authority", "host":
		return []string{t.req.Host}, t.req.Host != ""
	case ":method":
		return []string{t.req.Method}, t.req.Method != ""
	case ":path":
		return []string{t.req.Path}, true
	case ":scheme":
		if t.req.TLS == "plaintext" {
			return []string{"http"}, true
		}
		return []string{"https"}, true
	case "content-type":
		if vs, ok := t.req.Headers["content-type"]; ok {
			return vs, true
		}
		if t.req.Protocol == "grpc" {
			return []string{"application/grpc"}, true
		}
		return nil, false
	}
	vs, ok := t.req.Headers[strings.ToLower(name)]
	return vs, ok
}

// headerMatches evaluates one HeaderMatcher (MatchHeader) and says why.
func (t *tracer) headerMatches(h *routev3.HeaderMatcher) (bool, string) {
	vs, present := t.headerValues(h.GetName())
	ok := MatchHeader(h, vs, present)
	desc := "header " + h.GetName() + " " + describeHeader(h)
	if !ok {
		shown := strings.Join(vs, ",")
		if !present {
			shown = "(absent)"
		}
		return false, fmt.Sprintf("%s, the request has %s", desc, shown)
	}
	return true, desc
}

// describeHeader words what a HeaderMatcher asks for.
func describeHeader(h *routev3.HeaderMatcher) string {
	var desc string
	switch s := h.HeaderMatchSpecifier.(type) {
	case *routev3.HeaderMatcher_ExactMatch:
		desc = "= " + s.ExactMatch
	case *routev3.HeaderMatcher_SafeRegexMatch:
		desc = "~ " + s.SafeRegexMatch.GetRegex()
	case *routev3.HeaderMatcher_RangeMatch:
		desc = fmt.Sprintf("in [%d,%d)", s.RangeMatch.GetStart(), s.RangeMatch.GetEnd())
	case *routev3.HeaderMatcher_PresentMatch:
		desc = "present"
		if !s.PresentMatch {
			desc = "absent"
		}
	case *routev3.HeaderMatcher_PrefixMatch:
		desc = "starts with " + s.PrefixMatch
	case *routev3.HeaderMatcher_SuffixMatch:
		desc = "ends with " + s.SuffixMatch
	case *routev3.HeaderMatcher_ContainsMatch:
		desc = "contains " + s.ContainsMatch
	case *routev3.HeaderMatcher_StringMatch:
		desc = describeString(s.StringMatch)
	default:
		desc = "present"
	}
	if h.GetInvertMatch() {
		desc = "not " + desc
	}
	if h.GetTreatMissingHeaderAsEmpty() {
		desc += " (absent taken as empty)"
	}
	return desc
}

// stringMatches evaluates an envoy.type.matcher.v3.StringMatcher.
func stringMatches(m *matcherv3.StringMatcher, v string) bool {
	cmp := func(a, b string) (string, string) {
		if m.GetIgnoreCase() {
			return strings.ToLower(a), strings.ToLower(b)
		}
		return a, b
	}
	switch p := m.MatchPattern.(type) {
	case *matcherv3.StringMatcher_Exact:
		a, b := cmp(v, p.Exact)
		return a == b
	case *matcherv3.StringMatcher_Prefix:
		a, b := cmp(v, p.Prefix)
		return strings.HasPrefix(a, b)
	case *matcherv3.StringMatcher_Suffix:
		a, b := cmp(v, p.Suffix)
		return strings.HasSuffix(a, b)
	case *matcherv3.StringMatcher_Contains:
		a, b := cmp(v, p.Contains)
		return strings.Contains(a, b)
	case *matcherv3.StringMatcher_SafeRegex:
		re, err := compile(p.SafeRegex.GetRegex(), true)
		return err == nil && re.MatchString(v)
	}
	return false
}

func describeString(m *matcherv3.StringMatcher) string {
	switch p := m.MatchPattern.(type) {
	case *matcherv3.StringMatcher_Exact:
		return "= " + p.Exact
	case *matcherv3.StringMatcher_Prefix:
		return "starts with " + p.Prefix
	case *matcherv3.StringMatcher_Suffix:
		return "ends with " + p.Suffix
	case *matcherv3.StringMatcher_Contains:
		return "contains " + p.Contains
	case *matcherv3.StringMatcher_SafeRegex:
		return "~ " + p.SafeRegex.GetRegex()
	}
	return "?"
}

// metadataMatches evaluates a MetadataMatcher against metadata by
// namespace (filter), following its key path.
func metadataMatches(m *matcherv3.MetadataMatcher, md map[string]any) bool {
	var v any = md[m.GetFilter()]
	for _, seg := range m.GetPath() {
		obj, ok := v.(map[string]any)
		if !ok {
			v = nil
			break
		}
		v = obj[seg.GetKey()]
	}
	ok := valueMatches(m.GetValue(), v)
	if m.GetInvert() {
		return !ok
	}
	return ok
}

func valueMatches(m *matcherv3.ValueMatcher, v any) bool {
	switch p := m.GetMatchPattern().(type) {
	case *matcherv3.ValueMatcher_NullMatch_:
		return v == nil
	case *matcherv3.ValueMatcher_PresentMatch:
		return (v != nil) == p.PresentMatch
	case *matcherv3.ValueMatcher_StringMatch:
		s, ok := v.(string)
		return ok && stringMatches(p.StringMatch, s)
	case *matcherv3.ValueMatcher_BoolMatch:
		b, ok := v.(bool)
		return ok && b == p.BoolMatch
	case *matcherv3.ValueMatcher_DoubleMatch:
		f, ok := v.(float64)
		if !ok {
			return false
		}
		switch d := p.DoubleMatch.GetMatchPattern().(type) {
		case *matcherv3.DoubleMatcher_Exact:
			return f == d.Exact
		case *matcherv3.DoubleMatcher_Range:
			return f >= d.Range.GetStart() && f < d.Range.GetEnd()
		}
	case *matcherv3.ValueMatcher_ListMatch:
		list, ok := v.([]any)
		if !ok {
			return false
		}
		for _, item := range list {
			if valueMatches(p.ListMatch.GetOneOf(), item) {
				return true
			}
		}
	case *matcherv3.ValueMatcher_OrMatch:
		for _, q := range p.OrMatch.GetValueMatchers() {
			if valueMatches(q, v) {
				return true
			}
		}
	}
	return false
}
