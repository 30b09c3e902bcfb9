package xds

import (
	"bytes"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"

	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
)

// Listener is one listener in one state. A listener being updated appears
// twice: ACTIVE (in use) and WARMING (the update); a rejected update is a
// listener in state ERROR holding the config Envoy refused.
type Listener struct {
	Name        string
	State       envoyadmin.State
	Version     string
	LastUpdated string
	Error       string

	Address string // IP, unix socket path, or envoy://name for internal listeners
	Port    uint32
	// Protocol is the socket's, "TCP" unless the listener is UDP (a UDP
	// proxy, or QUIC for HTTP/3); "internal" for an internal listener.
	Protocol string
	// UDPDestination is where a UDP proxy listener sends datagrams (its
	// route's cluster), "" for others.
	UDPDestination string
	// QUIC: the listener terminates QUIC (HTTP/3).
	QUIC bool
	// AdditionalAddresses are the extra addresses of a multi-address listener.
	AdditionalAddresses []string
	UseOriginalDst      bool
	BindToPort          bool
	Direction           string // INBOUND, OUTBOUND or ""
	ListenerFilters     []string
	FilterChains        []*FilterChain
	// Matcher is set when the listener selects chains with a filter_chain_matcher tree.
	Matcher jsonscan.Value

	Entry envoyadmin.Entry
}

// FilterChain is one filter chain with where it sends traffic.
type FilterChain struct {
	Name    string
	Default bool // the listener's default_filter_chain
	Match   *listenerv3.FilterChainMatch
	// MatchError is set when the filter_chain_match could not be read.
	MatchError  string
	Filters     []Filter
	Destination Destination
	TLS         *DownstreamTLS
	// Raw is the chain's JSON, read further by those who need it (the
	// network filters' configs, for trace).
	Raw jsonscan.Value
}

// Filter is a network filter: its name and the type of its config.
type Filter struct {
	Name string
	Type string
	// Proto is "HTTP" for an HTTP connection manager, "TCP" for a TCP proxy
	// that does not black-hole, else "".
	Proto string
}

// DestKind says what a filter chain hands traffic to.
type DestKind uint8

const (
	DestNone        DestKind = iota // no terminal filter this tool knows
	DestRDS                         // HTTP, routes from RDS
	DestInlineRoute                 // HTTP, route configuration inline
	DestScopedRoute                 // HTTP, scoped RDS
	DestHTTP                        // HTTP without a route source
	DestCluster                     // TCP proxy to one cluster
	DestWeighted                    // TCP proxy to weighted clusters
	DestOther                       // another terminal network filter (redis, mongo, ...)
)

// Destination is where a filter chain sends traffic.
type Destination struct {
	Kind        DestKind
	RouteConfig string       // DestRDS, DestScopedRoute
	Inline      *RouteConfig // DestInlineRoute
	Cluster     string       // DestCluster
	Weighted    []WeightedCluster
	Filter      string // DestOther: the terminal filter's name
	// HCM is the HTTP connection manager's config, read further only by
	// those who need it (its HTTP filters, for trace).
	HCM jsonscan.Value
}

// HTTPFilters lists the names of an HTTP chain's filters, in order, and
// notes the types outside Envoy's API in o.
func (d Destination) HTTPFilters(o *Opaque) []string {
	var names []string
	_ = d.HCM.Get("http_filters").Items(func(_ int, hf jsonscan.Value) bool {
		p := hf.Pick("name", "typed_config")
		names = append(names, p[0].Str())
		if p[1].Exists() {
			typedConfig(p[1], o)
		}
		return true
	})
	return names
}

// WeightedCluster is one target of a weighted split.
type WeightedCluster struct {
	Name   string
	Weight uint32
}

// DownstreamTLS summarizes a filter chain's TLS termination.
type DownstreamTLS struct {
	RequireClientCert bool
	ALPN              []string
	Certificates      []string // SDS secret names (or "inline")
	Validation        string   // SDS secret name of the CA
	// SANMatchers are what a client certificate's subject alt names must
	// match (match_subject_alt_names, match_typed_subject_alt_names).
	SANMatchers []*matcherv3.StringMatcher
	// TrustDomains are the SPIFFE trust domains a client certificate must
	// belong to (the SPIFFE certificate validator).
	TrustDomains []string
	// QUIC: the TLS of a QUIC transport (HTTP/3).
	QUIC bool
}

