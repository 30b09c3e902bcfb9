package ztunnel

import (
	"fmt"
	"math/big"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Filter narrows the views: every set field must match (case-insensitive,
// as istioctl's ztunnel-config compares).
type Filter struct {
	Namespace string
	Node      string
	Address   string
	// Workload is a pod name, or NAME.NAMESPACE.
	Workload  string
	Direction string // connections: inbound, outbound or ""
}

func (f Filter) normalized() Filter {
	if f.Workload != "" && f.Namespace == "" {
		if name, ns, ok := strings.Cut(f.Workload, "."); ok {
			f.Workload, f.Namespace = name, ns
		}
	}
	return f
}

func eq(filter, v string) bool { return filter == "" || strings.EqualFold(filter, v) }

// WorkloadRow is one workload as `ztunnel workloads` shows it.
type WorkloadRow struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Address   string `json:"address"`
	Node      string `json:"node"`
	// Waypoint is the name of the waypoint Service the workload uses,
	// "None" when it uses none, "NA" when the dump lacks that Service.
	Waypoint string `json:"waypoint"`
	Protocol string `json:"protocol"` // HBONE or TCP
	// -o wide
	ServiceAccount string `json:"serviceAccount"`
	Status         string `json:"status"`
	Network        string `json:"network"`
	Workload       string `json:"workload"`  // workloadName (workloadType)
	Canonical      string `json:"canonical"` // canonicalName/canonicalRevision
	Policies       int    `json:"policies"`
	UID            string `json:"uid"`
}

// SelectWorkloads are the workloads the filter keeps, by namespace, name, node.
func (d *Dump) SelectWorkloads(f Filter) []*Workload {
	f = f.normalized()
	var out []*Workload
	for _, w := range d.Workloads {
		if !eq(f.Workload, w.Name) || !eq(f.Namespace, w.Namespace) || !eq(f.Node, w.Node) {
			continue
		}
		if f.Address != "" && !hasIP(w.IPs, f.Address) {
			continue
		}
		out = append(out, w)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Namespace+"."+out[i].Name, out[j].Namespace+"."+out[j].Name
		if a != b {
			return a < b
		}
		return out[i].Node < out[j].Node
	})
	return out
}

func hasIP(ips []string, addr string) bool {
	for _, ip := range ips {
		if strings.EqualFold(ip, addr) {
			return true
		}
	}
	return false
}

// WorkloadRows are the rows of `ztunnel workloads`.
func (d *Dump) WorkloadRows(f Filter) []WorkloadRow {
	var out []WorkloadRow
	for _, w := range d.SelectWorkloads(f) {
		addr := strings.Join(w.IPs, ",")
		if addr == "" {
			addr = w.Hostname
		}
		kind := w.WorkloadName
		if w.WorkloadType != "" {
			kind += " (" + w.WorkloadType + ")"
		}
		canonical := w.CanonicalName
		if w.CanonicalRevision != "" {
			canonical += "/" + w.CanonicalRevision
		}
		out = append(out, WorkloadRow{
			Namespace: w.Namespace, Name: w.Name, Address: addr, Node: w.Node,
			Waypoint: d.WaypointName(w.Waypoint), Protocol: w.Protocol,
			ServiceAccount: w.ServiceAccount, Status: w.Status, Network: w.Network,
			Workload: kind, Canonical: canonical, Policies: len(w.AuthorizationPolicies), UID: w.UID,
		})
	}
	return out
}

// WaypointName names the Service a waypoint address points at, as
// istioctl does: "None" without a waypoint, "NA" when no Service in the
// dump has that hostname or VIP.
func (d *Dump) WaypointName(g *GatewayAddress) string {
	if g == nil {
		return "None"
	}
	if s := d.ServiceFor(g.Destination); s != nil {
		return s.Name
	}
	return "NA"
}

// ServiceFor is the Service a destination names, or nil.
func (d *Dump) ServiceFor(dest Destination) *Service {
	want := dest.String()
	for _, s := range d.Services {
		if s.Namespace+"/"+s.Hostname == want {
			return s
		}
		for _, vip := range s.VIPs {
			if vip == want {
				return s
			}
		}
	}
	return nil
}

