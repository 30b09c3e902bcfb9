package trace

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// Listener filter names, current and legacy.
var (
	tlsInspector  = []string{"envoy.filters.listener.tls_inspector", "envoy.listener.tls_inspector"}
	httpInspector = []string{"envoy.filters.listener.http_inspector", "envoy.listener.http_inspector"}
)

// inspect works out what Envoy learns of the connection before choosing a
// chain: without a tls_inspector it sees no TLS (transport raw_buffer, no
// SNI, no ALPN); an http_inspector reads plaintext HTTP's version as ALPN.
func (t *tracer) inspect(l *xds.Listener) {
	tlsOn := t.listenerFilterOn(l, tlsInspector)
	httpOn := t.listenerFilterOn(l, httpInspector)
	t.transport, t.alpn, t.sni = "raw_buffer", nil, ""
	if t.req.TLS != "plaintext" {
		if tlsOn {
			t.transport, t.alpn, t.sni = "tls", t.req.ALPN, t.req.SNI
		} else {
			t.note("no tls_inspector on %s for port %d: Envoy does not read the TLS ClientHello, so chains see transport raw_buffer, no SNI and no ALPN", l.Name, t.req.Port)
		}
	}
	if httpOn && t.req.TLS == "plaintext" {
		switch t.req.Protocol {
		case "http":
			t.alpn = []string{"http/1.1"}
		case "http2", "grpc":
			t.alpn = []string{"h2c"}
		}
	}
	t.step("listener_filters", l.Name, "the chain is chosen on transport %s, SNI %q, ALPN %s", t.transport, t.sni, dash(strings.Join(t.alpn, ",")))
}

// listenerFilterOn tells whether one of the named listener filters runs for
// the connection's destination port (filter_disabled is Envoy's predicate
// for where it does not).
func (t *tracer) listenerFilterOn(l *xds.Listener, names []string) bool {
	on := false
	_ = l.Entry.Resource.Get("listener_filters").Items(func(_ int, lf jsonscan.Value) bool {
		name := lf.Get("name").Str()
		known := false
		for _, n := range names {
			known = known || n == name
		}
		if !known {
			return true
		}
		disabled := lf.Get("filter_disabled")
		if !disabled.Exists() {
			on = true
			return false
		}
		p := &listenerv3.ListenerFilterChainMatchPredicate{}
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(disabled.Raw(), p); err != nil {
			t.note("the filter_disabled of %s could not be read: assumed enabled", name)
			on = true
			return false
		}
		if !predicate(p, t.req.Port) {
			on = true
			return false
		}
		return true
	})
	return on
}

// predicate evaluates a ListenerFilterChainMatchPredicate for a
// destination port.
func predicate(p *listenerv3.ListenerFilterChainMatchPredicate, port uint32) bool {
	switch r := p.Rule.(type) {
	case *listenerv3.ListenerFilterChainMatchPredicate_AnyMatch:
		return r.AnyMatch
	case *listenerv3.ListenerFilterChainMatchPredicate_NotMatch:
		return !predicate(r.NotMatch, port)
	case *listenerv3.ListenerFilterChainMatchPredicate_OrMatch:
		for _, q := range r.OrMatch.Rules {
			if predicate(q, port) {
				return true
			}
		}
		return false
	case *listenerv3.ListenerFilterChainMatchPredicate_AndMatch:
		for _, q := range r.AndMatch.Rules {
			if !predicate(q, port) {
				return false
			}
		}
		return true
	case *listenerv3.ListenerFilterChainMatchPredicate_DestinationPortRange:
		return int64(port) >= int64(r.DestinationPortRange.Start) && int64(port) < int64(r.DestinationPortRange.End)
	}
	return false
}

// criterion is one level of Envoy's filter chain sieve: whether a chain's
// match sets it, and how well a chain that sets it matches the connection
// (0: not at all; higher: more specific).
type criterion struct {
	stage string
	set   func(m *listenerv3.FilterChainMatch) bool
	score func(m *listenerv3.FilterChainMatch) int
	why   func(m *listenerv3.FilterChainMatch) string
}

