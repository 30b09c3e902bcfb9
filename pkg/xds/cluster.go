package xds

import (
	"strconv"
	"strings"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
)

// Cluster is one upstream cluster, with what Istio encodes in its name.
type Cluster struct {
	Name        string
	State       envoyadmin.State
	Version     string
	LastUpdated string
	Error       string

	// From Istio's naming, direction|port|subset|fqdn; for other clusters
	// FQDN is the name and the rest is empty.
	FQDN      string
	Port      uint32
	Subset    string
	Direction string

	Type            string // EDS, STRICT_DNS, STATIC, ORIGINAL_DST, ... or a custom cluster type name
	LBPolicy        string
	TLS             string // plaintext, TLS, mTLS, ISTIO_MUTUAL (auto), ...
	SNI             string
	EDSServiceName  string
	ConnectTimeout  string
	DestinationRule string // the Istio DestinationRule, as name.namespace
	// MaxConnections etc. of the default priority circuit breaker, "" when unset.
	CircuitBreakers string

	Entry envoyadmin.Entry
}

func decodeCluster(e envoyadmin.Entry, o *Opaque) *Cluster {
	c := &Cluster{Name: e.Name, State: e.State, Version: e.Version, LastUpdated: e.LastUpdated, Error: e.Error, Entry: e}
	f := e.Resource.Pick("name", "type", "cluster_type", "lb_policy", "load_balancing_policy", "eds_cluster_config",
		"connect_timeout", "metadata", "transport_socket", "tls_context", "transport_socket_matches", "circuit_breakers", "filters")
	name, typ, clusterType, lbPolicy, lbConfig, eds := f[0], f[1], f[2], f[3], f[4], f[5]
	timeout, metadata, socket, tlsContext, socketMatches, breakers, filters := f[6], f[7], f[8], f[9], f[10], f[11], f[12]

	if n := name.Str(); n != "" {
		c.Name = n
	}
	c.Direction, c.Port, c.Subset, c.FQDN = ParseClusterName(c.Name)
	c.Type = typ.Str()
	if clusterType.Exists() {
		c.Type = clusterType.Get("name").Str()
		typedConfig(clusterType.Get("typed_config"), o)
	}
	if c.Type == "" {
		c.Type = "STATIC" // the proto default
	}
	c.LBPolicy = lbPolicy.Str()
	if lbConfig.Exists() {
		var names []string
		_ = lbConfig.Get("policies").Items(func(_ int, pol jsonscan.Value) bool {
			names = append(names, ShortType(typedConfig(pol.Get("typed_extension_config", "typed_config"), o)))
			return true
		})
		c.LBPolicy = strings.Join(names, ",")
	}
	if c.LBPolicy == "" {
		c.LBPolicy = "ROUND_ROBIN" // the proto default
	}
	c.EDSServiceName = eds.Get("service_name").Str()
	c.ConnectTimeout = timeout.Str()
	c.DestinationRule = istioConfigName(metadata.Get("filter_metadata", "istio", "config").Str())
	c.TLS, c.SNI = upstreamTLS(socket, tlsContext, socketMatches, o)
	_ = breakers.Get("thresholds").Items(func(_ int, t jsonscan.Value) bool {
		if p := t.Get("priority").Str(); p != "" && p != "DEFAULT" {
			return true
		}
		c.CircuitBreakers = circuitBreakers(t)
		return false
	})
	_ = filters.Items(func(_ int, f jsonscan.Value) bool {
		typedConfig(f.Get("typed_config"), o)
		return true
	})
	return c
}

// ParseClusterName splits Istio's cluster names: "outbound|9080|v1|reviews.default.svc.cluster.local",
// "inbound|8080||", "inbound-vip|8000|http|httpbin.default.svc.cluster.local". Other names are
// returned whole as the FQDN.
func ParseClusterName(name string) (direction string, port uint32, subset, fqdn string) {
	parts := strings.Split(name, "|")
	if len(parts) != 4 {
		return "", 0, "", name
	}
	p, err := strconv.ParseUint(parts[1], 10, 32)
	if err != nil {
		return "", 0, "", name
	}
	return parts[0], uint32(p), parts[2], parts[3]
}

func circuitBreakers(t jsonscan.Value) string {
	var parts []string
	for _, f := range []struct{ key, label string }{
		{"max_connections", "conn"}, {"max_pending_requests", "pending"}, {"max_requests", "req"}, {"max_retries", "retries"},
	} {
		if n, ok := t.Get(f.key).Uint(); ok {
			v := strconv.FormatUint(n, 10)
			if n == 4294967295 {
				v = "max"
			}
			parts = append(parts, f.label+"="+v)
		}
	}
	return strings.Join(parts, ",")
}

// upstreamTLS says how a cluster talks to its endpoints: Istio's automatic
// mTLS (transport_socket_matches on tlsMode=istio), TLS or mTLS (a TLS
// transport socket with or without a client certificate), or plaintext.
func upstreamTLS(socket, tlsContext, matches jsonscan.Value, o *Opaque) (mode, sni string) {
	if socket.Exists() {
		return tlsMode(socket, o)
	}
	if tlsContext.Exists() { // v2
		f := tlsContext.Pick("common_tls_context", "sni")
		return tlsContextMode(f[0]), f[1].Str()
	}
	mode = "plaintext"
	_ = matches.Items(func(_ int, m jsonscan.Value) bool {
		f := m.Pick("match", "transport_socket")
		if f[0].Get("tlsMode").Str() == "istio" {
			mode = "ISTIO_MUTUAL (auto)"
			_, sni = tlsMode(f[1], o)
			return false
		}
		typedConfig(f[1].Get("typed_config"), o)
		return true
	})
	return mode, sni
}

// tlsMode reads a transport socket: TLS, mTLS, ISTIO_MUTUAL, plaintext, or its type.
func tlsMode(ts jsonscan.Value, o *Opaque) (string, string) {
	f := ts.Pick("typed_config", "name")
	cfg := f[0]
	typ := typedConfig(cfg, o)
	switch {
	case strings.HasSuffix(typ, "UpstreamTlsContext"):
		c := cfg.Pick("common_tls_context", "sni")
		return tlsContextMode(c[0]), c[1].Str()
	case strings.HasSuffix(typ, "RawBuffer"):
		return "plaintext", ""
	case strings.HasSuffix(typ, "InternalUpstreamTransport"):
		inner, sni := tlsMode(cfg.Get("transport_socket"), o)
		return "internal+" + inner, sni
	case typ != "":
		return ShortType(typ), ""
	}
	return f[1].Str(), ""
}

// tlsContextMode says whether a CommonTlsContext presents a client
// certificate (mTLS), and whether it is Istio's workload certificate.
func tlsContextMode(ctx jsonscan.Value) string {
	f := ctx.Pick("tls_certificate_sds_secret_configs", "tls_certificates")
	if !f[0].Exists() && !f[1].Exists() {
		return "TLS"
	}
	// Istio's workload certificate is the SDS secret "default" (before 1.5,
	// the files mounted at /etc/certs).
	mode := "mTLS"
	_ = f[0].Items(func(_ int, s jsonscan.Value) bool {
		if s.Get("name").Str() == "default" {
			mode = "ISTIO_MUTUAL"
			return false
		}
		return true
	})
	_ = f[1].Items(func(_ int, c jsonscan.Value) bool {
		if file := c.Get("certificate_chain", "filename").Str(); file != "" {
			if file == "/etc/certs/cert-chain.pem" {
				mode = "ISTIO_MUTUAL"
			}
			mode += " (" + file + ")"
		}
		return false
	})
	return mode
}
