package ztunnel

import (
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/trace"
)

// HBONEPort is where ztunnel (and a waypoint) take HBONE: mTLS HTTP/2
// CONNECT tunnels.
const HBONEPort = 15008

// Conn is one connection as ztunnel sees it.
type Conn struct {
	SrcIP string
	// SrcIdentity is the client's SPIFFE identity
	// (spiffe://TRUST-DOMAIN/ns/NS/sa/SA); "" when not known.
	SrcIdentity string
	DstIP       string
	DstPort     uint32
	// Random picks among equally ranked endpoints (ztunnel draws at
	// random, weighted by capacity); nil: the first is followed, said.
	Random *uint64
}

// Next is where a hop sends the connection.
type Next struct {
	// Kind: waypoint (to a waypoint's HBONE port), workload (to the
	// destination pod, over HBONE or TCP), passthrough (straight to the
	// original destination, outside the mesh), or "" (nowhere).
	Kind     string
	Waypoint *Service
	Workload *Workload
	// Address and Port are what the connection is made to; Target is the
	// HBONE CONNECT authority (the destination inside the tunnel).
	Address  string
	Port     uint32
	Target   string
	Protocol string // HBONE or TCP
}

func hop(proxy, direction string) *trace.Hop {
	return &trace.Hop{Proxy: proxy, Direction: direction, Notes: []string{}, Rejected: []trace.Rejection{}, Steps: []trace.Step{}, Endpoints: []trace.Endpoint{}}
}

func step(h *trace.Hop, stage, name, format string, args ...any) {
	h.Steps = append(h.Steps, trace.Step{Stage: stage, Name: name, Reason: fmt.Sprintf(format, args...)})
}

// WorkloadByIP is the workload with that address, or nil.
func (d *Dump) WorkloadByIP(ip string) *Workload {
	for _, w := range d.Workloads {
		if hasIP(w.IPs, ip) {
			return w
		}
	}
	return nil
}

// ServiceByVIP is the service with that VIP (any network), or nil.
func (d *Dump) ServiceByVIP(ip string) *Service {
	for _, s := range d.Services {
		for _, v := range s.VIPs {
			if _, a := splitNetwork(v); a == ip {
				return s
			}
		}
	}
	return nil
}

// VIP is the service's first address without its network, "" for none.
func (s *Service) VIP() string {
	if len(s.VIPs) == 0 {
		return ""
	}
	_, ip := splitNetwork(s.VIPs[0])
	return ip
}

// ServiceByHost is the service with that hostname (or NAME.NAMESPACE,
// NAME.NAMESPACE.svc), or nil.
func (d *Dump) ServiceByHost(host string) *Service {
	for _, s := range d.Services {
		if s.Hostname == host || strings.HasPrefix(s.Hostname, host+".") && strings.Count(host, ".") >= 1 {
			return s
		}
	}
	return nil
}

// Identity is a workload's SPIFFE identity.
func (w *Workload) Identity() string {
	td := w.TrustDomain
	if td == "" {
		td = "cluster.local"
	}
	sa := w.ServiceAccount
	if sa == "" {
		sa = "default"
	}
	return "spiffe://" + td + "/ns/" + w.Namespace + "/sa/" + sa
}

func (w *Workload) String() string { return w.Name + "." + w.Namespace }