// filterChain runs Envoy's filter chain match: at each criterion, in
// Envoy's order, the chains that set it and match best stay; if none of
// them matches, the chains that leave it unset stay. One chain must remain;
// else the default chain, else the connection is closed.
func (t *tracer) filterChain(l *xds.Listener) (*xds.FilterChain, string) {
	if l.Matcher.Exists() {
		return t.matcherTree(l)
	}
	var chains, deflt []*xds.FilterChain
	for _, fc := range l.FilterChains {
		if fc.Default {
			deflt = append(deflt, fc)
			continue
		}
		if fc.MatchError != "" {
			t.reject("filter_chain", dash(fc.Name), "its filter_chain_match could not be read: %s", fc.MatchError)
			continue
		}
		chains = append(chains, fc)
	}
	ip, _ := netip.ParseAddr(t.req.Address)
	for _, c := range t.criteria(ip) {
		anySet := false
		for _, fc := range chains {
			anySet = anySet || c.set(fc.Match)
		}
		if !anySet {
			continue
		}
		best, kept := 0, []*xds.FilterChain(nil)
		for _, fc := range chains {
			if !c.set(fc.Match) {
				continue
			}
			s := c.score(fc.Match)
			switch {
			case s > best:
				for _, k := range kept {
					t.reject("filter_chain", dash(k.Name), "%s: a chain matching it more specifically wins", c.stage)
				}
				best, kept = s, []*xds.FilterChain{fc}
			case s == best && s > 0:
				kept = append(kept, fc)
			case s < best && s > 0:
				t.reject("filter_chain", dash(fc.Name), "%s: a chain matching it more specifically wins", c.stage)
			}
		}
		if len(kept) > 0 {
			for _, fc := range chains {
				if !c.set(fc.Match) {
					t.reject("filter_chain", dash(fc.Name), "%s: another chain names it and matches, which beats a chain that leaves it open", c.stage)
				} else if c.score(fc.Match) == 0 {
					t.reject("filter_chain", dash(fc.Name), "%s: %s", c.stage, c.why(fc.Match))
				}
			}
			chains = kept
			continue
		}
		var open []*xds.FilterChain
		for _, fc := range chains {
			if c.set(fc.Match) {
				t.reject("filter_chain", dash(fc.Name), "%s: %s", c.stage, c.why(fc.Match))
			} else {
				open = append(open, fc)
			}
		}
		chains = open
	}
	switch {
	case len(chains) == 1:
		t.step("filter_chain", dash(chains[0].Name), "the only chain left after Envoy's match order (destination port, destination IP, server name, transport, ALPN, source)")
		return chains[0], ""
	case len(chains) > 1:
		var names []string
		for _, fc := range chains {
			names = append(names, dash(fc.Name))
		}
		t.note("chains %s match equally: Envoy rejects a listener with two chains of the same match (\"multiple filter chains with the same matching rules\")", strings.Join(names, ", "))
		return nil, ConfigError
	case len(deflt) > 0:
		t.step("filter_chain", dash(deflt[0].Name), "no chain matched: the listener's default_filter_chain takes the connection")
		return deflt[0], ""
	}
	t.note("no filter chain of %s matches and it has no default chain: Envoy closes the connection", l.Name)
	return nil, NoFilterChain
}