// udpProxyCluster is where a UDP proxy sends datagrams: its cluster, or the
// cluster of its matcher's routes (the no-match route's, or each of them).
func udpProxyCluster(cfg jsonscan.Value) string {
	if c := cfg.Get("cluster").Str(); c != "" {
		return c
	}
	var clusters []string
	var walk func(v jsonscan.Value)
	walk = func(v jsonscan.Value) {
		switch v.Kind() {
		case jsonscan.Object:
			_ = v.Fields(func(k []byte, val jsonscan.Value) bool {
				if jsonscan.KeyIs(k, "cluster") && val.Kind() == jsonscan.String {
					clusters = append(clusters, val.Str())
				} else {
					walk(val)
				}
				return true
			})
		case jsonscan.Array:
			_ = v.Items(func(_ int, val jsonscan.Value) bool { walk(val); return true })
		}
	}
	walk(cfg.Get("matcher"))
	return strings.Join(clusters, ",")
}

// Network filter names, current and legacy.
const (
	hcmName      = "envoy.filters.network.http_connection_manager"
	hcmLegacy    = "envoy.http_connection_manager"
	tcpProxyName = "envoy.filters.network.tcp_proxy"
	tcpLegacy    = "envoy.tcp_proxy"
)

// isHCM tells an HTTP connection manager by its filter name or config type.
func isHCM(typ, name string) bool {
	return name == hcmName || name == hcmLegacy || strings.HasSuffix(typ, ".HttpConnectionManager")
}

func isTCPProxy(typ, name string) bool {
	return name == tcpProxyName || name == tcpLegacy || strings.HasSuffix(typ, ".TcpProxy")
}

// Type classifies a listener as istioctl does, by its filters: HTTP, TCP,
// HTTP+TCP or UNKNOWN. TCP proxies that only black-hole traffic do not count.
func (l *Listener) Type() string {
	if l.UDPDestination != "" {
		return "UDP"
	}
	nHTTP, nTCP := 0, 0
	for _, fc := range l.FilterChains {
		for _, f := range fc.Filters {
			switch f.Proto {
			case "HTTP":
				nHTTP++
			case "TCP":
				nTCP++
			}
		}
	}
	switch {
	case nHTTP > 0 && nTCP > 0:
		return "HTTP+TCP"
	case nHTTP > 0:
		return "HTTP"
	case nTCP > 0:
		return "TCP"
	}
	return "UNKNOWN"
}

// Istio's well-known clusters.
const (
	BlackHoleCluster          = "BlackHoleCluster"
	PassthroughCluster        = "PassthroughCluster"
	InboundPassthroughCluster = "InboundPassthroughCluster"
)