// Outbound follows a connection from src through its node's ztunnel: the
// destination (a service by VIP, else a workload by IP, else passthrough),
// the service's waypoint, else an endpoint and its port, and the protocol
// to it.
func (d *Dump) Outbound(proxy string, src *Workload, c Conn) (*trace.Hop, Next) {
	h := hop(proxy, "outbound")
	if src == nil {
		h.Result = trace.Passthrough
		h.Notes = append(h.Notes, fmt.Sprintf("%s is no workload this ztunnel knows: its traffic is not captured (not in ambient mode), so it goes to %s:%d directly, outside the mesh", dashIP(c.SrcIP), c.DstIP, c.DstPort))
		return h, Next{Kind: "passthrough", Address: c.DstIP, Port: c.DstPort, Protocol: "TCP"}
	}
	if src.Protocol != "HBONE" {
		h.Result = trace.Passthrough
		h.Notes = append(h.Notes, fmt.Sprintf("the client %s is not in ambient mode (protocol %s): ztunnel does not capture its traffic, which goes to %s directly", src, src.Protocol, netJoin(c.DstIP, c.DstPort)))
		return h, Next{Kind: "passthrough", Address: c.DstIP, Port: c.DstPort, Protocol: "TCP"}
	}
	step(h, "source", src.String(), "the client workload (%s, identity %s, protocol %s): its node's ztunnel captures its outbound traffic", strings.Join(src.IPs, ","), src.Identity(), src.Protocol)
	if svc := d.ServiceByVIP(c.DstIP); svc != nil {
		h.Cluster = svc.Hostname
		step(h, "service", svc.Hostname, "%s is the VIP of service %s/%s", c.DstIP, svc.Namespace, svc.Name)
		if svc.LoadBalancer != nil && svc.LoadBalancer.Mode == "Passthrough" {
			step(h, "load_balancer", "Passthrough", "the service's load balancing is Passthrough: the original destination is kept")
			h.Result = trace.Passthrough
			return h, Next{Kind: "passthrough", Address: c.DstIP, Port: c.DstPort, Protocol: "TCP"}
		}
		if len(svc.WeightedWaypoints) > 0 {
			h.Notes = append(h.Notes, fmt.Sprintf("service %s has %d weighted waypoints (a canary): ztunnel draws one per connection; its primary waypoint is followed", svc.Hostname, len(svc.WeightedWaypoints)))
		}
		if svc.Waypoint != nil {
			wp := d.ServiceFor(svc.Waypoint.Destination)
			if wp == nil {
				h.Result, h.Flag = trace.NoHealthyUpstream, "UF"
				h.Notes = append(h.Notes, fmt.Sprintf("the service's waypoint %s is not in ztunnel's services: ztunnel fails the connection (unknown waypoint)", svc.Waypoint.Destination))
				return h, Next{}
			}
			if !isBackend(d, wp, src) {
				return d.toWaypoint(h, wp, svc.Waypoint, c, "service "+svc.Hostname)
			}
			step(h, "waypoint", wp.Name, "the client is the service's waypoint itself: it goes to an endpoint")
		}
		return d.toEndpoint(h, src, svc, c)
	}
	if w := d.WorkloadByIP(c.DstIP); w != nil {
		step(h, "workload", w.String(), "%s is the address of workload %s (no service VIP)", c.DstIP, w)
		if w.Waypoint != nil && w.UID != src.UID {
			if wp := d.ServiceFor(w.Waypoint.Destination); wp != nil && !isBackend(d, wp, src) {
				return d.toWaypoint(h, wp, w.Waypoint, c, "workload "+w.String())
			}
		}
		return d.toWorkload(h, w, c.DstPort, c)
	}
	step(h, "destination", c.DstIP, "no service VIP and no workload has this address")
	h.Result = trace.Passthrough
	h.Notes = append(h.Notes, fmt.Sprintf("%s:%d is outside the mesh: ztunnel connects to it directly over TCP", c.DstIP, c.DstPort))
	return h, Next{Kind: "passthrough", Address: c.DstIP, Port: c.DstPort, Protocol: "TCP"}
}

func isBackend(d *Dump, svc *Service, w *Workload) bool {
	for _, b := range d.Backends(svc) {
		if b.UID == w.UID {
			return true
		}
	}
	return false
}

