package xds

import (
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
)

// RouteConfig is a route configuration (RDS resource, or inline in a listener).
type RouteConfig struct {
	Name         string
	State        envoyadmin.State
	Version      string
	LastUpdated  string
	Error        string
	VirtualHosts []*VirtualHost
	// InlineIn names the listener an inline route configuration belongs to.
	InlineIn string
	// Entry is the dump entry holding the configuration: for an inline one,
	// its listener's. Raw is the configuration's own JSON.
	Entry envoyadmin.Entry
	Raw   jsonscan.Value
}

// VirtualHost is a virtual host: the domains it serves and its ordered routes.
type VirtualHost struct {
	Name       string
	Domains    []string
	RequireTLS string // NONE, EXTERNAL_ONLY, ALL
	Routes     []*Route
}

// Route is one route: its match, decoded into Envoy's type, and its action.
type Route struct {
	Name       string
	Match      *routev3.RouteMatch
	MatchError string
	Action     Action
	// VirtualService is the Istio VirtualService that produced the route, as name.namespace.
	VirtualService string
	Raw            jsonscan.Value
}

// ActionKind says what a route does with a matching request.
type ActionKind uint8

const (
	ActNone           ActionKind = iota
	ActCluster                   // forward to one cluster
	ActClusterHeader             // forward to the cluster a request header names
	ActWeighted                  // split between clusters by weight
	ActClusterPlugin             // a cluster specifier plugin decides
	ActRedirect                  // answer with a redirect
	ActDirectResponse            // answer directly
	ActNonForwarding             // handled by a filter, not forwarded
)

// Action is a route's action, with the rewrites it applies.
type Action struct {
	Kind          ActionKind
	Cluster       string
	ClusterHeader string
	Weighted      []WeightedCluster
	TotalWeight   uint32
	Redirect      *Redirect
	Status        uint32 // direct response status
	PrefixRewrite string
	RegexRewrite  string
	HostRewrite   string
	Timeout       string
}

// Redirect is a redirect action's parts; empty parts keep the request's.
type Redirect struct {
	Scheme, Host, Path, PrefixRewrite string
	Port                              uint32
	Code                              string
	StripQuery                        bool
}

func decodeRouteConfigEntry(e envoyadmin.Entry, o *Opaque) *RouteConfig {
	rc := decodeRouteConfigResource(e.Resource, o)
	rc.State, rc.Version, rc.LastUpdated, rc.Error, rc.Entry = e.State, e.Version, e.LastUpdated, e.Error, e
	if rc.Name == "" {
		rc.Name = e.Name
	}
	return rc
}

func decodeRouteConfigResource(r jsonscan.Value, o *Opaque) *RouteConfig {
	f := r.Pick("name", "virtual_hosts")
	rc := &RouteConfig{Name: f[0].Str(), Raw: r}
	_ = f[1].Items(func(_ int, vh jsonscan.Value) bool {
		rc.VirtualHosts = append(rc.VirtualHosts, decodeVirtualHost(vh, o))
		return true
	})
	return rc
}

func decodeVirtualHost(v jsonscan.Value, o *Opaque) *VirtualHost {
	f := v.Pick("name", "domains", "require_tls", "routes")
	vh := &VirtualHost{Name: f[0].Str(), Domains: f[1].Strings(), RequireTLS: f[2].Str()}
	_ = f[3].Items(func(_ int, r jsonscan.Value) bool {
		vh.Routes = append(vh.Routes, decodeRoute(r, o))
		return true
	})
	return vh
}

func decodeRoute(v jsonscan.Value, o *Opaque) *Route {
	f := v.Pick("name", "match", "metadata", "route", "redirect", "direct_response", "non_forwarding_action", "filter_action")
	r := &Route{Name: f[0].Str(), Raw: v}
	if m, ok := fastMatch(f[1]); ok {
		r.Match = m
	} else {
		r.Match = &routev3.RouteMatch{}
		if err := decodeInto(f[1], r.Match); err != nil {
			r.MatchError = err.Error()
		}
	}
	upgradeV2Match(f[1], r.Match)
	r.VirtualService = istioConfigName(f[2].Get("filter_metadata", "istio", "config").Str())
	r.Action = decodeAction(f[3], f[4], f[5], f[6].Exists() || f[7].Exists())
	return r
}