func decodeListener(e envoyadmin.Entry, o *Opaque) *Listener {
	l := &Listener{
		Name: e.Name, State: e.State, Version: e.Version, LastUpdated: e.LastUpdated, Error: e.Error,
		BindToPort: true, Entry: e,
	}
	f := e.Resource.Pick("name", "address", "additional_addresses", "use_original_dst", "bind_to_port", "deprecated_v1",
		"traffic_direction", "listener_filters", "filter_chains", "default_filter_chain", "filter_chain_matcher")
	if n := f[0].Str(); n != "" {
		l.Name = n
	}
	l.Address, l.Port = socketAddress(f[1])
	if l.Address == "" && e.Resource.Get("internal_listener").Present() {
		// An internal listener has no socket: other listeners reach it by
		// name (envoy_internal_address server_listener_name).
		l.Address, l.Protocol = "envoy://"+l.Name, "internal"
	}
	if l.Protocol == "" {
		l.Protocol = "TCP"
	}
	if p := f[1].Get("socket_address", "protocol").Str(); p != "" {
		l.Protocol = p
	}
	if e.Resource.Get("udp_listener_config", "quic_options").Present() {
		l.QUIC = true
	}
	_ = f[2].Items(func(_ int, a jsonscan.Value) bool {
		addr, port := socketAddress(a.Get("address"))
		l.AdditionalAddresses = append(l.AdditionalAddresses, joinHostPort(addr, port))
		return true
	})
	l.UseOriginalDst = f[3].Bool()
	if b := f[4]; b.Exists() {
		// A BoolValue: written as a bare bool, or {"value": bool} in some dumps.
		l.BindToPort = b.Bool() || b.Get("value").Bool()
	}
	if b := f[5].Get("bind_to_port"); b.Exists() {
		l.BindToPort = b.Bool()
	}
	l.Direction = f[6].Str()
	_ = f[7].Items(func(_ int, lf jsonscan.Value) bool {
		nf := lf.Pick("name", "typed_config")
		l.ListenerFilters = append(l.ListenerFilters, nf[0].Str())
		if nf[1].Exists() {
			if strings.HasSuffix(typedConfig(nf[1], o), ".udp_proxy.v3.UdpProxyConfig") || nf[0].Str() == "envoy.filters.udp_listener.udp_proxy" {
				l.UDPDestination = udpProxyCluster(nf[1])
			}
		}
		return true
	})
	_ = f[8].Items(func(_ int, fc jsonscan.Value) bool {
		l.FilterChains = append(l.FilterChains, decodeFilterChain(fc, false, o))
		return true
	})
	if f[9].Exists() {
		l.FilterChains = append(l.FilterChains, decodeFilterChain(f[9], true, o))
	}
	if f[10].Exists() {
		l.Matcher = f[10]
	}
	return l
}

// socketAddress reads an envoy.config.core.v3.Address.
func socketAddress(a jsonscan.Value) (string, uint32) {
	return addressOf(addressFields(a))
}

// addressFields picks an Address's kinds (socket_address, pipe,
// envoy_internal_address) and a socket address's address, port_value and
// named_port.
func addressFields(a jsonscan.Value) (kinds, f [3]jsonscan.Value) {
	a.PickTo(kinds[:], "socket_address", "pipe", "envoy_internal_address")
	kinds[0].PickTo(f[:], "address", "port_value", "named_port")
	return kinds, f
}

// readAddressFields is addressFields with a Reader at the Address: the
// same values, read in one pass.
func readAddressFields(r *jsonscan.Reader) (kinds, f [3]jsonscan.Value) {
	var seen, seenSocket jsonscan.Seen
	r.Object(func(k []byte) {
		switch {
		case jsonscan.KeyIs(k, "socket_address") && seen.First(1):
			kinds[0] = r.Object(func(k []byte) {
				switch {
				case jsonscan.KeyIs(k, "address") && seenSocket.First(1):
					f[0] = r.Value()
				case jsonscan.KeyIs(k, "port_value") && seenSocket.First(2):
					f[1] = r.Value()
				case jsonscan.KeyIs(k, "named_port") && seenSocket.First(4):
					f[2] = r.Value()
				}
			})
		case jsonscan.KeyIs(k, "pipe") && seen.First(2):
			kinds[1] = r.Value()
		case jsonscan.KeyIs(k, "envoy_internal_address") && seen.First(4):
			kinds[2] = r.Value()
		}
	})
	return kinds, f
}

// addressOf is the address and port addressFields picked.
func addressOf(kinds, f [3]jsonscan.Value) (string, uint32) {
	if kinds[0].Exists() {
		port, _ := f[1].Uint()
		addr := f[0].Str()
		if nr := f[2].Str(); nr != "" && port == 0 {
			addr += ":" + nr
		}
		return addr, uint32(port)
	}
	if p := kinds[1].Get("path").Str(); p != "" {
		return "unix://" + p, 0
	}
	if ia := kinds[2]; ia.Exists() {
		name := ia.Get("server_listener_name").Str()
		if id := ia.Get("endpoint_id").Str(); id != "" {
			return "envoy://" + name + "/" + id, 0
		}
		return "envoy://" + name, 0
	}
	return "", 0
}

// hostPort is joinHostPort(socketAddress(a)) in one allocation for the
// usual socket address (an address without escapes and a port number);
// anything else goes the long way.
func hostPort(a jsonscan.Value) string { return hostPortOf(addressFields(a)) }