func (d *Dump) toWaypoint(h *trace.Hop, wp *Service, g *GatewayAddress, c Conn, of string) (*trace.Hop, Next) {
	addr := g.Destination.IP()
	if addr == "" && len(wp.VIPs) > 0 {
		_, addr = splitNetwork(wp.VIPs[0])
	}
	step(h, "waypoint", wp.Namespace+"/"+wp.Name, "%s uses waypoint %s (%s): ztunnel tunnels the connection to it over HBONE, to %s port %d", of, wp.Name, g.Destination, addr, HBONEPort)
	// ztunnel looks the waypoint up as a service on its HBONE port and
	// picks one of its pods.
	var pods []*Workload
	for _, b := range d.Backends(wp) {
		if b.Status == "Healthy" {
			pods = append(pods, b)
		}
	}
	if len(pods) == 0 {
		h.Result, h.Flag = trace.NoHealthyUpstream, "UH"
		h.Notes = append(h.Notes, "the waypoint "+wp.Name+" has no healthy pod: ztunnel fails the connection")
		return h, Next{}
	}
	pod := pickWorkload(h, pods, c.Random, "waypoint pod")
	for _, p := range pods {
		h.Endpoints = append(h.Endpoints, trace.Endpoint{Address: netJoin(firstIP(p), HBONEPort), Health: "HEALTHY"})
	}
	h.Result = trace.Forwarded
	target := netJoin(c.DstIP, c.DstPort)
	return h, Next{Kind: "waypoint", Waypoint: wp, Workload: pod, Address: firstIP(pod), Port: HBONEPort, Target: target, Protocol: "HBONE"}
}

// Healthy endpoints of a service for a source, as ztunnel's load
// balancing ranks them: only the best rank is kept when the service says
// Failover or Strict.
func (d *Dump) endpointsFor(h *trace.Hop, src *Workload, svc *Service, port uint32) []*Workload {
	key := strconv.Itoa(int(port))
	target, hasPort := svc.Ports[key]
	byUID := map[string]*Workload{}
	for _, w := range d.Workloads {
		byUID[w.UID] = w
	}
	allowUnhealthy := svc.LoadBalancer != nil && svc.LoadBalancer.HealthPolicy == "AllowAll"
	type cand struct {
		w    *Workload
		rank int
	}
	var cands []cand
	uids := make([]string, 0, len(svc.Endpoints))
	for k := range svc.Endpoints {
		uids = append(uids, k)
	}
	sort.Strings(uids)
	for _, k := range uids {
		ep := svc.Endpoints[k]
		w := byUID[ep.WorkloadUID]
		switch {
		case w == nil:
			h.Rejected = append(h.Rejected, trace.Rejection{Stage: "endpoint", Name: ep.WorkloadUID, Reason: "no workload with this UID: ztunnel skips it"})
			continue
		case len(w.IPs) == 0 && w.Hostname == "":
			h.Rejected = append(h.Rejected, trace.Rejection{Stage: "endpoint", Name: w.String(), Reason: "no address (reachable only through a network gateway)"})
			continue
		case !allowUnhealthy && (w.Status != "Healthy" || ep.Status != "" && ep.Status != "Healthy"):
			h.Rejected = append(h.Rejected, trace.Rejection{Stage: "endpoint", Name: w.String(), Reason: "unhealthy"})
			continue
		case hasPort && target == 0 && ep.Port[key] == 0:
			h.Rejected = append(h.Rejected, trace.Rejection{Stage: "endpoint", Name: w.String(), Reason: fmt.Sprintf("has no target for service port %d", port)})
			continue
		}
		rank := 0
		if lb := svc.LoadBalancer; lb != nil && lb.Mode != "Standard" && lb.Mode != "" {
			for _, scope := range lb.RoutingPreferences {
				if !sameScope(scope, src, w) {
					break
				}
				rank++
			}
			if lb.Mode == "Strict" && rank != len(lb.RoutingPreferences) {
				h.Rejected = append(h.Rejected, trace.Rejection{Stage: "endpoint", Name: w.String(), Reason: "Strict load balancing: not in the client's " + strings.Join(lb.RoutingPreferences, ", ")})
				continue
			}
		}
		cands = append(cands, cand{w, rank})
	}
	best := -1
	for _, c := range cands {
		best = max(best, c.rank)
	}
	var out []*Workload
	for _, c := range cands {
		if c.rank == best {
			out = append(out, c.w)
		} else {
			h.Rejected = append(h.Rejected, trace.Rejection{Stage: "endpoint", Name: c.w.String(), Reason: "a closer endpoint is preferred (" + svc.LoadBalancer.Mode + ": " + strings.Join(svc.LoadBalancer.RoutingPreferences, ", ") + ")"})
		}
	}
	return out
}

