package trace

import (
	"fmt"
	"strconv"
	"strings"

	uritemplatev3 "github.com/envoyproxy/go-control-plane/envoy/extensions/path/match/uri_template/v3"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// action follows the route's action as the router decided it.
func (t *tracer) action(rt Routing) {
	r := rt.Route
	a := r.Action
	if rt.Path != t.req.Path {
		t.hop.Rewrites = append(t.hop.Rewrites, "path rewritten to "+rt.Path)
	} else if a.PrefixRewrite != "" || a.RegexRewrite != "" {
		t.hop.Rewrites = append(t.hop.Rewrites, "path rewrite leaves the path as it is")
	}
	if rt.Host != t.req.Host {
		t.hop.Rewrites = append(t.hop.Rewrites, "Host rewritten to "+rt.Host)
	} else if strings.HasPrefix(a.HostRewrite, "auto") {
		t.hop.Rewrites = append(t.hop.Rewrites, "Host rewritten to the upstream host's name (auto_host_rewrite)")
	}
	switch a.Timeout {
	case "":
	case "0s":
		t.note("the route has no timeout (0s: disabled)")
	default:
		t.note("route timeout %s: Envoy answers 504 (UT) when the upstream takes longer", a.Timeout)
	}
	switch a.Kind {
	case xds.ActCluster:
		t.step("cluster", a.Cluster, "the route's cluster")
		t.cluster(a.Cluster)
	case xds.ActClusterHeader:
		if rt.Cluster == "" {
			t.note("the route takes its cluster from header %s, which the request does not carry", a.ClusterHeader)
			t.fail(NoCluster, "NC", 503)
			return
		}
		t.step("cluster", rt.Cluster, "named by the request's %s header", a.ClusterHeader)
		t.cluster(rt.Cluster)
	case xds.ActWeighted:
		t.weighted(a.Weighted, a.TotalWeight)
	case xds.ActRedirect:
		t.hop.Result, t.hop.Status, t.hop.Location = Redirect, rt.Status, rt.Location
		t.step("redirect", t.hop.Location, "the route answers with a redirect (%d)", t.hop.Status)
	case xds.ActDirectResponse:
		t.hop.Result, t.hop.Status = DirectResponse, rt.Status
		t.step("direct_response", strconv.Itoa(int(rt.Status)), "the route answers directly with status %d", rt.Status)
	case xds.ActClusterPlugin:
		t.note("a cluster specifier plugin picks the cluster at run time: not predicted")
		t.hop.Result = Forwarded
	default:
		t.note("the route is handled by a filter, not forwarded (non_forwarding_action)")
		t.hop.Result = Forwarded
	}
}

// RedirectCode is the status of a redirect's response_code.
func RedirectCode(code string) uint32 {
	switch code {
	case "FOUND":
		return 302
	case "SEE_OTHER":
		return 303
	case "TEMPORARY_REDIRECT":
		return 307
	case "PERMANENT_REDIRECT":
		return 308
	}
	return 301
}

// RedirectURL is where redirect route r sends req: the request's URL with
// the redirect's scheme, host, port, path or prefix rewrite, as Envoy's
// router builds the Location (checked against Envoy's router_check corpus).
func RedirectURL(req Request, red *xds.Redirect, r *xds.Route) string {
	scheme := "http"
	if req.TLS != "plaintext" {
		scheme = "https"
	}
	if red.Scheme != "" {
		scheme = red.Scheme
	}
	host := req.Host
	_, port, hasPort := strings.Cut(host, ":")
	if red.Host != "" {
		host = red.Host
		if hasPort && !strings.Contains(red.Host, ":") && red.Port == 0 {
			host = red.Host + ":" + port
		}
	}
	if red.Port != 0 {
		h, _, _ := strings.Cut(host, ":")
		host = h + ":" + strconv.Itoa(int(red.Port))
	}
	if red.Scheme != "" && hasPort {
		// Envoy drops the port that is the default of the new scheme.
		if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
			h, _, _ := strings.Cut(host, ":")
			host = h
		}
	}
	path, query, hasQuery := strings.Cut(req.Path, "?")
	switch {
	case red.Path != "":
		path = red.Path
		if p, q, ok := strings.Cut(red.Path, "?"); ok {
			path, query, hasQuery = p, q, true
		}
	case red.PrefixRewrite != "":
		if p := r.Match.GetPrefix(); p != "" && strings.HasPrefix(path, p) {
			path = red.PrefixRewrite + path[len(p):]
		} else {
			path = red.PrefixRewrite
		}
	}
	u := scheme + "://" + host + path
	if hasQuery && !red.StripQuery {
		u += "?" + query
	}
	return u
}