// upgradeV2Match carries the regex fields v2 had and v3 removed into their
// v3 form, so a legacy dump is matched as the Envoy of its day did.
func upgradeV2Match(raw jsonscan.Value, m *routev3.RouteMatch) {
	if re := raw.Get("regex"); re.Kind() == jsonscan.String && m.PathSpecifier == nil {
		m.PathSpecifier = &routev3.RouteMatch_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: re.Str()}}
	}
	_ = raw.Get("headers").Items(func(i int, h jsonscan.Value) bool {
		if re := h.Get("regex_match"); re.Kind() == jsonscan.String && i < len(m.Headers) && m.Headers[i].HeaderMatchSpecifier == nil {
			m.Headers[i].HeaderMatchSpecifier = &routev3.HeaderMatcher_StringMatch{StringMatch: &matcherv3.StringMatcher{
				MatchPattern: &matcherv3.StringMatcher_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: re.Str()}}}}
		}
		return true
	})
}

// istioConfigName turns Istio's config path
// "/apis/networking.istio.io/v1alpha3/namespaces/default/virtual-service/reviews"
// into "reviews.default".
func istioConfigName(path string) string {
	if path == "" {
		return ""
	}
	parts := strings.Split(path, "/")
	if len(parts) >= 7 && parts[4] == "namespaces" {
		return parts[len(parts)-1] + "." + parts[5]
	}
	return path
}

func decodeAction(ra, rd, dr jsonscan.Value, nonForwarding bool) Action {
	if rd.Exists() {
		f := rd.Pick("port_redirect", "scheme_redirect", "host_redirect", "path_redirect", "prefix_rewrite", "response_code", "strip_query", "https_redirect")
		port, _ := f[0].Uint()
		red := &Redirect{
			Scheme: f[1].Str(), Host: f[2].Str(), Port: uint32(port), Path: f[3].Str(),
			PrefixRewrite: f[4].Str(), Code: f[5].Str(), StripQuery: f[6].Bool(),
		}
		if f[7].Bool() {
			red.Scheme = "https"
		}
		return Action{Kind: ActRedirect, Redirect: red}
	}
	if dr.Exists() {
		s, _ := dr.Get("status").Uint()
		return Action{Kind: ActDirectResponse, Status: uint32(s)}
	}
	if nonForwarding {
		return Action{Kind: ActNonForwarding}
	}
	if !ra.Exists() {
		return Action{}
	}
	f := ra.Pick("prefix_rewrite", "regex_rewrite", "host_rewrite_literal", "host_rewrite", "timeout",
		"cluster", "cluster_header", "weighted_clusters", "cluster_specifier_plugin", "inline_cluster_specifier_plugin",
		"host_rewrite_header", "auto_host_rewrite")
	a := Action{
		PrefixRewrite: f[0].Str(),
		RegexRewrite:  f[1].Get("substitution").Str(),
		HostRewrite:   firstNonEmpty(f[2].Str(), f[3].Str(), hostRewriteHeader(f[10], f[11])),
		Timeout:       f[4].Str(),
	}
	switch {
	case f[5].Exists():
		a.Kind, a.Cluster = ActCluster, f[5].Str()
	case f[6].Exists():
		a.Kind, a.ClusterHeader = ActClusterHeader, f[6].Str()
	case f[7].Exists():
		a.Kind = ActWeighted
		_ = f[7].Get("clusters").Items(func(_ int, c jsonscan.Value) bool {
			w, _ := c.Get("weight").Uint()
			a.Weighted = append(a.Weighted, WeightedCluster{Name: c.Get("name").Str(), Weight: uint32(w)})
			a.TotalWeight += uint32(w)
			return true
		})
		if t, ok := f[7].Get("total_weight").Uint(); ok {
			a.TotalWeight = uint32(t)
		}
	case f[8].Exists() || f[9].Exists():
		a.Kind = ActClusterPlugin
	}
	return a
}

func hostRewriteHeader(header, auto jsonscan.Value) string {
	if h := header.Str(); h != "" {
		return "from header " + h
	}
	if auto.Bool() {
		return "auto (upstream host)"
	}
	return ""
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