// ServiceRow is one service as `ztunnel services` shows it.
type ServiceRow struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	VIPs      string `json:"vips"`
	Waypoint  string `json:"waypoint"`
	Endpoints string `json:"endpoints"` // healthy/all
	// -o wide
	Hostname     string `json:"hostname"`
	Ports        string `json:"ports"` // service:target, ...
	LoadBalancer string `json:"loadBalancer"`
}

// SelectServices are the services the filter keeps, by namespace, name, hostname.
func (d *Dump) SelectServices(f Filter) []*Service {
	return inNamespace(d.Services, f, func(s *Service) [3]string { return [3]string{s.Namespace, s.Name, s.Hostname} })
}

// inNamespace keeps the items of the filter's namespace (all without one),
// sorted by the keys given (namespace first).
func inNamespace[T any](items []*T, f Filter, keys func(*T) [3]string) []*T {
	f = f.normalized()
	var out []*T
	for _, x := range items {
		if eq(f.Namespace, keys(x)[0]) {
			out = append(out, x)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := keys(out[i]), keys(out[j])
		for k := range a {
			if a[k] != b[k] {
				return a[k] < b[k]
			}
		}
		return false
	})
	return out
}

// ServiceRows are the rows of `ztunnel services`.
func (d *Dump) ServiceRows(f Filter) []ServiceRow {
	byUID := map[string]*Workload{}
	for _, w := range d.Workloads {
		byUID[w.UID] = w
	}
	var out []ServiceRow
	for _, s := range d.SelectServices(f) {
		ips := make([]string, 0, len(s.VIPs))
		for _, v := range s.VIPs {
			_, ip := splitNetwork(v)
			ips = append(ips, ip)
		}
		healthy := 0
		for _, ep := range s.Endpoints {
			if d.Healthy(ep, byUID) {
				healthy++
			}
		}
		ports := make([]string, 0, len(s.Ports))
		for p, t := range s.Ports {
			ports = append(ports, p+":"+strconv.Itoa(t))
		}
		sort.Slice(ports, func(i, j int) bool { return portLess(ports[i], ports[j]) })
		lb := ""
		if s.LoadBalancer != nil {
			lb = s.LoadBalancer.Mode
			if len(s.LoadBalancer.RoutingPreferences) > 0 {
				lb += " " + strings.Join(s.LoadBalancer.RoutingPreferences, ">")
			}
		}
		out = append(out, ServiceRow{
			Namespace: s.Namespace, Name: s.Name, VIPs: strings.Join(ips, ","), Waypoint: d.WaypointName(s.Waypoint),
			Endpoints: fmt.Sprintf("%d/%d", healthy, len(s.Endpoints)),
			Hostname:  s.Hostname, Ports: strings.Join(ports, ","), LoadBalancer: lb,
		})
	}
	return out
}

func portLess(a, b string) bool {
	pa, _ := strconv.Atoi(a[:strings.IndexByte(a, ':')])
	pb, _ := strconv.Atoi(b[:strings.IndexByte(b, ':')])
	return pa < pb
}

// Healthy tells whether an endpoint takes traffic: its workload is known
// and Healthy, and the endpoint's own status (newer ztunnels) is too.
func (d *Dump) Healthy(ep *Endpoint, byUID map[string]*Workload) bool {
	w, ok := byUID[ep.WorkloadUID]
	return ok && w.Status == "Healthy" && (ep.Status == "" || ep.Status == "Healthy")
}

// PolicyRow is one policy as `ztunnel policies` shows it.
type PolicyRow struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Action    string `json:"action"`
	Scope     string `json:"scope"`
	// -o wide: the rules in words ("" for none: an Allow policy without
	// rules allows nothing).
	Rules  string `json:"rules"`
	DryRun bool   `json:"dryRun"`
}

// SelectPolicies are the policies the filter keeps, by namespace and name.
func (d *Dump) SelectPolicies(f Filter) []*Policy {
	return inNamespace(d.Policies, f, func(p *Policy) [3]string { return [3]string{p.Namespace, p.Name, ""} })
}

// PolicyRows are the rows of `ztunnel policies`.
func (d *Dump) PolicyRows(f Filter) []PolicyRow {
	var out []PolicyRow
	for _, p := range d.SelectPolicies(f) {
		var rules []string
		for _, r := range p.Rules {
			rules = append(rules, describeRule(r))
		}
		out = append(out, PolicyRow{Namespace: p.Namespace, Name: p.Name, Action: p.Action, Scope: p.Scope,
			Rules: strings.Join(rules, "; "), DryRun: p.DryRun})
	}
	return out
}

