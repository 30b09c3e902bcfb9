package xds

import (
	"net"
	"strconv"
	"strings"
)

// ListenerFilter selects listeners; zero fields match everything.
type ListenerFilter struct {
	Port    uint32
	Address string
	Type    string // HTTP, TCP, HTTP+TCP, UNKNOWN
	Name    string
}

// IsZero reports whether the filter lets every listener through.
func (f ListenerFilter) IsZero() bool { return f == ListenerFilter{} }

// Match reports whether l passes the filter.
func (f ListenerFilter) Match(l *Listener) bool {
	if f.Port != 0 && l.Port != f.Port {
		return false
	}
	if f.Address != "" && !strings.EqualFold(l.Address, f.Address) {
		found := false
		for _, a := range l.AdditionalAddresses {
			found = found || strings.HasPrefix(a, f.Address+":") || a == f.Address
		}
		if !found {
			return false
		}
	}
	if f.Type != "" && !strings.EqualFold(l.Type(), f.Type) {
		return false
	}
	return f.Name == "" || l.Name == f.Name
}

// ClusterFilter selects clusters by the parts of their Istio name.
type ClusterFilter struct {
	FQDN      string
	Port      uint32
	Subset    string
	Direction string
}

// IsZero reports whether the filter lets every cluster through.
func (f ClusterFilter) IsZero() bool { return f == ClusterFilter{} }

// Match reports whether c passes the filter.
func (f ClusterFilter) Match(c *Cluster) bool {
	return (f.FQDN == "" || c.FQDN == f.FQDN || c.Name == f.FQDN) &&
		(f.Port == 0 || c.Port == f.Port) &&
		(f.Subset == "" || c.Subset == f.Subset) &&
		(f.Direction == "" || strings.EqualFold(c.Direction, f.Direction))
}

// EndpointFilter selects endpoints.
type EndpointFilter struct {
	Cluster string
	Status  string // HEALTHY, UNHEALTHY, ...
	Address string
	Port    uint32
}

// Match reports whether e passes the filter.
func (f EndpointFilter) Match(e *Endpoint) bool {
	if f.Cluster != "" && e.Cluster != f.Cluster {
		return false
	}
	if f.Status != "" && !strings.EqualFold(e.Health, f.Status) {
		return false
	}
	if f.Address == "" && f.Port == 0 {
		return true // the address need not be split
	}
	host, port := splitHostPort(e.Address)
	if f.Address != "" && host != f.Address {
		return false
	}
	return f.Port == 0 || port == f.Port
}

func splitHostPort(addr string) (string, uint32) {
	if strings.Contains(addr, "://") {
		if !strings.HasPrefix(addr, "envoy://") {
			return addr, 0
		}
		// envoy://LISTENER/ID:PORT: the endpoint id is the host.
		addr = addr[strings.LastIndexByte(addr, '/')+1:]
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return strings.Trim(addr, "[]"), 0
	}
	p, err := strconv.ParseUint(port, 10, 32)
	if err != nil {
		return host, 0
	}
	return host, uint32(p)
}