// hostPortOf is hostPort of the fields addressFields picks.
func hostPortOf(kinds, f [3]jsonscan.Value) string {
	raw := f[0].Raw()
	if port, ok := f[1].Uint(); ok && port > 0 && port <= math.MaxUint32 && kinds[0].Exists() && f[0].Kind() == jsonscan.String &&
		bytes.IndexByte(raw, '\\') < 0 && !bytes.Contains(raw, []byte("://")) {
		host := raw[1 : len(raw)-1]
		var buf [80]byte
		b := buf[:0]
		if bytes.IndexByte(host, ':') >= 0 {
			b = append(append(append(b, '['), host...), ']')
		} else {
			b = append(b, host...)
		}
		return string(strconv.AppendUint(append(b, ':'), port, 10))
	}
	return joinHostPort(addressOf(kinds, f))
}

func joinHostPort(addr string, port uint32) string {
	switch {
	case port == 0:
		return addr
	case strings.Contains(addr, "://"): // unix:// and envoy:// addresses take no brackets
		return fmt.Sprintf("%s:%d", addr, port)
	}
	return net.JoinHostPort(addr, strconv.FormatUint(uint64(port), 10))
}

func decodeFilterChain(v jsonscan.Value, isDefault bool, o *Opaque) *FilterChain {
	f := v.Pick("name", "filter_chain_match", "filters", "transport_socket", "tls_context")
	fc := &FilterChain{Name: f[0].Str(), Default: isDefault, Match: &listenerv3.FilterChainMatch{}, Raw: v}
	if m := f[1]; m.Exists() {
		if err := decodeInto(m, fc.Match); err != nil {
			fc.MatchError = err.Error()
		}
		// v2 spelled server_names sni_domains.
		if len(fc.Match.ServerNames) == 0 {
			fc.Match.ServerNames = m.Get("sni_domains").Strings()
		}
	}
	_ = f[2].Items(func(_ int, flt jsonscan.Value) bool {
		ff := flt.Pick("name", "typed_config", "config")
		name, cfg := ff[0].Str(), ff[1]
		typ := ""
		if cfg.Exists() {
			typ = typedConfig(cfg, o)
		} else {
			cfg = ff[2] // v2: a Struct in "config"
		}
		filter := Filter{Name: name, Type: typ}
		var dest Destination
		switch {
		case isHCM(typ, name):
			filter.Proto = "HTTP"
			dest = hcmDestination(cfg, o)
		case isTCPProxy(typ, name):
			dest = tcpDestination(cfg)
			if dest.Cluster != BlackHoleCluster {
				filter.Proto = "TCP"
			}
		}
		fc.Filters = append(fc.Filters, filter)
		if fc.Destination.Kind == DestNone {
			fc.Destination = dest
		}
		return true
	})
	if fc.Destination.Kind == DestNone && len(fc.Filters) > 0 {
		last := fc.Filters[len(fc.Filters)-1]
		fc.Destination = Destination{Kind: DestOther, Filter: last.Name}
	}
	if ts := f[3]; ts.Exists() {
		cfg := ts.Get("typed_config")
		if !cfg.Exists() {
			cfg = ts.Get("config")
		}
		typ := typedConfig(cfg, o)
		switch {
		case strings.HasSuffix(typ, "DownstreamTlsContext") || ts.Get("name").Str() == "envoy.transport_sockets.tls" || ts.Get("name").Str() == "tls":
			fc.TLS = downstreamTLS(cfg)
		case strings.HasSuffix(typ, ".quic.v3.QuicDownstreamTransport"):
			// QUIC carries TLS 1.3 inside: the certificate is the TLS context's.
			fc.TLS = downstreamTLS(cfg.Get("downstream_tls_context"))
			fc.TLS.QUIC = true
		}
	} else if tc := f[4]; tc.Exists() { // v2
		fc.TLS = downstreamTLS(tc)
	}
	return fc
}

