// Package trace follows one request through one proxy's config the way
// Envoy matches it: listener, filter chain, HTTP connection manager or TCP
// proxy, route configuration, virtual host, route, cluster, endpoints. At
// each stage it keeps the reason for its choice and why the near misses did
// not match, and it predicts the outcome with the response flag Envoy
// would log. Envoy's API documentation is the reference for every rule.
package trace

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// Modes: where the connection arrives.
const (
	Outbound = "outbound" // from the app, redirected to 15001 (original destination kept)
	Inbound  = "inbound"  // to the app, redirected to 15006
	Gateway  = "gateway"  // straight to a gateway's listener
)

// Request is the request (or connection) to follow.
type Request struct {
	Mode     string
	Address  string // the original destination IP
	Port     uint32
	Protocol string   // http, http2, grpc, tcp
	TLS      string   // plaintext, tls, mtls
	SNI      string   // TLS server name
	ALPN     []string // offered in the TLS ClientHello
	Host     string   // :authority
	Method   string
	Path     string // with the query string, as in :path
	// Headers are the other request headers, names in lower case.
	Headers map[string][]string
	// Random picks weighted clusters and runtime fractions; nil: not given.
	Random *uint64
	// Internal: the request comes from inside (x-envoy-internal), which
	// require_tls EXTERNAL_ONLY exempts.
	Internal bool
	// DynamicMetadata is what filters set before routing, by namespace;
	// nil: not known (a dump does not hold it).
	DynamicMetadata map[string]any
	// ClientCert is the certificate the client presents in TLS: "mesh"
	// (Istio's workload identity), "none", or an SDS or file certificate's
	// name; "" means the mesh identity with mTLS and none otherwise.
	ClientCert string
	// ClientIdentity is the client certificate's URI SAN
	// (spiffe://TRUST-DOMAIN/ns/NS/sa/SA); "" when not known.
	ClientIdentity string
	// SourceIP is the client's address; "" when not known.
	SourceIP string
	// Listener, when set, is the listener the connection arrives at, by
	// name: an internal listener such as a waypoint's main_internal, which
	// HBONE traffic reaches after its CONNECT tunnel ends on 15008.
	Listener string
	// Now is the clock for JWT expiry; nil: the time now.
	Now func() time.Time
	// ActiveRuntime, when set, is router_check_tool's runtime: the one key
	// enabled ("" for none). A route behind a runtime fraction matches only
	// if its key is that one and the random value falls within the fraction
	// (a fraction of 0 counting as 1, as the tool does). Unset: Envoy's own
	// runtime without overrides, the fraction's default value.
	ActiveRuntime *string
}

// HTTP tells whether the request speaks HTTP.
func (r *Request) HTTP() bool {
	return r.Protocol == "http" || r.Protocol == "http2" || r.Protocol == "grpc"
}

// Results of a hop, as DESIGN.md names them.
const (
	Forwarded         = "forwarded"
	Passthrough       = "passthrough"
	Blackhole         = "blackhole"
	DirectResponse    = "direct_response"
	Redirect          = "redirect"
	NoListener        = "no_listener"
	NoFilterChain     = "no_filter_chain"
	NoVirtualHost     = "no_virtual_host"
	NoRoute           = "no_route"
	NoCluster         = "no_cluster"
	NoHealthyUpstream = "no_healthy_upstream"
	TLSError          = "tls_error"
	Denied            = "denied"  // 403 by an RBAC filter (flag RBAC), or 401 by jwt_authn
	Fault             = "fault"   // aborted by fault injection (flag FI)
	Unknown           = "unknown" // a stage the answer depends on was not evaluated
	ProtocolError     = "protocol_error"
	ConfigError       = "config_error"
)

// Failed tells whether a result means the request fails (an unknown
// result is neither a success nor a failure).
func Failed(result string) bool {
	switch result {
	case Forwarded, Passthrough, DirectResponse, Redirect, Unknown:
		return false
	}
	return true
}