func sameScope(scope string, a, b *Workload) bool {
	switch scope {
	case "Region":
		return a.Locality.Region == b.Locality.Region
	case "Zone":
		return a.Locality.Zone == b.Locality.Zone
	case "Subzone":
		return a.Locality.Subzone == b.Locality.Subzone
	case "Node":
		return a.Node == b.Node
	case "Cluster":
		return a.ClusterID == b.ClusterID
	case "Network":
		return a.Network == b.Network
	}
	return false
}

func (d *Dump) toEndpoint(h *trace.Hop, src *Workload, svc *Service, c Conn) (*trace.Hop, Next) {
	key := strconv.Itoa(int(c.DstPort))
	if _, ok := svc.Ports[key]; !ok {
		h.Result = trace.NoHealthyUpstream
		h.Notes = append(h.Notes, fmt.Sprintf("service %s has no port %d (its ports: %s): ztunnel finds no upstream and closes the connection", svc.Hostname, c.DstPort, portList(svc)))
		return h, Next{}
	}
	eps := d.endpointsFor(h, src, svc, c.DstPort)
	if len(eps) == 0 {
		h.Result, h.Flag = trace.NoHealthyUpstream, "UH"
		h.Notes = append(h.Notes, "service "+svc.Hostname+" has no healthy endpoint: ztunnel closes the connection")
		return h, Next{}
	}
	for _, w := range eps {
		h.Endpoints = append(h.Endpoints, trace.Endpoint{Address: netJoin(firstIP(w), targetPort(svc, w, c.DstPort)), Health: "HEALTHY"})
	}
	w := pickWorkload(h, eps, c.Random, "endpoint")
	return d.toWorkload(h, w, targetPort(svc, w, c.DstPort), c)
}

// targetPort is the pod port a service port maps to: the endpoint's own
// mapping first, then the service's, else the port itself.
func targetPort(svc *Service, w *Workload, port uint32) uint32 {
	key := strconv.Itoa(int(port))
	if ep := svc.Endpoints[w.UID]; ep != nil && ep.Port[key] != 0 {
		return uint32(ep.Port[key])
	}
	for _, ep := range svc.Endpoints {
		if ep.WorkloadUID == w.UID && ep.Port[key] != 0 {
			return uint32(ep.Port[key])
		}
	}
	if t := svc.Ports[key]; t != 0 {
		return uint32(t)
	}
	return port
}

func (d *Dump) toWorkload(h *trace.Hop, w *Workload, port uint32, c Conn) (*trace.Hop, Next) {
	if src := d.WorkloadByIP(c.SrcIP); src != nil && w.Network != src.Network {
		// Across networks ztunnel goes through the network's east-west
		// gateway (double HBONE), which this trace does not follow.
		h.Result = trace.Unknown
		h.UnknownDependsOn = fmt.Sprintf("%s is on network %q, the client on %q: the path through the network gateway is not traced", w, w.Network, src.Network)
		return h, Next{}
	}
	ip := firstIP(w)
	if hasIP(w.IPs, c.DstIP) {
		ip = c.DstIP
	}
	h.Result = trace.Forwarded
	if w.Protocol == "HBONE" {
		step(h, "protocol", "HBONE", "%s is in ambient mode (protocol HBONE): ztunnel opens an mTLS tunnel to its node's ztunnel on %s port %d, CONNECT %s", w, ip, HBONEPort, netJoin(ip, port))
		return h, Next{Kind: "workload", Workload: w, Address: ip, Port: HBONEPort, Target: netJoin(ip, port), Protocol: "HBONE"}
	}
	step(h, "protocol", "TCP", "%s is not in ambient mode (protocol TCP): ztunnel connects to %s in plain TCP, without mTLS", w, netJoin(ip, port))
	return h, Next{Kind: "workload", Workload: w, Address: ip, Port: port, Target: netJoin(ip, port), Protocol: "TCP"}
}

