package render

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// Listeners writes one row per filter chain (the default chain included).
func Listeners(w io.Writer, ls []*xds.Listener, opts TableOptions) error {
	cols := []string{"ADDRESS", "PORT", "MATCH", "DESTINATION", "STATE"}
	if opts.Wide {
		cols = []string{"NAME", "ADDRESS", "PORT", "MATCH", "DESTINATION", "STATE", "TYPE", "CHAIN", "TLS", "DIRECTION", "LISTENER FILTERS", "VERSION"}
	}
	t := NewTable(w, opts, cols...)
	// A row for each chain: the chains are the items made on several cores
	// (a gateway has a few listeners of many chains).
	type chain struct {
		l  *xds.Listener
		fc *xds.FilterChain
	}
	var chains []chain
	for _, l := range ls {
		if len(l.FilterChains) == 0 {
			chains = append(chains, chain{l, &xds.FilterChain{Match: &listenerv3.FilterChainMatch{}}})
		}
		for _, fc := range l.FilterChains {
			chains = append(chains, chain{l, fc})
		}
	}
	t.RowsOf(len(chains), func(i int, r *Rows) {
		l, fc := chains[i].l, chains[i].fc
		addr := l.Address
		if len(l.AdditionalAddresses) > 0 {
			addr += "," + strings.Join(l.AdditionalAddresses, ",")
		}
		port := strconv.FormatUint(uint64(l.Port), 10)
		switch {
		case l.Protocol == "internal": // port 0, as istioctl prints it; the address says envoy://NAME
		case l.Protocol != "" && l.Protocol != "TCP":
			port += "/" + l.Protocol // as kubectl writes a Service's port: 443/UDP
		}
		match, dest := ChainMatch(fc), ChainDestination(fc)
		if l.UDPDestination != "" && len(l.FilterChains) == 0 {
			dest = "UDP proxy: " + l.UDPDestination
		}
		if l.Matcher.Exists() && !fc.Default {
			match = "matcher tree: chain " + dash(fc.Name)
		}
		if !opts.Wide {
			r.Row(addr, port, match, dest, string(l.State))
			return
		}
		r.Row(l.Name, addr, port, match, dest, string(l.State), l.Type(), dash(fc.Name), chainTLS(fc),
			dash(l.Direction), dash(strings.Join(l.ListenerFilters, ",")), dash(l.Version))
	})
	if err := t.Flush(); err != nil {
		return err
	}
	return stateNotes(w, "listener", listenerNotes(ls))
}

func listenerNotes(ls []*xds.Listener) []note {
	var ns []note
	for _, l := range ls {
		ns = addNote(ns, note{l.Name, l.State, l.Version, l.LastUpdated, l.Error})
	}
	return ns
}

// addNote keeps the notes worth a line below the table: rejected and warming resources.
func addNote(ns []note, n note) []note {
	if n.state == envoyadmin.StateError || n.state == envoyadmin.StateWarming {
		ns = append(ns, n)
	}
	return ns
}

// note is what is said under a table about resources not simply in use.
type note struct {
	name    string
	state   envoyadmin.State
	version string
	when    string
	err     string
}

// stateNotes explains rejected and warming resources below a table: the
// reason Envoy gave is the most useful line of the whole output.
func stateNotes(w io.Writer, kind string, ns []note) error {
	var lines []string
	for _, n := range ns {
		switch n.state {
		case envoyadmin.StateError:
			line := fmt.Sprintf("  %s %s: update rejected", kind, n.name)
			if n.version != "" {
				line += " (version " + n.version + ")"
			}
			if n.when != "" {
				line += " at " + n.when
			}
			if n.err != "" {
				line += ": " + n.err
			}
			lines = append(lines, line)
		case envoyadmin.StateWarming:
			lines = append(lines, fmt.Sprintf("  %s %s: warming (received, waiting for its clusters, endpoints or secrets)", kind, n.name))
		}
	}
	if len(lines) == 0 {
		return nil
	}
	_, err := fmt.Fprintf(w, "\nNot in effect:\n%s\n", strings.Join(lines, "\n"))
	return err
}

// Names of well-known ALPN lists, as istioctl writes them.
var alpnNames = []struct {
	name  string
	alpns []string
}{
	{"HTTP TLS", []string{"http/1.0", "http/1.1", "h2c", "istio-http/1.0", "istio-http/1.1", "istio-h2"}},
	{"Istio HTTP Plain", []string{"istio", "istio-http/1.0", "istio-http/1.1", "istio-h2"}},
	{"TCP TLS", []string{"istio-peer-exchange", "istio"}},
	{"HTTP", []string{"http/1.0", "http/1.1", "h2c"}},
}