// Hop is what one proxy does with the request.
type Hop struct {
	Proxy       string     `json:"proxy"`
	Direction   string     `json:"direction"`
	Listener    string     `json:"listener"`
	FilterChain string     `json:"filter_chain"`
	RouteConfig string     `json:"route_config"`
	VirtualHost string     `json:"virtual_host"`
	Route       string     `json:"route"`
	Cluster     string     `json:"cluster"`
	Endpoints   []Endpoint `json:"endpoints"`
	Result      string     `json:"result"`
	Flag        string     `json:"response_flag"`
	Status      uint32     `json:"status,omitempty"` // the HTTP status Envoy answers with, when it answers itself
	Location    string     `json:"location,omitempty"`
	Weighted    []Weighted `json:"weighted_clusters,omitempty"`
	ClusterInfo *Cluster   `json:"cluster_info,omitempty"`
	Rewrites    []string   `json:"rewrites,omitempty"`
	// Authorization are the RBAC decisions on the way, in order.
	Authorization []Authz `json:"authorization,omitempty"`
	// UnknownDependsOn says, for a result "unknown", what the outcome
	// depends on that was not evaluated.
	UnknownDependsOn string      `json:"unknown_depends_on,omitempty"`
	Notes            []string    `json:"notes"`
	Rejected         []Rejection `json:"rejected"`
	// Steps say, in order, what was chosen and why.
	Steps []Step `json:"steps"`
}

