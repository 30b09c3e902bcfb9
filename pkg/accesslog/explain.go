package accesslog

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/trace"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// Explanation joins a failing request to the proxy's config: what its
// flags mean, the route and the cluster the line names, and the cluster's
// endpoints as the proxy holds them.
type Explanation struct {
	// Key says which requests it covers: status, flags, cluster, route.
	Key      string   `json:"key"`
	Requests int      `json:"requests"`
	Example  Entry    `json:"example"`
	Findings []string `json:"findings"`
	// Trace is what trace says the proxy does with the same request now.
	Trace *trace.Hop `json:"trace,omitempty"`
}

// Explain explains the failing entries, one explanation per distinct
// status, flags, authority, cluster and route, in the order first seen.
// cfg may be nil: then only the flags are explained.
func Explain(entries []Entry, cfg *xds.Config) []Explanation {
	var out []Explanation
	index := map[string]int{}
	var clusters map[string]*xds.Cluster
	var endpoints map[string][]*xds.Endpoint
	if cfg != nil {
		clusters = map[string]*xds.Cluster{}
		for _, c := range cfg.Clusters() {
			clusters[c.Name] = c
		}
		endpoints = map[string][]*xds.Endpoint{}
		for _, e := range cfg.Endpoints() {
			endpoints[e.Cluster] = append(endpoints[e.Cluster], e)
		}
	}
	for _, e := range entries {
		if !e.Failed() {
			continue
		}
		key := fmt.Sprintf("%d %s %s %s %s", e.Status, dash(strings.Join(e.Flags, ",")), dash(e.Authority), dash(e.UpstreamCluster), dash(e.Route))
		if i, ok := index[key]; ok {
			out[i].Requests++
			continue
		}
		index[key] = len(out)
		x := Explanation{Key: key, Requests: 1, Example: e}
		for _, name := range e.Flags {
			if f, ok := LookupFlag(name); ok {
				x.Findings = append(x.Findings, fmt.Sprintf("%s (%s): %s; check %s", f.Short, f.Long, f.Meaning, f.Check))
			} else {
				x.Findings = append(x.Findings, name+": a flag of an extension, not one of Envoy's core flags")
			}
		}
		if e.TransportFailure != "" {
			x.Findings = append(x.Findings, "upstream transport failure: "+e.TransportFailure+tlsHint(e.TransportFailure))
		}
		if e.Details != "" && e.Details != "via_upstream" {
			x.Findings = append(x.Findings, "Envoy's response code details: "+e.Details)
		}
		if e.Status >= 500 && len(e.Flags) == 0 && e.Details == "via_upstream" {
			x.Findings = append(x.Findings, "the upstream itself answered with this status: look at the application, not the mesh")
		}
		if cfg != nil {
			x.Findings = append(x.Findings, routeFindings(cfg, e)...)
			x.Findings = append(x.Findings, clusterFindings(clusters, endpoints, e)...)
			if req, ok := traceRequest(e); ok {
				x.Trace = trace.Trace(cfg, req)
				x.Findings = append(x.Findings, traceFinding(x.Trace))
			}
		}
		out = append(out, x)
	}
	return out
}

// traceRequest rebuilds the request of a log line for trace: the original
// destination is the downstream local address, the direction the cluster's.
func traceRequest(e Entry) (trace.Request, bool) {
	host, port, err := net.SplitHostPort(e.DownstreamLocal)
	if err != nil {
		return trace.Request{}, false
	}
	p, err := strconv.ParseUint(port, 10, 32)
	if err != nil {
		return trace.Request{}, false
	}
	r := trace.Request{Mode: trace.Outbound, Address: host, Port: uint32(p), Protocol: "tcp", TLS: "plaintext",
		Host: e.Authority, Path: e.Path, Method: e.Method, Headers: map[string][]string{}, Internal: true}
	switch {
	case strings.HasPrefix(e.Protocol, "HTTP/2"):
		r.Protocol = "http2"
	case strings.HasPrefix(e.Protocol, "HTTP"):
		r.Protocol = "http"
	}
	if strings.HasPrefix(e.UpstreamCluster, "inbound|") {
		r.Mode = trace.Inbound
		if strings.HasPrefix(e.ServerName, "outbound_.") { // Istio's mTLS SNI
			r.TLS, r.SNI = "mtls", e.ServerName
			r.ALPN = []string{map[string]string{"http": "istio-http/1.1", "http2": "istio-h2", "tcp": "istio"}[r.Protocol]}
		}
	}
	return r, true
}

func traceFinding(h *trace.Hop) string {
	s := fmt.Sprintf("trace of the same request on this config: listener %s, chain %s", dash(h.Listener), dash(h.FilterChain))
	if h.RouteConfig != "" || h.Route != "" {
		s += fmt.Sprintf(", route %s/%s", dash(h.RouteConfig), dash(h.Route))
	}
	if h.Cluster != "" {
		s += ", cluster " + h.Cluster
	}
	s += " -> " + h.Result
	if h.Flag != "" {
		s += " (" + h.Flag + ")"
	}
	if len(h.Notes) > 0 {
		s += ": " + h.Notes[len(h.Notes)-1]
	}
	return s
}