// ChainMatch describes a filter chain match the way istioctl does
// ("SNI: ...; Trans: tls; App: HTTP; Addr: 10.0.0.0/8:80"), plus the source
// conditions istioctl leaves out. "ALL" matches everything.
func ChainMatch(fc *xds.FilterChain) string {
	if fc.MatchError != "" {
		return "unreadable: " + fc.MatchError
	}
	m := fc.Match
	var d []string
	if len(m.ServerNames) > 0 {
		d = append(d, "SNI: "+strings.Join(m.ServerNames, ","))
	}
	if m.TransportProtocol != "" {
		d = append(d, "Trans: "+m.TransportProtocol)
	}
	if len(m.ApplicationProtocols) > 0 {
		d = append(d, "App: "+alpnName(m.ApplicationProtocols))
	}
	port := ""
	if m.DestinationPort != nil {
		port = fmt.Sprintf(":%d", m.DestinationPort.GetValue())
	}
	if len(m.PrefixRanges) > 0 {
		d = append(d, "Addr: "+cidrs(m.PrefixRanges)+port)
	} else if port != "" {
		d = append(d, "Addr: *"+port)
	}
	if len(m.DirectSourcePrefixRanges) > 0 {
		d = append(d, "DirectSrc: "+cidrs(m.DirectSourcePrefixRanges))
	}
	if m.SourceType != listenerv3.FilterChainMatch_ANY {
		d = append(d, "SrcType: "+m.SourceType.String())
	}
	if len(m.SourcePrefixRanges) > 0 {
		d = append(d, "Src: "+cidrs(m.SourcePrefixRanges))
	}
	if len(m.SourcePorts) > 0 {
		ps := make([]string, len(m.SourcePorts))
		for i, p := range m.SourcePorts {
			ps[i] = strconv.FormatUint(uint64(p), 10)
		}
		d = append(d, "SrcPort: "+strings.Join(ps, ","))
	}
	s := strings.Join(d, "; ")
	if s == "" {
		s = "ALL"
	}
	if fc.Default {
		s += " (default chain)"
	}
	return s
}

func alpnName(alpns []string) string {
	for _, n := range alpnNames {
		if equalStrings(alpns, n.alpns) {
			return n.name
		}
	}
	return strings.Join(alpns, ",")
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func cidrs(rs []*corev3.CidrRange) string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = fmt.Sprintf("%s/%d", r.GetAddressPrefix(), r.GetPrefixLen().GetValue())
	}
	return strings.Join(out, ",")
}

// ChainDestination says where a filter chain sends traffic.
func ChainDestination(fc *xds.FilterChain) string {
	d := fc.Destination
	switch d.Kind {
	case xds.DestRDS:
		return "Route: " + d.RouteConfig
	case xds.DestScopedRoute:
		return "Scoped Routes: " + d.RouteConfig
	case xds.DestInlineRoute:
		return inlineRoute(d.Inline)
	case xds.DestHTTP:
		return "HTTP"
	case xds.DestCluster:
		return clusterDest(d.Cluster)
	case xds.DestWeighted:
		return "Clusters: " + weighted(d.Weighted, 0)
	case xds.DestOther:
		return "Non-HTTP/Non-TCP: " + d.Filter
	}
	return "-"
}

// clusterDest writes Istio's special clusters by name alone, as istioctl does.
func clusterDest(c string) string {
	if strings.Contains(c, "Cluster") {
		return c
	}
	return "Cluster: " + c
}

// inlineRoute summarizes an inline route configuration: a catch-all route to
// one cluster is just that cluster.
func inlineRoute(rc *xds.RouteConfig) string {
	if len(rc.VirtualHosts) == 1 {
		vh := rc.VirtualHosts[0]
		if len(vh.Domains) == 1 && vh.Domains[0] == "*" && len(vh.Routes) == 1 {
			r := vh.Routes[0]
			if r.Match.GetPrefix() == "/" && r.Action.Kind == xds.ActCluster && len(r.Match.Headers) == 0 {
				return clusterDest(r.Action.Cluster)
			}
		}
	}
	var vhs []string
	for _, vh := range rc.VirtualHosts {
		var routes []string
		for _, r := range vh.Routes {
			routes = append(routes, pathMatch(r))
		}
		s := strings.Join(routes, ", ")
		if !(len(vh.Domains) == 1 && vh.Domains[0] == "*") {
			s = strings.Join(vh.Domains, "/") + " " + s
		}
		vhs = append(vhs, s)
	}
	return "Inline Route: " + strings.Join(vhs, "; ")
}

func chainTLS(fc *xds.FilterChain) string {
	if fc.TLS == nil {
		return "-"
	}
	s := "TLS"
	if fc.TLS.RequireClientCert {
		s = "mTLS"
	}
	if fc.TLS.QUIC {
		s = "QUIC " + s
	}
	if len(fc.TLS.Certificates) > 0 {
		s += " cert=" + strings.Join(fc.TLS.Certificates, ",")
	}
	return s
}
