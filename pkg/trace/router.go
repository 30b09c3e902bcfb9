package trace

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// Routing is what Envoy's router decides for one request against one route
// configuration: the virtual host and route, and what the route does with
// the request. trace follows it on to the cluster; route-check compares it
// with a test's expectations. Both get it from Route, so they cannot
// disagree.
type Routing struct {
	VirtualHost *xds.VirtualHost // nil: no virtual host takes the Host
	Route       *xds.Route       // nil: no route matches (or require_tls redirects)
	// TLSRedirect: the virtual host's require_tls answers a plaintext request
	// with a redirect to https (no route is consulted).
	TLSRedirect bool
	// Cluster is the upstream cluster the route picks: its cluster, the one a
	// request header names (cluster_header), or the weighted cluster the
	// random value picks. "" when the route does not forward, the header is
	// absent, or a split has no random value to pick with (Picked is false).
	Cluster string
	Picked  bool
	// Path and Host are :path and :authority after the route's rewrites
	// (prefix_rewrite, regex_rewrite, host_rewrite_literal, host_rewrite_header).
	Path, Host string
	// Location and Status are the answer of a redirect (Location set) or a
	// direct response (Status only).
	Location string
	Status   uint32
}

// Forwards tells whether the route forwards the request upstream (Envoy's
// "route entry"; redirects and direct responses have none).
func (r *Routing) Forwards() bool {
	if r.Route == nil || r.TLSRedirect {
		return false
	}
	switch r.Route.Action.Kind {
	case xds.ActRedirect, xds.ActDirectResponse, xds.ActNone:
		return false
	}
	return true
}

// Answers tells whether Envoy answers the request itself (a redirect or a
// direct response: Envoy's "direct response entry").
func (r *Routing) Answers() bool {
	if r.TLSRedirect {
		return true
	}
	if r.Route == nil {
		return false
	}
	k := r.Route.Action.Kind
	return k == xds.ActRedirect || k == xds.ActDirectResponse
}

// Route runs Envoy's router for req on rc. The hop records each decision
// and the near misses.
func Route(rc *xds.RouteConfig, req Request) (Routing, *Hop) {
	t := &tracer{req: req, hop: &Hop{Notes: []string{}, Rejected: []Rejection{}, Steps: []Step{}}}
	return t.routing(rc, jsonscan.Value{}), t.hop
}

// routing picks the virtual host and route and works out the action.
func (t *tracer) routing(rc *xds.RouteConfig, hcm jsonscan.Value) Routing {
	out := Routing{Path: t.req.Path, Host: t.req.Host}
	vh := t.virtualHost(rc, hcm)
	if vh == nil {
		return out
	}
	out.VirtualHost = vh
	if t.tlsRedirect(vh) {
		out.TLSRedirect, out.Location, out.Status = true, "https://"+t.req.Host+t.req.Path, 301
		return out
	}
	r := t.route(vh)
	if r == nil {
		return out
	}
	out.Route = r
	a := r.Action
	switch a.Kind {
	case xds.ActCluster:
		out.Cluster, out.Picked = a.Cluster, true
	case xds.ActClusterHeader:
		out.Cluster, out.Picked = t.header(a.ClusterHeader), true
	case xds.ActWeighted:
		if i := pickWeighted(a.Weighted, a.TotalWeight, t.req.Random); i >= 0 {
			out.Cluster, out.Picked = a.Weighted[i].Name, true
		}
	case xds.ActRedirect:
		out.Location, out.Status = RedirectURL(t.req, a.Redirect, r), RedirectCode(a.Redirect.Code)
		return out
	case xds.ActDirectResponse:
		out.Status = a.Status
		return out
	}
	out.Path = RewritePath(t.req.Path, r)
	out.Host = t.rewriteHost(a.HostRewrite)
	return out
}

// pickWeighted is the index of the weighted cluster a random value picks,
// as Envoy does: the value modulo the total weight, walking the clusters in
// order; -1 without a random value or weights.
func pickWeighted(ws []xds.WeightedCluster, total uint32, random *uint64) int {
	if total == 0 {
		for _, w := range ws {
			total += w.Weight
		}
	}
	// One cluster with all the weight needs no draw.
	only := -1
	for i, w := range ws {
		if w.Weight > 0 {
			if only >= 0 {
				only = -2
				break
			}
			only = i
		}
	}
	if only >= 0 && ws[only].Weight == total {
		return only
	}
	if random == nil || total == 0 {
		return -1
	}
	v, acc := uint32(*random%uint64(total)), uint32(0)
	for i, w := range ws {
		acc += w.Weight
		if v < acc {
			return i
		}
	}
	return -1
}

