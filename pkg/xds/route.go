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
	Entry    envoyadmin.Entry
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
	rc := &RouteConfig{Name: r.Get("name").Str()}
	_ = r.Get("virtual_hosts").Items(func(_ int, vh jsonscan.Value) bool {
		rc.VirtualHosts = append(rc.VirtualHosts, decodeVirtualHost(vh, o))
		return true
	})
	return rc
}

func decodeVirtualHost(v jsonscan.Value, o *Opaque) *VirtualHost {
	vh := &VirtualHost{Name: v.Get("name").Str(), Domains: v.Get("domains").Strings(), RequireTLS: v.Get("require_tls").Str()}
	_ = v.Get("routes").Items(func(_ int, r jsonscan.Value) bool {
		vh.Routes = append(vh.Routes, decodeRoute(r, o))
		return true
	})
	return vh
}

func decodeRoute(v jsonscan.Value, o *Opaque) *Route {
	r := &Route{Name: v.Get("name").Str(), Match: &routev3.RouteMatch{}, Raw: v}
	m := v.Get("match")
	if err := decodeInto(m, r.Match); err != nil {
		r.MatchError = err.Error()
	}
	upgradeV2Match(m, r.Match)
	r.VirtualService = istioConfigName(v.Get("metadata", "filter_metadata", "istio", "config").Str())
	r.Action = decodeAction(v)
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
			m.Headers[i].HeaderMatchSpecifier = &routev3.HeaderMatcher_SafeRegexMatch{SafeRegexMatch: &matcherv3.RegexMatcher{Regex: re.Str()}}
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

func decodeAction(v jsonscan.Value) Action {
	if rd := v.Get("redirect"); rd.Exists() {
		port, _ := rd.Get("port_redirect").Uint()
		red := &Redirect{
			Scheme: rd.Get("scheme_redirect").Str(), Host: rd.Get("host_redirect").Str(), Port: uint32(port),
			Path: rd.Get("path_redirect").Str(), PrefixRewrite: rd.Get("prefix_rewrite").Str(),
			Code: rd.Get("response_code").Str(), StripQuery: rd.Get("strip_query").Bool(),
		}
		if rd.Get("https_redirect").Bool() {
			red.Scheme = "https"
		}
		return Action{Kind: ActRedirect, Redirect: red}
	}
	if dr := v.Get("direct_response"); dr.Exists() {
		s, _ := dr.Get("status").Uint()
		return Action{Kind: ActDirectResponse, Status: uint32(s)}
	}
	if v.Get("non_forwarding_action").Exists() || v.Get("filter_action").Exists() {
		return Action{Kind: ActNonForwarding}
	}
	ra := v.Get("route")
	if !ra.Exists() {
		return Action{}
	}
	a := Action{
		PrefixRewrite: ra.Get("prefix_rewrite").Str(),
		RegexRewrite:  ra.Get("regex_rewrite", "substitution").Str(),
		HostRewrite:   firstNonEmpty(ra.Get("host_rewrite_literal").Str(), ra.Get("host_rewrite").Str(), hostRewriteHeader(ra)),
		Timeout:       ra.Get("timeout").Str(),
	}
	switch {
	case ra.Get("cluster").Exists():
		a.Kind, a.Cluster = ActCluster, ra.Get("cluster").Str()
	case ra.Get("cluster_header").Exists():
		a.Kind, a.ClusterHeader = ActClusterHeader, ra.Get("cluster_header").Str()
	case ra.Get("weighted_clusters").Exists():
		a.Kind = ActWeighted
		wc := ra.Get("weighted_clusters")
		_ = wc.Get("clusters").Items(func(_ int, c jsonscan.Value) bool {
			w, _ := c.Get("weight").Uint()
			a.Weighted = append(a.Weighted, WeightedCluster{Name: c.Get("name").Str(), Weight: uint32(w)})
			a.TotalWeight += uint32(w)
			return true
		})
		if t, ok := wc.Get("total_weight").Uint(); ok {
			a.TotalWeight = uint32(t)
		}
	case ra.Get("cluster_specifier_plugin").Exists() || ra.Get("inline_cluster_specifier_plugin").Exists():
		a.Kind = ActClusterPlugin
	}
	return a
}

func hostRewriteHeader(ra jsonscan.Value) string {
	if h := ra.Get("host_rewrite_header").Str(); h != "" {
		return "from header " + h
	}
	if ra.Get("auto_host_rewrite").Bool() {
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