// pickWorkload is the one ztunnel would draw (weighted by capacity) for
// the random value, else the first, said.
func pickWorkload(h *trace.Hop, ws []*Workload, random *uint64, what string) *Workload {
	if len(ws) == 1 {
		step(h, what, ws[0].String(), "the only candidate")
		return ws[0]
	}
	if random == nil {
		step(h, what, ws[0].String(), "ztunnel draws one of %d at random (weighted by capacity); the first is followed (--random-value picks another)", len(ws))
		return ws[0]
	}
	var total uint64
	for _, w := range ws {
		total += capacity(w)
	}
	r := *random % total
	for _, w := range ws {
		if r < capacity(w) {
			step(h, what, w.String(), "drawn by --random-value among %d (weighted by capacity)", len(ws))
			return w
		}
		r -= capacity(w)
	}
	return ws[len(ws)-1]
}

func capacity(w *Workload) uint64 {
	if w.Capacity == nil {
		return 1
	}
	return uint64(*w.Capacity)
}

// Inbound follows a connection arriving at dst's node ztunnel (HBONE, or
// plain TCP for a workload not in ambient mode): its L4 authorization
// policies, then the pod's port.
func (d *Dump) Inbound(proxy string, dst *Workload, c Conn) *trace.Hop {
	h := hop(proxy, "inbound")
	h.Cluster = dst.String()
	if dst.Protocol != "HBONE" {
		step(h, "workload", dst.String(), "not in ambient mode: no ztunnel takes its inbound traffic")
		h.Result = trace.Forwarded
		return h
	}
	step(h, "workload", dst.String(), "HBONE on %s port %d: the destination's node ztunnel terminates the mTLS tunnel (client identity %s)", firstIP(dst), HBONEPort, dashIP(c.SrcIdentity))
	allowed, by := d.Authorize(h, dst, c)
	switch allowed {
	case yes:
		h.Result = trace.Forwarded
		h.Notes = append(h.Notes, "allowed: ztunnel connects to "+netJoin(c.DstIP, c.DstPort)+", the application port, in the pod's network namespace")
	case no:
		h.Result, h.Flag = trace.Denied, "RBAC"
		h.Notes = append(h.Notes, "ztunnel closes the connection (a connection reset for the client): "+by)
	default:
		h.Result = trace.Unknown
		h.UnknownDependsOn = by
	}
	return h
}

type tri int

const (
	no tri = iota
	yes
	unknown
)