// RewritePath applies a forwarding route's prefix_rewrite or regex_rewrite
// to a :path (the query string is kept and never rewritten by a regex).
func RewritePath(path string, r *xds.Route) string {
	a := r.Action
	switch {
	case a.PrefixRewrite != "":
		switch p := r.Match.PathSpecifier.(type) {
		case *routev3.RouteMatch_Prefix:
			if len(path) >= len(p.Prefix) {
				return a.PrefixRewrite + path[len(p.Prefix):]
			}
		case *routev3.RouteMatch_PathSeparatedPrefix:
			if len(path) >= len(p.PathSeparatedPrefix) {
				return a.PrefixRewrite + path[len(p.PathSeparatedPrefix):]
			}
		case *routev3.RouteMatch_Path:
			if _, q, ok := strings.Cut(path, "?"); ok {
				return a.PrefixRewrite + "?" + q
			}
			return a.PrefixRewrite
		}
	case a.RegexRewrite != "":
		re, err := compile(r.Raw.Get("route", "regex_rewrite", "pattern", "regex").Str(), false)
		if err != nil {
			return path
		}
		p, q, hasQ := strings.Cut(path, "?")
		p = re.ReplaceAllString(p, substitution(a.RegexRewrite))
		if hasQ {
			return p + "?" + q
		}
		return p
	}
	return path
}

var backref = regexp.MustCompile(`\\(\d)`)

// substitution turns RE2's \1 in Envoy's substitution into Go's ${1}.
func substitution(s string) string {
	return backref.ReplaceAllString(strings.ReplaceAll(s, "$", "$$"), "$${$1}")
}

// rewriteHost is :authority after host_rewrite_literal or
// host_rewrite_header (when the request carries that header). An automatic
// rewrite to the upstream host is not known before the endpoint is.
func (t *tracer) rewriteHost(rewrite string) string {
	switch {
	case rewrite == "", strings.HasPrefix(rewrite, "auto"):
		return t.req.Host
	case strings.HasPrefix(rewrite, "from header "):
		if v := t.header(strings.TrimPrefix(rewrite, "from header ")); v != "" {
			return v
		}
		return t.req.Host
	}
	return rewrite
}

// RouteTimeout is a forwarding route's timeout as Envoy applies it: the
// route's timeout, 15 s when it sets none, 0 when it disables it (0s).
func RouteTimeout(r *xds.Route) time.Duration {
	raw := r.Raw.Get("route", "timeout")
	switch raw.Kind() {
	case jsonscan.String:
		if d, err := time.ParseDuration(raw.Str()); err == nil {
			return d
		}
	case jsonscan.Object:
		secs, _ := strconv.ParseInt(raw.Get("seconds").Str(), 10, 64)
		nanos, _ := strconv.ParseInt(raw.Get("nanos").Str(), 10, 64)
		return time.Duration(secs)*time.Second + time.Duration(nanos)
	}
	return 15 * time.Second
}

// regexes holds compiled patterns: route tables repeat them, and a trace or
// a route-check run matches the same table many times.
var regexes sync.Map // "a"/"p" + pattern -> *regexp.Regexp or error

// compile compiles an RE2 pattern once; anchored requires the whole input
// to match, as Envoy's safe_regex matchers do.
func compile(pattern string, anchored bool) (*regexp.Regexp, error) {
	key := "p" + pattern
	if anchored {
		key = "a" + pattern
	}
	if v, ok := regexes.Load(key); ok {
		if re, ok := v.(*regexp.Regexp); ok {
			return re, nil
		}
		return nil, v.(error)
	}
	expr := pattern
	if anchored {
		expr = "^(?:" + pattern + ")$"
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		regexes.Store(key, err)
		return nil, err
	}
	regexes.Store(key, re)
	return re, nil
}

// MatchHeader evaluates a HeaderMatcher on a header's values (joined by
// commas, as Envoy matches several) as Envoy's HeaderUtility does: an
// absent header matches nothing, inverted or not, unless the matcher is a
// presence check or treats it as empty; an exact match on "" matches any
// value.
func MatchHeader(m *routev3.HeaderMatcher, values []string, present bool) bool {
	value := strings.Join(values, ",")
	if _, presence := m.HeaderMatchSpecifier.(*routev3.HeaderMatcher_PresentMatch); presence || m.HeaderMatchSpecifier == nil {
		want := m.GetPresentMatch() || m.HeaderMatchSpecifier == nil
		return (present == want) != m.GetInvertMatch()
	}
	if !present {
		if !m.GetTreatMissingHeaderAsEmpty() {
			return false
		}
		value = ""
	}
	var ok bool
	switch s := m.HeaderMatchSpecifier.(type) {
	case *routev3.HeaderMatcher_ExactMatch:
		ok = s.ExactMatch == "" || value == s.ExactMatch
	case *routev3.HeaderMatcher_SafeRegexMatch:
		re, err := compile(s.SafeRegexMatch.GetRegex(), true)
		ok = err == nil && re.MatchString(value)
	case *routev3.HeaderMatcher_RangeMatch:
		n, err := strconv.ParseInt(value, 10, 64)
		ok = err == nil && n >= s.RangeMatch.GetStart() && n < s.RangeMatch.GetEnd()
	case *routev3.HeaderMatcher_PrefixMatch:
		ok = strings.HasPrefix(value, s.PrefixMatch)
	case *routev3.HeaderMatcher_SuffixMatch:
		ok = strings.HasSuffix(value, s.SuffixMatch)
	case *routev3.HeaderMatcher_ContainsMatch:
		ok = strings.Contains(value, s.ContainsMatch)
	case *routev3.HeaderMatcher_StringMatch:
		ok = stringMatches(s.StringMatch, value)
	}
	return ok != m.GetInvertMatch()
}