// weighted shows the split and follows the cluster the router picked with
// --random-value (the value modulo the total weight, clusters in order).
func (t *tracer) weighted(ws []xds.WeightedCluster, total uint32) {
	if total == 0 {
		for _, w := range ws {
			total += w.Weight
		}
	}
	for _, w := range ws {
		pct := 0.0
		if total > 0 {
			pct = float64(w.Weight) * 100 / float64(total)
		}
		t.hop.Weighted = append(t.hop.Weighted, Weighted{Cluster: w.Name, Weight: w.Weight, Percent: pct})
	}
	picked := pickWeighted(ws, total, t.req.Random)
	if picked < 0 {
		var parts []string
		for _, w := range t.hop.Weighted {
			parts = append(parts, fmt.Sprintf("%s %.4g%%", w.Cluster, w.Percent))
		}
		t.note("the route splits by weight (%s): which cluster a request gets is random; pass --random-value to follow one", strings.Join(parts, ", "))
		t.step("cluster", "", "weighted: %s", strings.Join(parts, ", "))
		t.hop.Result = Forwarded
		for _, w := range ws {
			if _, ok := t.findCluster(w.Name); !ok {
				t.note("cluster %s of the split is not in the proxy's config: requests it gets fail with NC", w.Name)
			}
		}
		return
	}
	t.hop.Weighted[picked].Picked = true
	if t.req.Random == nil {
		t.step("cluster", ws[picked].Name, "weighted split: it has all the weight (%d)", total)
	} else {
		t.step("cluster", ws[picked].Name, "weighted split, random value %d picks it (%d of total weight %d)", *t.req.Random, ws[picked].Weight, total)
	}
	t.cluster(ws[picked].Name)
}

func (t *tracer) findCluster(name string) (*xds.Cluster, bool) {
	for _, c := range t.cfg.Clusters() {
		if c.Name == name && c.State != "ERROR" {
			return c, true
		}
	}
	return nil, false
}