// Step is one decision of the hop: at a stage (listener, filter chain,
// route, ...), the candidate by name, and why.
type Step struct {
	Stage  string `json:"stage"`
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// Rejection is a candidate that did not match, and why: the same fields
// as a Step.
type Rejection = Step

// Authz is one RBAC filter's decision: its action (ALLOW, DENY, LOG), the
// policy that decided (Istio's ns[NS]-policy[NAME]-rule[N]), allow, deny
// or unknown, and why.
type Authz struct {
	Filter   string `json:"filter"`
	Action   string `json:"action"`
	Policy   string `json:"policy,omitempty"`
	Decision string `json:"decision"`
	Reason   string `json:"reason"`
}

// Endpoint is an upstream host of the chosen cluster.
type Endpoint struct {
	Address  string `json:"address"`
	Health   string `json:"health"`
	Locality string `json:"locality,omitempty"`
	Weight   uint32 `json:"weight,omitempty"`
}

// Weighted is one target of a weighted split, with its share.
type Weighted struct {
	Cluster string  `json:"cluster"`
	Weight  uint32  `json:"weight"`
	Percent float64 `json:"percent"`
	Picked  bool    `json:"picked,omitempty"`
}

// Cluster is what the hop says of the chosen cluster.
type Cluster struct {
	Type            string `json:"type"`
	LBPolicy        string `json:"lb_policy"`
	TLS             string `json:"tls"`
	SNI             string `json:"sni,omitempty"`
	CircuitBreakers string `json:"circuit_breakers,omitempty"`
	DestinationRule string `json:"destination_rule,omitempty"`
}

// Trace follows req through cfg.
func Trace(cfg *xds.Config, req Request) *Hop {
	t := &tracer{cfg: cfg, req: req, hop: &Hop{Direction: req.Mode, Notes: []string{}, Rejected: []Rejection{}, Steps: []Step{}, Endpoints: []Endpoint{}}}
	t.clientCert = req.ClientCert
	if t.clientCert == "" {
		t.clientCert = "none"
		if req.TLS == "mtls" {
			t.clientCert = "mesh"
		}
	}
	t.run()
	return t.hop
}

type tracer struct {
	cfg *xds.Config
	req Request
	hop *Hop
	// what the listener filters let Envoy see of the connection
	transport string   // tls or raw_buffer
	alpn      []string // after tls_inspector / http_inspector
	sni       string
	// clientCert is what the client presents: "mesh", "none" or a name.
	clientCert string
}

func (t *tracer) step(stage, name, format string, args ...any) {
	t.hop.Steps = append(t.hop.Steps, Step{Stage: stage, Name: name, Reason: fmt.Sprintf(format, args...)})
}

// reject records a candidate that did not match, once.
func (t *tracer) reject(stage, name, format string, args ...any) {
	r := Rejection{Stage: stage, Name: name, Reason: fmt.Sprintf(format, args...)}
	if !slices.Contains(t.hop.Rejected, r) {
		t.hop.Rejected = append(t.hop.Rejected, r)
	}
}

// note records a note, once.
func (t *tracer) note(format string, args ...any) {
	n := fmt.Sprintf(format, args...)
	if !slices.Contains(t.hop.Notes, n) {
		t.hop.Notes = append(t.hop.Notes, n)
	}
}

func (t *tracer) fail(result, flag string, status uint32) {
	t.hop.Result, t.hop.Flag, t.hop.Status = result, flag, status
}

func (t *tracer) run() {
	l := t.listener()
	if l == nil {
		// The connection is refused: no request, no access log, no flag.
		t.fail(NoListener, "", 0)
		return
	}
	t.hop.Listener = l.Name
	t.inspect(l)
	fc, result := t.filterChain(l)
	if fc == nil {
		t.fail(result, "NR", 0)
		return
	}
	t.hop.FilterChain = fc.Name
	if !t.transportOK(fc) {
		return
	}
	if !t.networkRBAC(fc) {
		return
	}
	switch fc.Destination.Kind {
	case xds.DestRDS, xds.DestInlineRoute, xds.DestHTTP, xds.DestScopedRoute:
		t.http(fc)
	case xds.DestCluster:
		t.step("tcp_proxy", fc.Destination.Cluster, "the chain's TCP proxy sends the connection to this cluster")
		t.cluster(fc.Destination.Cluster)
	case xds.DestWeighted:
		t.weighted(fc.Destination.Weighted, 0)
	default:
		t.note("the chain ends in %s, which this trace does not follow", dash(fc.Destination.Filter))
		t.hop.Result = Forwarded
	}
}

// activeListeners are the listeners in effect: active or static, not
// warming, draining or rejected updates.
func (t *tracer) activeListeners() []*xds.Listener {
	var out []*xds.Listener
	for _, l := range t.cfg.Listeners() {
		switch l.State {
		case envoyadmin.StateActive, envoyadmin.StateStatic, "":
			out = append(out, l)
		case envoyadmin.StateWarming:
			t.reject("listener", l.Name, "warming: received but not in effect yet (waiting for its clusters or secrets)")
		case envoyadmin.StateError:
			t.reject("listener", l.Name, "an update Envoy rejected: %s", l.Error)
		}
	}
	return out
}

// listener picks the listener that handles the connection.
func (t *tracer) listener() *xds.Listener {
	ls := t.activeListeners()
	addr, port := t.req.Address, t.req.Port
	if t.req.Listener != "" {
		for _, l := range ls {
			if l.Name == t.req.Listener {
				t.step("listener", l.Name, "the connection arrives at this listener; its filter chains match the original destination %s:%d", dash(addr), port)
				return l
			}
		}
		t.note("no active listener %s", t.req.Listener)
		return nil
	}
	if t.req.Mode == Inbound {
		for _, l := range ls {
			if l.Name == "virtualInbound" || (l.Port == 15006 && l.Direction != "OUTBOUND" && !l.UseOriginalDst && strings.Contains(l.Name, "Inbound")) {
				t.step("listener", l.Name, "inbound traffic is redirected to the sidecar's inbound capture port %d; its filter chains match the original destination %s:%d", l.Port, addr, port)
				return l
			}
		}
		for _, l := range ls {
			if l.Port == 15006 {
				t.step("listener", l.Name, "inbound traffic is redirected to port 15006")
				return l
			}
		}
		t.note("no virtualInbound listener (15006): looking for a listener on %s:%d as older sidecars had", addr, port)
	}
	var exact, wildcard *xds.Listener
	for _, l := range ls {
		if l.Port != port {
			continue
		}
		switch {
		case l.Address == addr && addr != "" && exact == nil:
			exact = l
		case (l.Address == "0.0.0.0" || l.Address == "::") && wildcard == nil:
			wildcard = l
		}
	}
	// The capture listener iptables redirects outbound traffic to: Istio's
	// virtualOutbound hands the connection to the listener of its original
	// destination (use_original_dst); Open Service Mesh's, Consul's and
	// Kuma's restore the original destination with the original_dst listener
	// filter and match it with their own filter chains, without a hand-off.
	var virtual *xds.Listener
	for _, l := range ls {
		if (l.UseOriginalDst || originalDstFilter(l)) && (l.Name == "virtualOutbound" || l.Port == 15001 || l.Direction == "OUTBOUND") {
			virtual = l
		}
	}
	if t.req.Mode == Outbound && virtual != nil && !virtual.UseOriginalDst && !isLoopback(addr) {
		t.step("listener", virtual.Name, "outbound traffic is redirected to %s (port %d); its original_dst listener filter restores the original destination %s:%d, which its filter chains match (no hand-off to another listener without use_original_dst)", virtual.Name, virtual.Port, dash(addr), port)
		return virtual
	}
	through := ""
	if t.req.Mode != Gateway && virtual != nil {
		through = fmt.Sprintf("%s (port %d, use_original_dst) hands the connection to ", virtual.Name, virtual.Port)
	}
	switch {
	case exact != nil:
		t.step("listener", exact.Name, "%sthe listener for the original destination %s:%d exactly", through, addr, port)
		if wildcard != nil {
			t.reject("listener", wildcard.Name, "the wildcard listener on port %d loses to the one for %s:%d", port, addr, port)
		}
		return exact
	case wildcard != nil && addr == "":
		t.step("listener", wildcard.Name, "%sthe listener on %s:%d (no destination address given)", through, wildcard.Address, port)
		return wildcard
	case wildcard != nil:
		t.step("listener", wildcard.Name, "%sthe wildcard listener on %s:%d: no listener is bound to %s:%d", through, wildcard.Address, port, addr, port)
		return wildcard
	case t.req.Mode == Gateway:
		t.note("a gateway has no catch-all: nothing listens on port %d (listeners are on %s)", port, listenerPorts(ls))
		return nil
	case virtual != nil:
		t.step("listener", virtual.Name, "no listener for %s:%d nor 0.0.0.0:%d, so the connection stays on %s and its own filter chains decide", addr, port, port, virtual.Name)
		return virtual
	}
	t.note("no listener for %s:%d and no virtualOutbound listener to fall back on", addr, port)
	return nil
}

// originalDstFilter tells whether a listener runs the original_dst
// listener filter.
func originalDstFilter(l *xds.Listener) bool {
	for _, f := range l.ListenerFilters {
		if f == "envoy.filters.listener.original_dst" || f == "envoy.listener.original_dst" || strings.HasSuffix(f, ".original_dst.v3.OriginalDst") {
			return true
		}
	}
	return false
}

// isLoopback tells an address on the pod's loopback: traffic to it is not
// captured (Consul's explicit upstreams listen there).
func isLoopback(addr string) bool {
	a, err := netip.ParseAddr(addr)
	return err == nil && a.IsLoopback()
}

func listenerPorts(ls []*xds.Listener) string {
	seen := map[uint32]bool{}
	var ports []int
	for _, l := range ls {
		if !seen[l.Port] && l.Port != 0 {
			seen[l.Port] = true
			ports = append(ports, int(l.Port))
		}
	}
	sort.Ints(ports)
	var s []string
	for _, p := range ports {
		s = append(s, fmt.Sprint(p))
	}
	if len(s) > 12 {
		s = append(s[:12], "...")
	}
	return strings.Join(s, ", ")
}

// transportOK checks the chain's TLS against the connection: plaintext into
// a chain that terminates TLS fails the handshake; Istio's mTLS chains take
// only mTLS; TLS or raw TCP into an HTTP manager that does not terminate it
// cannot be decoded.
func (t *tracer) transportOK(fc *xds.FilterChain) bool {
	tlsChain := fc.TLS != nil
	switch {
	case tlsChain && t.req.TLS != "plaintext" && fc.TLS.RequireClientCert && t.clientCert == "none":
		t.note("the chain %s requires a client certificate (require_client_certificate) and the client presents none: the TLS handshake fails", dash(fc.Name))
		t.fail(TLSError, "", 0)
		return false
	case tlsChain && t.req.TLS == "plaintext":
		t.note("the chain %s terminates TLS (certificates %s) and the connection is plaintext: the handshake fails", dash(fc.Name), strings.Join(fc.TLS.Certificates, ","))
		t.fail(TLSError, "", 0)
		return false
	case tlsChain && requiresIstioMTLS(fc) != (t.req.TLS == "mtls"):
		if t.req.TLS == "mtls" {
			t.note("the chain %s terminates plain TLS, not Istio mTLS, and the client sends its mesh certificate: an mTLS mismatch", dash(fc.Name))
		} else {
			t.note("the chain %s takes Istio mTLS only (a client certificate from the mesh) and the client sends plain TLS: check PeerAuthentication and the client's DestinationRule", dash(fc.Name))
		}
		t.fail(TLSError, "", 0)
		return false
	}
	if tlsChain {
		t.step("tls", dash(fc.Name), "the chain terminates %s", map[bool]string{true: "Istio mTLS", false: "TLS"}[requiresIstioMTLS(fc)])
		if !t.clientIdentityOK(fc) {
			return false
		}
	}
	http := fc.Destination.Kind == xds.DestRDS || fc.Destination.Kind == xds.DestInlineRoute || fc.Destination.Kind == xds.DestHTTP || fc.Destination.Kind == xds.DestScopedRoute
	if http && t.req.TLS != "plaintext" && !tlsChain {
		t.note("TLS reaches the chain's HTTP connection manager, which does not terminate TLS: Envoy cannot decode it")
		t.fail(ProtocolError, "DPE", 0)
		return false
	}
	if http && !t.req.HTTP() {
		t.note("raw TCP reaches an HTTP connection manager: Envoy cannot decode it (is the Service port's protocol right?)")
		t.fail(ProtocolError, "DPE", 0)
		return false
	}
	return true
}

// requiresIstioMTLS is a chain only mesh mTLS can open: Istio's workload
// certificate (SDS secret "default", or the files Istio 1.0 to 1.4 mounted
// at /etc/certs), or a chain that requires a client certificate whose
// identity it checks (another mesh's).
func requiresIstioMTLS(fc *xds.FilterChain) bool {
	if fc.TLS == nil || len(fc.TLS.Certificates) == 0 {
		return false
	}
	c := fc.TLS.Certificates[0]
	// Other meshes' mTLS chains (Kuma's, Consul's) ask for a client
	// certificate of the mesh: one whose identity they check.
	return c == "default" || c == "/etc/certs/cert-chain.pem" ||
		fc.TLS.RequireClientCert && (len(fc.TLS.SANMatchers) > 0 || len(fc.TLS.TrustDomains) > 0)
}

// trustDomainsOnly tells whether a chain checks no more of a client
// certificate than its SPIFFE trust domain: trust domains, or SAN
// matchers that are spiffe://DOMAIN/ prefixes.
func trustDomainsOnly(tls *xds.DownstreamTLS) bool {
	for _, m := range tls.SANMatchers {
		p := m.GetPrefix()
		if !strings.HasPrefix(p, "spiffe://") || strings.Count(p, "/") != 3 || !strings.HasSuffix(p, "/") {
			return false
		}
	}
	return true
}

// clientIdentityOK checks the client certificate against what the chain
// accepts: subject alt names and SPIFFE trust domains. Unknown when the
// chain checks them and the client's identity is not given.
func (t *tracer) clientIdentityOK(fc *xds.FilterChain) bool {
	if t.clientCert == "none" || (len(fc.TLS.SANMatchers) == 0 && len(fc.TLS.TrustDomains) == 0) {
		return true
	}
	id := t.req.ClientIdentity
	if id == "" && t.clientCert == "mesh" && trustDomainsOnly(fc.TLS) {
		// A mesh certificate is issued in the mesh's trust domain, which is
		// what Istio's chains check (a spiffe://TRUST-DOMAIN/ prefix).
		t.step("tls", dash(fc.Name), "the chain checks the client certificate's trust domain only; the client's mesh certificate is taken to be of the mesh's: give --client-identity to check it")
		return true
	}
	if id == "" {
		t.note("the chain %s accepts only client certificates whose identity it checks (subject alt names or SPIFFE trust domains), and the client's is not known: give --client-identity", dash(fc.Name))
		t.hop.Result, t.hop.UnknownDependsOn = Unknown, "the client certificate's identity, which the chain checks"
		return false
	}
	if len(fc.TLS.SANMatchers) > 0 {
		ok := false
		var wants []string
		for _, m := range fc.TLS.SANMatchers {
			ok = ok || stringMatches(m, id)
			wants = append(wants, describeString(m))
		}
		if !ok {
			t.note("the chain %s accepts client certificates whose subject alt name is %s; the client's is %s: the handshake fails", dash(fc.Name), strings.Join(wants, " or "), id)
			t.fail(TLSError, "", 0)
			return false
		}
	}
	if len(fc.TLS.TrustDomains) > 0 {
		td := strings.TrimPrefix(id, "spiffe://")
		td, _, _ = strings.Cut(td, "/")
		if !slices.Contains(fc.TLS.TrustDomains, td) {
			t.note("the chain %s trusts SPIFFE trust domains %s; the client's identity %s is in %s: the handshake fails", dash(fc.Name), strings.Join(fc.TLS.TrustDomains, ", "), id, td)
			t.fail(TLSError, "", 0)
			return false
		}
	}
	t.step("tls", dash(fc.Name), "the client's identity %s is one the chain accepts", id)
	return true
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ipIn tells whether ip is in any of the CIDRs.
func ipIn(ip netip.Addr, prefixes []netip.Prefix) (bool, int) {
	best := -1
	for _, p := range prefixes {
		if p.Contains(ip) && p.Bits() > best {
			best = p.Bits()
		}
	}
	return best >= 0, best
}