func tlsHint(reason string) string {
	r := strings.ToLower(reason)
	if strings.Contains(r, "tls") || strings.Contains(r, "ssl") || strings.Contains(r, "certificate") {
		return " (a TLS failure: an mTLS mismatch between PeerAuthentication and DestinationRule, or a server without a sidecar)"
	}
	return ""
}

// routeFindings finds the route the line names in the virtual hosts that
// serve its authority best (exact domains before wildcards before "*", as
// Envoy picks them).
func routeFindings(cfg *xds.Config, e Entry) []string {
	if e.Route == "" {
		if !e.TCP() && len(e.Flags) > 0 && e.Flags[0] == "NR" {
			return []string{fmt.Sprintf("no route matched authority %q path %q: virtual hosts for that host: %s", e.Authority, e.Path, vhostsFor(cfg, e.Authority, routeConfigNames(e)))}
		}
		return nil
	}
	var found []string
	seen := map[string]bool{}
	for _, m := range bestVirtualHosts(cfg, e.Authority, routeConfigNames(e)) {
		for _, r := range m.vh.Routes {
			if r.Name != e.Route {
				continue
			}
			where := fmt.Sprintf("route %q in virtual host %s of route config %s", r.Name, m.vh.Name, dash(m.rc.Name))
			if r.VirtualService != "" {
				where += ", from VirtualService " + r.VirtualService
			}
			if line := where + ": sends to " + actionText(r.Action); !seen[line] {
				seen[line] = true
				found = append(found, line)
			}
		}
	}
	// The routes that send to the line's cluster are the ones it took.
	var toCluster []string
	for _, f := range found {
		if e.UpstreamCluster != "" && strings.Contains(f, "sends to "+e.UpstreamCluster) {
			toCluster = append(toCluster, f)
		}
	}
	switch {
	case len(toCluster) > 0:
		found = toCluster
	case len(found) > 0 && e.UpstreamCluster != "":
		return []string{fmt.Sprintf("none of the %d routes named %q serving that host sends to %s now: the config changed since, or the line is another proxy's", len(found), e.Route, e.UpstreamCluster)}
	}
	if len(found) > 3 {
		found = append(found[:3], fmt.Sprintf("and %d more routes of that name", len(found)-3))
	}
	return found
}

type vhostMatch struct {
	rc *xds.RouteConfig
	vh *xds.VirtualHost
}

// routeConfigNames are the names Istio gives the route configuration
// that served the line: the port ("8080") or host and port, read from the
// listener address the request arrived on and the cluster it went to.
func routeConfigNames(e Entry) map[string]bool {
	names := map[string]bool{}
	if i := strings.LastIndexByte(e.DownstreamLocal, ':'); i > 0 {
		names[e.DownstreamLocal[i+1:]] = true
		names["*"+e.DownstreamLocal[i:]] = true // any HOST:PORT of that port
	}
	if dir, port, _, fqdn := xds.ParseClusterName(e.UpstreamCluster); dir != "" && port != 0 {
		p := fmt.Sprint(port)
		names[p] = true
		if fqdn != "" {
			names[fqdn+":"+p] = true
		}
	}
	return names
}

// bestVirtualHosts are the virtual hosts whose domains match the authority
// in the best way any of them does, among the route configurations named
// in prefer when any of them has one.
func bestVirtualHosts(cfg *xds.Config, authority string, prefer map[string]bool) []vhostMatch {
	all := append(cfg.RouteConfigs(), cfg.InlineRouteConfigs()...)
	var exact, samePort []*xds.RouteConfig
	for _, rc := range all {
		i := strings.LastIndexByte(rc.Name, ':')
		switch {
		case prefer[rc.Name]:
			exact = append(exact, rc)
		case i > 0 && prefer["*"+rc.Name[i:]]:
			samePort = append(samePort, rc)
		}
	}
	if len(exact) > 0 {
		all = exact
	} else if len(samePort) > 0 {
		all = samePort
	}
	best, rank := []vhostMatch(nil), 0
	for _, rc := range all {
		for _, vh := range rc.VirtualHosts {
			r := domainRank(vh.Domains, authority)
			switch {
			case r == 0 || r < rank:
			case r > rank:
				best, rank = []vhostMatch{{rc, vh}}, r
			default:
				best = append(best, vhostMatch{rc, vh})
			}
		}
	}
	return best
}