// describeRule writes a rule (clauses ANDed, each clause's matches ORed)
// in words.
func describeRule(rule [][]*Match) string {
	var clauses []string
	for _, clause := range rule {
		var alts []string
		for _, m := range clause {
			alts = append(alts, describeMatch(m))
		}
		clauses = append(clauses, strings.Join(alts, " or "))
	}
	if len(clauses) == 0 {
		return "any"
	}
	return strings.Join(clauses, " and ")
}

func describeMatch(m *Match) string {
	var parts []string
	add := func(what string, vals []string, not bool) {
		if len(vals) == 0 {
			return
		}
		if not {
			what = "not " + what
		}
		parts = append(parts, what+" "+strings.Join(vals, ","))
	}
	strs := func(ms []StringMatch) []string {
		var out []string
		for _, s := range ms {
			out = append(out, s.String())
		}
		return out
	}
	accts := func(ms []AccountMatch) []string {
		var out []string
		for _, a := range ms {
			out = append(out, a.Namespace+"/"+a.ServiceAccount)
		}
		return out
	}
	ports := func(ps []int) []string {
		var out []string
		for _, p := range ps {
			out = append(out, strconv.Itoa(p))
		}
		return out
	}
	add("namespace", strs(m.Namespaces), false)
	add("namespace", strs(m.NotNamespaces), true)
	add("sa", accts(m.ServiceAccounts), false)
	add("sa", accts(m.NotServiceAccounts), true)
	add("principal", strs(m.Principals), false)
	add("principal", strs(m.NotPrincipals), true)
	add("from", m.SourceIPs, false)
	add("from", m.NotSourceIPs, true)
	add("to", m.DestinationIPs, false)
	add("to", m.NotDestinationIPs, true)
	add("port", ports(m.DestinationPorts), false)
	add("port", ports(m.NotDestinationPorts), true)
	if len(parts) == 0 {
		return "any"
	}
	return strings.Join(parts, " ")
}

// CertRow is one certificate as `ztunnel certificates` shows it.
type CertRow struct {
	Identity  string `json:"identity"`
	Type      string `json:"type"` // Leaf, Intermediate, Root, NA
	State     string `json:"state"`
	Valid     bool   `json:"valid"`
	Serial    string `json:"serial"` // hex, as istioctl prints it
	NotAfter  string `json:"notAfter"`
	NotBefore string `json:"notBefore"`
}

// CertRows are the rows of `ztunnel certificates`, valid at now.
func (d *Dump) CertRows(now time.Time) []CertRow {
	var out []CertRow
	for _, c := range d.Certificates {
		state := c.State
		if strings.Contains(state, "Unavailable") {
			state = "Unavailable" // ztunnel appends the reason
		}
		if len(c.CertChain) == 0 {
			out = append(out, CertRow{Identity: c.Identity, Type: "NA", State: state, Serial: "NA", NotAfter: "NA", NotBefore: "NA"})
			continue
		}
		legacy := len(c.RootCerts) == 0 // before, the root ended the chain
		row := func(typ string, x *Cert) CertRow {
			return CertRow{Identity: c.Identity, Type: typ, State: state, Valid: validAt(x, now),
				Serial: hexSerial(x.SerialNumber), NotAfter: orNA(x.ExpirationTime), NotBefore: orNA(x.ValidFrom)}
		}
		for i, x := range c.CertChain {
			typ := "Intermediate"
			switch {
			case i == 0:
				typ = "Leaf"
			case i == len(c.CertChain)-1 && legacy:
				typ = "Root"
			}
			out = append(out, row(typ, x))
		}
		for _, x := range c.RootCerts {
			out = append(out, row("Root", x))
		}
	}
	return out
}

func hexSerial(dec string) string {
	n, ok := new(big.Int).SetString(dec, 10)
	if !ok {
		return orNA(dec)
	}
	return n.Text(16)
}

func orNA(s string) string {
	if s == "" {
		return "NA"
	}
	return s
}