// Authorize decides as ztunnel does: the policies of the workload (its
// namespace's, the global ones, and those naming it), dry-run ones only
// logged; a DENY that matches denies; no ALLOW allows; an ALLOW that
// matches allows; else deny.
func (d *Dump) Authorize(h *trace.Hop, w *Workload, c Conn) (tri, string) {
	named := map[string]bool{}
	for _, k := range w.AuthorizationPolicies {
		named[k] = true
	}
	var allow, deny []*Policy
	held := map[string]bool{}
	for _, p := range d.Policies {
		key := p.Namespace + "/" + p.Name
		held[key] = true
		switch p.Scope {
		case "Global", "Namespace", "WorkloadSelector":
		default:
			// Which workloads it applies to is not known.
			return unknown, fmt.Sprintf("policy %s has scope %q, which this build does not know", key, p.Scope)
		}
		applies := p.Scope == "Global" || p.Scope == "Namespace" && p.Namespace == w.Namespace || named[key]
		if !applies {
			continue
		}
		if p.DryRun {
			h.Notes = append(h.Notes, "policy "+key+" is dry-run: only logged, not enforced")
			continue
		}
		switch p.Action {
		case "Deny":
			deny = append(deny, p)
		case "Allow":
			allow = append(allow, p)
		default:
			return unknown, fmt.Sprintf("policy %s applies with action %q, which this build does not know", key, p.Action)
		}
	}
	for _, k := range w.AuthorizationPolicies {
		if !held[k] {
			h.Notes = append(h.Notes, "policy "+k+" selects "+w.String()+" but is not in the dump (not sent yet, or just removed): ztunnel skips it too")
		}
	}
	record := func(p *Policy, decision string, why string) {
		h.Authorization = append(h.Authorization, trace.Authz{Filter: "ztunnel L4", Action: strings.ToUpper(p.Action), Policy: p.Namespace + "/" + p.Name, Decision: decision, Reason: "policy " + p.Namespace + "/" + p.Name + ", " + why})
	}
	undecided := ""
	for _, p := range deny {
		switch m, why := p.matches(c); m {
		case yes:
			record(p, "deny", why)
			return no, "DENY policy " + p.Namespace + "/" + p.Name + " matches (" + why + ")"
		case unknown:
			record(p, "unknown", why)
			undecided = "whether DENY policy " + p.Namespace + "/" + p.Name + " matches: " + why
		default:
			record(p, "no match", why)
		}
	}
	if undecided != "" {
		return unknown, undecided
	}
	if len(allow) == 0 {
		step(h, "authorization", "-", "no ALLOW policy applies to %s: allowed", w)
		return yes, ""
	}
	for _, p := range allow {
		switch m, why := p.matches(c); m {
		case yes:
			record(p, "allow", why)
			return yes, ""
		case unknown:
			record(p, "unknown", why)
			undecided = "whether ALLOW policy " + p.Namespace + "/" + p.Name + " matches: " + why
		default:
			record(p, "no match", why)
		}
	}
	if undecided != "" {
		return unknown, undecided
	}
	names := make([]string, 0, len(allow))
	for _, p := range allow {
		names = append(names, p.Namespace+"/"+p.Name)
	}
	return no, "no ALLOW policy matches (" + strings.Join(names, ", ") + ")"
}

// matches evaluates a policy's rules (any rule; every clause of it; any
// match of a clause; every field of a match) in three values: a field
// that needs the client identity or address, not given, is unknown.
func (p *Policy) matches(c Conn) (tri, string) {
	if len(p.Rules) == 0 {
		return no, "it has no rules, so it matches nothing"
	}
	result, why := no, ""
	for i, rule := range p.Rules {
		r, rwhy := yes, ""
		for _, clause := range rule {
			cm, cwhy := no, "no match of the clause applies"
			if len(clause) == 0 {
				cm, cwhy = yes, "an empty clause"
			}
			for _, m := range clause {
				mm, mwhy := m.matches(c)
				if mm == yes {
					cm, cwhy = yes, mwhy
					break
				}
				if mm == unknown {
					cm, cwhy = unknown, mwhy
				} else if cm == no {
					cwhy = mwhy
				}
			}
			if cm == no {
				r, rwhy = no, cwhy
				break
			}
			if cm == unknown {
				r, rwhy = unknown, cwhy
			} else if r == yes {
				rwhy = joinWhy(rwhy, cwhy)
			}
		}
		switch r {
		case yes:
			return yes, fmt.Sprintf("rule %d: %s", i, rwhy)
		case unknown:
			result, why = unknown, fmt.Sprintf("rule %d: %s", i, rwhy)
		default:
			if result == no {
				why = fmt.Sprintf("rule %d: %s", i, rwhy)
			}
		}
	}
	return result, why
}

func joinWhy(a, b string) string {
	if a == "" {
		return b
	}
	return a + ", " + b
}