// cluster resolves the chosen cluster and its endpoints, and the outcome.
func (t *tracer) cluster(name string) {
	t.hop.Cluster = name
	c, ok := t.findCluster(name)
	if !ok {
		switch name {
		case xds.BlackHoleCluster:
			t.note("BlackHoleCluster: the mesh drops traffic to destinations it does not know (outboundTrafficPolicy REGISTRY_ONLY); add a ServiceEntry")
			t.fail(Blackhole, "UH", 502)
			return
		case xds.PassthroughCluster, xds.InboundPassthroughCluster:
			t.note("%s: sent on to the original destination %s:%d as addressed", name, t.req.Address, t.req.Port)
			t.hop.Result = Passthrough
			return
		}
		t.note("cluster %s is not in the proxy's config (no Service or DestinationRule subset for it, or not pushed yet): Envoy answers 503 with NC", name)
		t.fail(NoCluster, "NC", 503)
		return
	}
	t.hop.ClusterInfo = &Cluster{Type: c.Type, LBPolicy: c.LBPolicy, TLS: c.TLS, SNI: c.SNI, CircuitBreakers: c.CircuitBreakers, DestinationRule: c.DestinationRule}
	if c.State == "WARMING" {
		t.note("cluster %s is warming (waiting for its endpoints or secrets): requests to it fail until it is active", name)
	}
	switch {
	case name == xds.BlackHoleCluster:
		t.note("BlackHoleCluster: the mesh drops traffic to destinations it does not know (outboundTrafficPolicy REGISTRY_ONLY); add a ServiceEntry")
		t.fail(Blackhole, "UH", 502)
		return
	case name == xds.PassthroughCluster || name == xds.InboundPassthroughCluster:
		t.note("%s (%s): sent on to the original destination %s:%d as addressed", name, c.Type, t.req.Address, t.req.Port)
		t.hop.Result = Passthrough
		return
	case c.Type == "ORIGINAL_DST":
		if strings.HasPrefix(name, "inbound|") {
			t.note("%s (%s): delivered to the application at %s:%d", name, c.Type, t.req.Address, t.req.Port)
		} else {
			t.note("%s (%s): sent to the original destination %s:%d", name, c.Type, t.req.Address, t.req.Port)
		}
		t.hop.Result = Forwarded
		return
	}
	lb := c.LBPolicy
	if lb == "" {
		lb = "ROUND_ROBIN"
	}
	service := c.EDSServiceName
	if service == "" {
		service = name
	}
	healthy := 0
	var invalid []string // hosts whose weight Envoy rejects
	for _, e := range t.cfg.Endpoints() {
		if e.Cluster != name && e.Cluster != service {
			continue
		}
		t.hop.Endpoints = append(t.hop.Endpoints, Endpoint{Address: e.Address, Health: e.Health, Locality: e.Locality, Weight: e.Weight})
		if e.WeightInvalid != "" {
			invalid = append(invalid, e.Address+" ("+e.WeightInvalid+")")
		}
		if (e.Health == "HEALTHY" || e.Health == "UNKNOWN" || e.Health == "DEGRADED") && e.Outlier != "FAILED" {
			healthy++
		}
	}
	if len(invalid) > 0 {
		t.note("the assignment of %s gives %s a load_balancing_weight Envoy rejects (an integer from 1 to 4294967295): an Envoy would not have accepted it, and which hosts it uses is not known from this dump", service, strings.Join(invalid, ", "))
	}
	haveEndpoints := t.cfg.Dump.Has(envoyadmin.KindEndpoints) || t.cfg.Dump.Has(envoyadmin.KindClusterStatus)
	switch {
	case c.Type == "EDS" && haveEndpoints && healthy == 0:
		t.note("cluster %s has %d endpoints and none is healthy: Envoy answers 503 with UH", name, len(t.hop.Endpoints))
		t.fail(NoHealthyUpstream, "UH", 503)
	case c.Type == "EDS" && !haveEndpoints:
		t.note("the dump has no endpoints (take it with /config_dump?include_eds): whether %s has healthy hosts is not known", name)
		t.hop.Result = Forwarded
	default:
		if len(t.hop.Endpoints) > 0 {
			t.note("%d of %d endpoints healthy; %s picks one (load balancing %s)", healthy, len(t.hop.Endpoints), name, lb)
		}
		t.hop.Result = Forwarded
	}
	if len(invalid) > 0 && t.hop.Result == Forwarded {
		// Which hosts, if any, an Envoy holding this assignment would
		// send to is not known: it would have rejected it.
		t.hop.Result, t.hop.UnknownDependsOn = Unknown, "the hosts of "+service+": a load_balancing_weight Envoy rejects"
	}
}

// uriTemplate reads the path_template of an UriTemplateMatchConfig.
func uriTemplate(a *anypb.Any) string {
	var c uritemplatev3.UriTemplateMatchConfig
	if a.UnmarshalTo(&c) != nil {
		return ""
	}
	return c.GetPathTemplate()
}

// templateMatches matches a path against an Envoy URI template: "*" and
// "{name}" match one segment, "**" and "{name=**}" the rest.
func templateMatches(tmpl, path string) bool {
	ts := strings.Split(strings.Trim(tmpl, "/"), "/")
	ps := strings.Split(strings.Trim(path, "/"), "/")
	for i, seg := range ts {
		if seg == "**" || strings.HasSuffix(seg, "=**}") {
			return true
		}
		if i >= len(ps) {
			return false
		}
		if seg == "*" || (strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}")) {
			if ps[i] == "" {
				return false
			}
			continue
		}
		if seg != ps[i] {
			return false
		}
	}
	return len(ts) == len(ps)
}
