package trace

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Spec is a request as a command line gives it: a URL whose parts flags
// override (an empty field keeps the URL's or the default).
type Spec struct {
	URL      string
	Mode     string // outbound (default), inbound, gateway
	Method   string
	Address  string
	Port     uint32
	Protocol string // http (default), http2, grpc, tcp
	TLS      string // plaintext (default), tls, mtls
	SNI      string
	ALPN     []string
	Headers  []string // "Name: value"
	Path     string
	Random   int64 // the load balancer's draw; negative: none given
	// ClientCert, ClientIdentity and SourceIP are what the client presents.
	ClientCert     string
	ClientIdentity string
	SourceIP       string
}

// Request builds the request: the URL's scheme gives protocol and TLS (and
// the SNI for https), an IP host the destination address; an https or mtls
// client offers its protocol's ALPN and sends no SNI for an IP address
// (RFC 6066). Its errors are the spec's mistakes, one line each.
func (s Spec) Request() (Request, error) {
	serverName := "" // the name a TLS client sends: the URL's host, else the Host header's
	r := Request{Mode: s.Mode, Method: strings.ToUpper(s.Method), Headers: map[string][]string{}}
	if s.URL != "" {
		u, err := ParseURL(s.URL)
		if err != nil {
			return Request{}, fmt.Errorf("%v", err)
		}
		r.Port, r.Path, r.Host = u.Port, u.Path, u.Authority
		switch u.Scheme {
		case "https":
			r.Protocol, r.TLS = "http", "tls"
		case "grpc", "h2c":
			r.Protocol = "grpc"
		case "grpcs":
			r.Protocol, r.TLS = "grpc", "tls"
		case "tcp":
			r.Protocol = "tcp"
		default:
			r.Protocol = "http"
		}
		if _, err := netip.ParseAddr(u.Host); err == nil {
			r.Address = u.Host
		}
		serverName = u.Host
	}
	if s.Port != 0 {
		r.Port = s.Port
	}
	if s.Protocol != "" {
		r.Protocol = s.Protocol
	}
	if s.TLS != "" {
		r.TLS = s.TLS
	}
	if s.Address != "" {
		r.Address = s.Address
	}
	if s.Path != "" {
		r.Path = s.Path
	}
	if s.SNI != "" {
		r.SNI = s.SNI
	}
	for _, h := range s.Headers {
		name, value, err := ParseHeader(h)
		if err != nil {
			return Request{}, fmt.Errorf("-H: %v", err)
		}
		if name == "host" || name == ":authority" {
			r.Host = value
			continue
		}
		r.Headers[name] = append(r.Headers[name], value)
	}
	if r.Protocol == "" {
		r.Protocol = "http"
	}
	if r.TLS == "" {
		r.TLS = "plaintext"
	}
	if r.Path == "" && r.Protocol != "tcp" {
		r.Path = "/"
	}
	if r.Mode == "" {
		r.Mode = Outbound
	}
	switch {
	case r.Port == 0:
		return Request{}, fmt.Errorf("give a URL with a port, or --port")
	case r.Mode != Outbound && r.Mode != Inbound && r.Mode != Gateway:
		return Request{}, fmt.Errorf("--mode must be outbound, inbound or gateway")
	case r.Protocol != "http" && r.Protocol != "http2" && r.Protocol != "grpc" && r.Protocol != "tcp":
		return Request{}, fmt.Errorf("--protocol must be http, http2, grpc or tcp")
	case r.TLS != "plaintext" && r.TLS != "tls" && r.TLS != "mtls":
		return Request{}, fmt.Errorf("--tls must be plaintext, tls or mtls")
	case len(s.ALPN) > 0 && r.TLS == "plaintext":
		return Request{}, fmt.Errorf("--alpn is offered in a TLS handshake: give --tls tls or mtls")
	}
	if r.Address != "" {
		if _, err := netip.ParseAddr(r.Address); err != nil {
			return Request{}, fmt.Errorf("--address %q is not an IP address", r.Address)
		}
	}
	r.ALPN = s.ALPN
	if len(r.ALPN) == 0 {
		r.ALPN = DefaultALPN(r.Protocol, r.TLS)
	}
	if r.TLS != "plaintext" && r.SNI == "" {
		if serverName == "" {
			serverName = Hostname(r.Host)
		}
		// A client sends no server name for an IP address (RFC 6066).
		if _, err := netip.ParseAddr(serverName); err != nil {
			r.SNI = serverName
		}
	}
	if s.Random >= 0 {
		v := uint64(s.Random)
		r.Random = &v
	}
	switch {
	case s.ClientCert != "" && r.TLS == "plaintext":
		return Request{}, fmt.Errorf("--client-cert is presented in a TLS handshake: give --tls tls or mtls")
	case s.ClientIdentity != "" && !strings.Contains(s.ClientIdentity, "://"):
		return Request{}, fmt.Errorf("--client-identity %q is not a URI SAN (spiffe://TRUST-DOMAIN/ns/NAMESPACE/sa/ACCOUNT)", s.ClientIdentity)
	case s.SourceIP != "":
		if _, err := netip.ParseAddr(s.SourceIP); err != nil {
			return Request{}, fmt.Errorf("--source-ip %q is not an IP address", s.SourceIP)
		}
	}
	r.ClientCert, r.ClientIdentity, r.SourceIP = s.ClientCert, s.ClientIdentity, s.SourceIP
	return r, nil
}

// DefaultALPN is what a client offers: Istio's mTLS ALPN (istio-h2, ...)
// for mtls, the protocol's for tls, nothing for plaintext.
func DefaultALPN(protocol, tls string) []string {
	switch tls {
	case "mtls":
		switch protocol {
		case "http":
			return []string{"istio-http/1.1"}
		case "http2", "grpc":
			return []string{"istio-h2"}
		}
		return []string{"istio"}
	case "tls":
		switch protocol {
		case "http":
			return []string{"http/1.1"}
		case "http2", "grpc":
			return []string{"h2"}
		}
	}
	return nil
}

// Hostname is the host of HOST[:PORT] (an IPv6 address without its
// brackets).
func Hostname(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return strings.Trim(h, "[]")
}