// matches evaluates one match: every field it sets must hold.
func (m *Match) matches(c Conn) (tri, string) {
	if len(m.Unknown) > 0 {
		return unknown, "field " + strings.Join(m.Unknown, ", ") + " of a match is not evaluated by this build"
	}
	if m.empty() {
		return no, "an empty match matches nothing"
	}
	ns, sa := "", ""
	if rest, ok := strings.CutPrefix(c.SrcIdentity, "spiffe://"); ok {
		parts := strings.Split(rest, "/")
		if len(parts) == 5 && parts[1] == "ns" && parts[3] == "sa" {
			ns, sa = parts[2], parts[4]
		}
	}
	idKnown := c.SrcIdentity != ""
	var why []string
	result := yes
	field := func(name string, pos, neg []string, known bool, test func(string) bool) {
		if len(pos) == 0 && len(neg) == 0 {
			return
		}
		if !known {
			if result == yes {
				result = unknown
			}
			why = append(why, name+" not known")
			return
		}
		if len(pos) > 0 && !anyOf(pos, test) {
			result = no
			why = append(why, name+" not in "+strings.Join(pos, ","))
			return
		}
		if anyOf(neg, test) {
			result = no
			why = append(why, name+" excluded by "+strings.Join(neg, ","))
			return
		}
		why = append(why, name+" matches")
	}
	strs := func(ms []StringMatch) []string {
		out := make([]string, 0, len(ms))
		for _, s := range ms {
			out = append(out, s.Kind+":"+s.Value)
		}
		return out
	}
	smatch := func(check string) func(string) bool {
		return func(enc string) bool {
			kind, v, _ := strings.Cut(enc, ":")
			switch kind {
			case "Prefix":
				return strings.HasPrefix(check, v)
			case "Suffix":
				return strings.HasSuffix(check, v)
			case "Presence":
				return check != ""
			}
			return check == v
		}
	}
	accts := func(ms []AccountMatch) []string {
		out := make([]string, 0, len(ms))
		for _, a := range ms {
			out = append(out, a.Namespace+"/"+a.ServiceAccount)
		}
		return out
	}
	ports := func(ps []int) []string {
		out := make([]string, 0, len(ps))
		for _, p := range ps {
			out = append(out, strconv.Itoa(p))
		}
		return out
	}
	ipIn := func(ip string) func(string) bool {
		return func(cidr string) bool {
			a, err := netip.ParseAddr(ip)
			if err != nil {
				return false
			}
			if p, err := netip.ParsePrefix(cidr); err == nil {
				return p.Contains(a)
			}
			b, err := netip.ParseAddr(cidr)
			return err == nil && a == b
		}
	}
	principal := strings.TrimPrefix(c.SrcIdentity, "spiffe://")
	field("destination IP", m.DestinationIPs, m.NotDestinationIPs, c.DstIP != "", ipIn(c.DstIP))
	field("source IP", m.SourceIPs, m.NotSourceIPs, c.SrcIP != "", ipIn(c.SrcIP))
	field("destination port", ports(m.DestinationPorts), ports(m.NotDestinationPorts), true, func(p string) bool { return p == strconv.Itoa(int(c.DstPort)) })
	field("service account", accts(m.ServiceAccounts), accts(m.NotServiceAccounts), idKnown, func(a string) bool { return ns != "" && a == ns+"/"+sa })
	field("principal", strs(m.Principals), strs(m.NotPrincipals), idKnown, func(enc string) bool {
		return strings.HasPrefix(c.SrcIdentity, "spiffe://") && smatch(principal)(enc)
	})
	field("namespace", strs(m.Namespaces), strs(m.NotNamespaces), idKnown, smatch(ns))
	return result, strings.Join(why, ", ")
}

func (m *Match) empty() bool {
	return len(m.Namespaces)+len(m.NotNamespaces)+len(m.ServiceAccounts)+len(m.NotServiceAccounts)+len(m.Principals)+len(m.NotPrincipals)+
		len(m.SourceIPs)+len(m.NotSourceIPs)+len(m.DestinationIPs)+len(m.NotDestinationIPs)+len(m.DestinationPorts)+len(m.NotDestinationPorts) == 0
}

func anyOf(vs []string, test func(string) bool) bool {
	for _, v := range vs {
		if test(v) {
			return true
		}
	}
	return false
}

func portList(s *Service) string {
	ps := make([]string, 0, len(s.Ports))
	for p := range s.Ports {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return strings.Join(ps, ",")
}

func firstIP(w *Workload) string {
	if len(w.IPs) > 0 {
		return w.IPs[0]
	}
	return w.Hostname
}

func netJoin(ip string, port uint32) string {
	return net.JoinHostPort(ip, strconv.Itoa(int(port)))
}

func dashIP(s string) string {
	if s == "" {
		return "the client (no --source-ip given)"
	}
	return s
}
