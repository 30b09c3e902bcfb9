package xds

import "strings"

// ListenerFilter selects listeners; zero fields match everything.
type ListenerFilter struct {
	Port    uint32
	Address string
	Type    string // HTTP, TCP, HTTP+TCP, UNKNOWN
	Name    string
}

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
	host, port := splitHostPort(e.Address)
	if f.Address != "" && host != f.Address {
		return false
	}
	return f.Port == 0 || port == f.Port
}

func splitHostPort(addr string) (string, uint32) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 || strings.Contains(addr, "://") && !strings.HasPrefix(addr, "envoy://") {
		return addr, 0
	}
	var p uint32
	for _, c := range addr[i+1:] {
		if c < '0' || c > '9' {
			return addr, 0
		}
		p = p*10 + uint32(c-'0')
	}
	host := strings.TrimSuffix(strings.TrimPrefix(addr[:i], "["), "]")
	if j := strings.LastIndexByte(host, '/'); strings.HasPrefix(host, "envoy://") && j >= 0 {
		host = host[j+1:]
	}
	return host, p
}