func hcmDestination(cfg jsonscan.Value, o *Opaque) Destination {
	d := Destination{Kind: DestHTTP, HCM: cfg}
	f := cfg.Pick("rds", "route_config", "scoped_routes")
	switch {
	case f[0].Exists():
		d.Kind = DestRDS
		d.RouteConfig = f[0].Get("route_config_name").Str()
	case f[1].Exists():
		d.Kind = DestInlineRoute
		d.Inline = decodeRouteConfigResource(f[1], o)
	case f[2].Exists():
		d.Kind = DestScopedRoute
		d.RouteConfig = f[2].Get("name").Str()
	}
	return d
}

func tcpDestination(cfg jsonscan.Value) Destination {
	if c := cfg.Get("cluster").Str(); c != "" {
		return Destination{Kind: DestCluster, Cluster: c}
	}
	var ws []WeightedCluster
	_ = cfg.Get("weighted_clusters", "clusters").Items(func(_ int, c jsonscan.Value) bool {
		w, _ := c.Get("weight").Uint()
		ws = append(ws, WeightedCluster{Name: c.Get("name").Str(), Weight: uint32(w)})
		return true
	})
	if len(ws) > 0 {
		return Destination{Kind: DestWeighted, Weighted: ws}
	}
	// Envoy 1.6 and older: {"deprecated_v1": true, "value": {"route_config": {"routes": [{"cluster": ...}]}}}.
	var first string
	_ = cfg.Get("value", "route_config", "routes").Items(func(_ int, r jsonscan.Value) bool {
		first = r.Get("cluster").Str()
		return first == ""
	})
	if first != "" {
		return Destination{Kind: DestCluster, Cluster: first}
	}
	return Destination{Kind: DestOther, Filter: tcpProxyName}
}

func downstreamTLS(cfg jsonscan.Value) *DownstreamTLS {
	t := &DownstreamTLS{}
	rc := cfg.Get("require_client_certificate")
	t.RequireClientCert = rc.Bool() || rc.Get("value").Bool()
	ctx := cfg.Get("common_tls_context")
	t.ALPN = ctx.Get("alpn_protocols").Strings()
	_ = ctx.Get("tls_certificate_sds_secret_configs").Items(func(_ int, s jsonscan.Value) bool {
		t.Certificates = append(t.Certificates, s.Get("name").Str())
		return true
	})
	// Certificates from files (Istio 1.0 to 1.4 mounted /etc/certs) by their
	// path; inline ones as "inline".
	_ = ctx.Get("tls_certificates").Items(func(_ int, c jsonscan.Value) bool {
		if f := c.Get("certificate_chain", "filename").Str(); f != "" {
			t.Certificates = append(t.Certificates, f)
		} else {
			t.Certificates = append(t.Certificates, "inline")
		}
		return true
	})
	for _, vc := range []jsonscan.Value{ctx.Get("validation_context"), ctx.Get("combined_validation_context", "default_validation_context")} {
		_ = vc.Get("match_subject_alt_names").Items(func(_ int, m jsonscan.Value) bool {
			sm := &matcherv3.StringMatcher{}
			if decodeInto(m, sm) == nil {
				t.SANMatchers = append(t.SANMatchers, sm)
			}
			return true
		})
		_ = vc.Get("match_typed_subject_alt_names").Items(func(_ int, m jsonscan.Value) bool {
			sm := &matcherv3.StringMatcher{}
			if decodeInto(m.Get("matcher"), sm) == nil {
				t.SANMatchers = append(t.SANMatchers, sm)
			}
			return true
		})
		if cv := vc.Get("custom_validator_config"); strings.Contains(cv.Get("name").Str(), "spiffe") || strings.HasSuffix(cv.Get("typed_config", "@type").Str(), "SPIFFECertValidatorConfig") {
			_ = cv.Get("typed_config", "trust_domains").Items(func(_ int, td jsonscan.Value) bool {
				t.TrustDomains = append(t.TrustDomains, td.Get("name").Str())
				return true
			})
		}
	}
	if v := ctx.Get("validation_context_sds_secret_config", "name").Str(); v != "" {
		t.Validation = v
	} else if v := ctx.Get("combined_validation_context", "validation_context_sds_secret_config", "name").Str(); v != "" {
		t.Validation = v
	}
	return t
}