// criteria are Envoy's filter chain match criteria, in its order.
func (t *tracer) criteria(ip netip.Addr) []criterion {
	portOf := func(m *listenerv3.FilterChainMatch) uint32 { return m.GetDestinationPort().GetValue() }
	return []criterion{
		{"destination port", func(m *listenerv3.FilterChainMatch) bool { return m.GetDestinationPort() != nil },
			func(m *listenerv3.FilterChainMatch) int { return b2i(portOf(m) == t.req.Port) },
			func(m *listenerv3.FilterChainMatch) string {
				return fmt.Sprintf("destination port %d, the connection's is %d", portOf(m), t.req.Port)
			}},
		{"destination IP", func(m *listenerv3.FilterChainMatch) bool { return len(m.GetPrefixRanges()) > 0 },
			func(m *listenerv3.FilterChainMatch) int { return prefixScore(ip, m.GetPrefixRanges()) },
			func(m *listenerv3.FilterChainMatch) string {
				return fmt.Sprintf("destination %s is not in %s", t.req.Address, cidrs(m.GetPrefixRanges()))
			}},
		{"server name", func(m *listenerv3.FilterChainMatch) bool { return len(m.GetServerNames()) > 0 },
			func(m *listenerv3.FilterChainMatch) int { return serverNameScore(t.sni, m.GetServerNames()) },
			func(m *listenerv3.FilterChainMatch) string {
				return fmt.Sprintf("server names %s, the connection's SNI is %q", strings.Join(m.GetServerNames(), ","), t.sni)
			}},
		{"transport protocol", func(m *listenerv3.FilterChainMatch) bool { return m.GetTransportProtocol() != "" },
			func(m *listenerv3.FilterChainMatch) int { return b2i(m.GetTransportProtocol() == t.transport) },
			func(m *listenerv3.FilterChainMatch) string {
				return fmt.Sprintf("transport %s, the connection's is %s", m.GetTransportProtocol(), t.transport)
			}},
		{"application protocols", func(m *listenerv3.FilterChainMatch) bool { return len(m.GetApplicationProtocols()) > 0 },
			func(m *listenerv3.FilterChainMatch) int { return b2i(overlap(m.GetApplicationProtocols(), t.alpn)) },
			func(m *listenerv3.FilterChainMatch) string {
				return fmt.Sprintf("ALPN %s, the connection offers %s", strings.Join(m.GetApplicationProtocols(), ","), dash(strings.Join(t.alpn, ",")))
			}},
		{"direct source IP", func(m *listenerv3.FilterChainMatch) bool { return len(m.GetDirectSourcePrefixRanges()) > 0 },
			func(m *listenerv3.FilterChainMatch) int { return t.sourceUnknown("direct source prefixes") },
			func(m *listenerv3.FilterChainMatch) string {
				return "direct source " + cidrs(m.GetDirectSourcePrefixRanges())
			}},
		{"source type", func(m *listenerv3.FilterChainMatch) bool {
			return m.GetSourceType() != listenerv3.FilterChainMatch_ANY
		},
			func(m *listenerv3.FilterChainMatch) int {
				// A sidecar's outbound traffic comes from its own pod; inbound and
				// gateway traffic from elsewhere.
				local := t.req.Mode == Outbound
				return b2i((m.GetSourceType() == listenerv3.FilterChainMatch_SAME_IP_OR_LOOPBACK) == local)
			},
			func(m *listenerv3.FilterChainMatch) string { return "source type " + m.GetSourceType().String() }},
		{"source IP", func(m *listenerv3.FilterChainMatch) bool { return len(m.GetSourcePrefixRanges()) > 0 },
			func(m *listenerv3.FilterChainMatch) int { return t.sourceUnknown("source prefixes") },
			func(m *listenerv3.FilterChainMatch) string { return "source " + cidrs(m.GetSourcePrefixRanges()) }},
		{"source port", func(m *listenerv3.FilterChainMatch) bool { return len(m.GetSourcePorts()) > 0 },
			func(m *listenerv3.FilterChainMatch) int { return t.sourceUnknown("source ports") },
			func(m *listenerv3.FilterChainMatch) string { return fmt.Sprintf("source ports %v", m.GetSourcePorts()) }},
	}
}