func validAt(c *Cert, now time.Time) bool {
	from, err1 := time.Parse(time.RFC3339, c.ValidFrom)
	to, err2 := time.Parse(time.RFC3339, c.ExpirationTime)
	return err1 == nil && err2 == nil && now.After(from) && now.Before(to)
}

// ConnectionRow is one open connection as `ztunnel connections` shows it.
type ConnectionRow struct {
	Workload     string `json:"workload"` // NAME.NAMESPACE
	Direction    string `json:"direction"`
	Local        string `json:"local"`
	Remote       string `json:"remote"`
	RemoteTarget string `json:"remoteTarget"`
	Protocol     string `json:"protocol"`
}

// SelectStates are the captured workloads the filter keeps.
func (d *Dump) SelectStates(f Filter) []*WorkloadState {
	f = f.normalized()
	var out []*WorkloadState
	for _, s := range d.States {
		if eq(f.Namespace, s.Info.Namespace) && eq(f.Workload, s.Info.Name) {
			out = append(out, s)
		}
	}
	return out
}

// ConnectionRows are the rows of `ztunnel connections`: addresses named
// by the service or workload that has them, unless raw.
func (d *Dump) ConnectionRows(f Filter, raw bool) []ConnectionRow {
	services, workloads := map[string]string{}, map[string]string{}
	for _, s := range d.Services {
		ip := "None"
		if len(s.VIPs) > 0 {
			_, ip = splitNetwork(s.VIPs[0])
		}
		services[ip] = s.Hostname
	}
	for _, w := range d.Workloads {
		ip := "None"
		if len(w.IPs) > 0 {
			ip = w.IPs[0]
		}
		workloads[ip] = w.Name + "." + w.Namespace
	}
	name := func(addr string) string {
		if raw {
			return addr
		}
		ip, port, err := net.SplitHostPort(addr)
		if err != nil {
			return addr
		}
		if s, ok := services[ip]; ok {
			return net.JoinHostPort(s, port)
		}
		if w, ok := workloads[ip]; ok {
			return net.JoinHostPort(w, port)
		}
		return addr
	}
	var out []ConnectionRow
	for _, s := range d.SelectStates(f) {
		wl := s.Info.Name + "." + s.Info.Namespace
		if f.Direction != "outbound" {
			for _, c := range s.Connections.Inbound {
				out = append(out, ConnectionRow{Workload: wl, Direction: "Inbound", Local: name(c.ActualDst), Remote: name(c.Src),
					RemoteTarget: c.OriginalDst, Protocol: c.Protocol})
			}
		}
		if f.Direction != "inbound" {
			for _, c := range s.Connections.Outbound {
				out = append(out, ConnectionRow{Workload: wl, Direction: "Outbound", Local: name(c.Src), Remote: name(c.ActualDst),
					RemoteTarget: name(c.OriginalDst), Protocol: c.Protocol})
			}
		}
	}
	return out
}

// WorkloadNamed is the workload of a pod, or nil.
func (d *Dump) WorkloadNamed(namespace, name string) *Workload {
	for _, w := range d.Workloads {
		if w.Namespace == namespace && w.Name == name {
			return w
		}
	}
	return nil
}

// ServicesOf are the services a workload is an endpoint of.
func (d *Dump) ServicesOf(w *Workload) []*Service {
	var out []*Service
	for _, s := range d.Services {
		for _, ep := range s.Endpoints {
			if ep.WorkloadUID == w.UID {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// Waypoints are the waypoint Services traffic to a workload goes through:
// its own waypoint, and those of the services it backs.
func (d *Dump) Waypoints(w *Workload) []*Service {
	var out []*Service
	seen := map[*Service]bool{}
	add := func(g *GatewayAddress) {
		if g == nil {
			return
		}
		if s := d.ServiceFor(g.Destination); s != nil && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	add(w.Waypoint)
	for _, s := range d.ServicesOf(w) {
		add(s.Waypoint)
	}
	return out
}

// Backends are the workloads behind a service.
func (d *Dump) Backends(s *Service) []*Workload {
	var out []*Workload
	for _, w := range d.Workloads {
		if _, ok := s.Endpoints[w.UID]; ok {
			out = append(out, w)
			continue
		}
		for _, ep := range s.Endpoints {
			if ep.WorkloadUID == w.UID {
				out = append(out, w)
				break
			}
		}
	}
	return out
}