func actionText(a xds.Action) string {
	switch a.Kind {
	case xds.ActCluster:
		return a.Cluster
	case xds.ActWeighted:
		var parts []string
		for _, w := range a.Weighted {
			parts = append(parts, fmt.Sprintf("%s (weight %d)", w.Name, w.Weight))
		}
		return strings.Join(parts, ", ")
	case xds.ActClusterHeader:
		return "the cluster named by header " + a.ClusterHeader
	case xds.ActRedirect:
		return "a redirect"
	case xds.ActDirectResponse:
		return fmt.Sprintf("a direct response %d", a.Status)
	}
	return "a filter (not forwarded)"
}

// clusterFindings describes the upstream cluster and its endpoints.
func clusterFindings(clusters map[string]*xds.Cluster, endpoints map[string][]*xds.Endpoint, e Entry) []string {
	if e.UpstreamCluster == "" {
		return nil
	}
	c, ok := clusters[e.UpstreamCluster]
	if !ok {
		switch e.UpstreamCluster {
		case "BlackHoleCluster", "PassthroughCluster", "InboundPassthroughCluster":
			return []string{clusterMeaning(e.UpstreamCluster)}
		}
		return []string{"cluster " + e.UpstreamCluster + " is not in the proxy's config now (removed since, or never there: NC)"}
	}
	out := []string{fmt.Sprintf("cluster %s: %s, load balancing %s, TLS %s%s", c.Name, dash(c.Type), dash(c.LBPolicy), dash(c.TLS), drText(c.DestinationRule))}
	if m := clusterMeaning(c.Name); m != "" {
		out = append(out, m)
	}
	eps := endpoints[c.Name]
	if len(eps) == 0 {
		if c.Type == "EDS" {
			out = append(out, "it has no endpoints: no ready pod behind the Service (or the subset's labels match none)")
		}
		return out
	}
	healthy := 0
	byHealth := map[string][]string{}
	for _, ep := range eps {
		if ep.Health == "HEALTHY" && ep.Outlier != "FAILED" {
			healthy++
		}
		h := ep.Health
		if ep.Outlier == "FAILED" {
			h += " (ejected by outlier detection)"
		}
		byHealth[h] = append(byHealth[h], ep.Address)
	}
	var states []string
	for h, addrs := range byHealth {
		sort.Strings(addrs)
		if len(addrs) > 4 {
			addrs = append(addrs[:4], "...")
		}
		states = append(states, fmt.Sprintf("%s %s", h, strings.Join(addrs, " ")))
	}
	sort.Strings(states)
	out = append(out, fmt.Sprintf("endpoints: %d healthy of %d now: %s", healthy, len(eps), strings.Join(states, "; ")))
	return out
}

func drText(dr string) string {
	if dr == "" {
		return ""
	}
	return ", DestinationRule " + dr
}

func clusterMeaning(name string) string {
	switch name {
	case "BlackHoleCluster":
		return "BlackHoleCluster: the mesh drops traffic to destinations it does not know (outboundTrafficPolicy REGISTRY_ONLY): add a ServiceEntry"
	case "PassthroughCluster":
		return "PassthroughCluster: a destination outside the mesh's registry, sent on as addressed (outboundTrafficPolicy ALLOW_ANY)"
	case "InboundPassthroughCluster":
		return "InboundPassthroughCluster: inbound traffic to a port no Service declares, sent to the app as addressed"
	}
	return ""
}

// vhostsFor names the virtual hosts that match the authority best.
func vhostsFor(cfg *xds.Config, authority string, prefer map[string]bool) string {
	var names []string
	for _, m := range bestVirtualHosts(cfg, authority, prefer) {
		names = append(names, dash(m.rc.Name)+"/"+m.vh.Name+" "+strings.Join(m.vh.Domains, ","))
	}
	if len(names) == 0 {
		return "none: no VirtualService or Service declares that host on that port"
	}
	if len(names) > 5 {
		names = append(names[:5], fmt.Sprintf("(%d more)", len(names)-5))
	}
	return strings.Join(names, "; ")
}

// domainRank is how well a virtual host's domains match an authority, by
// Envoy's order: 3 exact, 2 suffix or prefix wildcard, 1 "*", 0 none. The
// authority is tried with and without its port.
func domainRank(domains []string, authority string) int {
	host := strings.ToLower(authority)
	bare := host
	if i := strings.LastIndexByte(host, ':'); i > 0 && !strings.HasSuffix(host, "]") {
		bare = host[:i]
	}
	rank := 0
	for _, d := range domains {
		d = strings.ToLower(d)
		for _, h := range []string{host, bare} {
			switch {
			case d == h:
				rank = max(rank, 3)
			case d == "*":
				rank = max(rank, 1)
			case strings.HasPrefix(d, "*") && strings.HasSuffix(h, d[1:]) && len(h) > len(d)-1,
				strings.HasSuffix(d, "*") && strings.HasPrefix(h, d[:len(d)-1]) && len(h) > len(d)-1:
				rank = max(rank, 2)
			}
		}
	}
	return rank
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