// sourceUnknown: the request does not say where it comes from; a chain
// that names sources is taken to match, and the hop says so.
func (t *tracer) sourceUnknown(what string) int {
	t.note("a chain matches on %s, which the request does not give: taken to match", what)
	return 1
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func overlap(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

// prefixScore is the longest prefix containing ip plus one (0: none).
func prefixScore(ip netip.Addr, ranges []*corev3.CidrRange) int {
	var ps []netip.Prefix
	for _, r := range ranges {
		if p, err := cidr(r); err == nil {
			ps = append(ps, p)
		}
	}
	if !ip.IsValid() {
		return 0
	}
	if ok, bits := ipIn(ip, ps); ok {
		return bits + 1
	}
	return 0
}

// serverNameScore ranks server names as Envoy does: an exact name beats any
// wildcard, a longer wildcard beats a shorter one.
func serverNameScore(sni string, names []string) int {
	best := 0
	for _, n := range names {
		switch {
		case n == sni && sni != "":
			return 1 << 20
		case strings.HasPrefix(n, "*.") && strings.HasSuffix(sni, n[1:]) && len(sni) > len(n)-1:
			best = max(best, len(n))
		}
	}
	return best
}

func cidr(r *corev3.CidrRange) (netip.Prefix, error) {
	a, err := netip.ParseAddr(r.GetAddressPrefix())
	if err != nil {
		return netip.Prefix{}, err
	}
	// An unset prefix_len is 0, as the proto's default: every address.
	return a.Prefix(int(r.GetPrefixLen().GetValue()))
}

func cidrs(rs []*corev3.CidrRange) string {
	var s []string
	for _, r := range rs {
		if p, err := cidr(r); err == nil {
			s = append(s, p.String())
		} else {
			s = append(s, r.GetAddressPrefix())
		}
	}
	return strings.Join(s, ",")
}

// matcherTree evaluates a listener's filter_chain_matcher (the
// xds.type.matcher.v3.Matcher tree Envoy uses instead of
// filter_chain_match): inputs read the connection, maps pick the next
// matcher or the action naming a filter chain.
func (t *tracer) matcherTree(l *xds.Listener) (*xds.FilterChain, string) {
	byName := map[string]*xds.FilterChain{}
	var deflt *xds.FilterChain
	for _, fc := range l.FilterChains {
		if fc.Default {
			deflt = fc
		} else {
			byName[fc.Name] = fc
		}
	}
	name, ok := t.evalMatcher(l.Matcher, 0)
	if ok {
		if fc, found := byName[name]; found {
			t.step("filter_chain", name, "the listener's filter_chain_matcher names it")
			return fc, ""
		}
		t.note("the filter_chain_matcher names chain %q, which the listener does not have", name)
		return nil, ConfigError
	}
	if deflt != nil {
		t.step("filter_chain", dash(deflt.Name), "the filter_chain_matcher matched nothing: the default_filter_chain takes the connection")
		return deflt, ""
	}
	t.note("the filter_chain_matcher of %s matches nothing and it has no default chain: Envoy closes the connection", l.Name)
	return nil, NoFilterChain
}

// evalMatcher walks one Matcher; ok is false when nothing matched.
func (t *tracer) evalMatcher(m jsonscan.Value, depth int) (string, bool) {
	if depth > 16 || !m.Exists() {
		return "", false
	}
	tree := m.Get("matcher_tree")
	if !tree.Exists() {
		return t.onNoMatch(m, depth)
	}
	input := tree.Get("input", "typed_config", "@type").Str()
	value, known := t.matcherInput(input)
	if !known {
		t.note("the filter_chain_matcher reads %s, which this trace does not know: treated as no match", input)
		return t.onNoMatch(m, depth)
	}
	var next jsonscan.Value
	found := false
	if em := tree.Get("exact_match_map", "map"); em.Exists() {
		_ = em.Fields(func(k []byte, v jsonscan.Value) bool {
			if string(k) == value {
				next, found = v, true
				return false
			}
			return true
		})
	}
	if pm := tree.Get("prefix_match_map", "map"); pm.Exists() {
		best := -1
		_ = pm.Fields(func(k []byte, v jsonscan.Value) bool {
			if strings.HasPrefix(value, string(k)) && len(k) > best {
				best, next, found = len(k), v, true
			}
			return true
		})
	}
	if cm := tree.Get("custom_match", "typed_config"); cm.Exists() {
		ip, err := netip.ParseAddr(value)
		best := -1
		_ = cm.Get("range_matchers").Items(func(_ int, rm jsonscan.Value) bool {
			_ = rm.Get("ranges").Items(func(_ int, r jsonscan.Value) bool {
				a, aerr := netip.ParseAddr(r.Get("address_prefix").Str())
				bits, _ := r.Get("prefix_len").Uint()
				if err == nil && aerr == nil {
					if p, perr := a.Prefix(int(bits)); perr == nil && p.Contains(ip) && int(bits) > best {
						best, next, found = int(bits), rm.Get("on_match"), true
					}
				}
				return true
			})
			return true
		})
	}
	if !found {
		return t.onNoMatch(m, depth)
	}
	return t.onMatch(next, depth)
}

func (t *tracer) onMatch(om jsonscan.Value, depth int) (string, bool) {
	if a := om.Get("action"); a.Exists() {
		return a.Get("typed_config", "value").Str(), true
	}
	if name, ok := t.evalMatcher(om.Get("matcher"), depth+1); ok {
		return name, true
	}
	return "", false
}

func (t *tracer) onNoMatch(m jsonscan.Value, depth int) (string, bool) {
	if nm := m.Get("on_no_match"); nm.Exists() {
		return t.onMatch(nm, depth)
	}
	return "", false
}

// matcherInput is the value of a network matching input for the connection.
func (t *tracer) matcherInput(typeURL string) (string, bool) {
	switch typeURL[strings.LastIndexByte(typeURL, '.')+1:] {
	case "DestinationIPInput":
		return t.req.Address, true
	case "DestinationPortInput":
		return strconv.Itoa(int(t.req.Port)), true
	case "ServerNameInput":
		return t.sni, true
	case "TransportProtocolInput":
		return t.transport, true
	case "ApplicationProtocolInput":
		var quoted []string
		for _, a := range t.alpn {
			quoted = append(quoted, "'"+a+"'")
		}
		return strings.Join(quoted, ","), true
	case "SourceTypeInput":
		if t.req.Mode == Outbound {
			return "local", true
		}
		return "", true
	}
	return "", false
}
