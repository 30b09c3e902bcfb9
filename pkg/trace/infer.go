package trace

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// Candidate is a listener that serves a host on a port: where a request
// without a destination address may be going.
type Candidate struct {
	Address  string // the listener's IP; "0.0.0.0" or "::" for a wildcard
	Listener string
	Why      string // the virtual host or cluster that names the host
}

// Destinations lists the listeners on port that serve host: an HTTP chain
// whose routes have a virtual host with a domain for it (not the "*"
// catch-all), or a TCP chain whose cluster is the host's service. It is how
// trace finds the destination of a request given by name only.
func Destinations(cfg *xds.Config, host string, port uint32) []Candidate {
	name := strings.ToLower(stripPort(host))
	var routes map[string]*xds.RouteConfig
	var out []Candidate
	for _, l := range cfg.Listeners() {
		if l.Port != port || l.UseOriginalDst || (l.State != "ACTIVE" && l.State != "STATIC" && l.State != "") {
			continue
		}
		why := ""
		for _, fc := range l.FilterChains {
			d := fc.Destination
			switch d.Kind {
			case xds.DestRDS, xds.DestInlineRoute:
				rc := d.Inline
				if d.Kind == xds.DestRDS {
					if routes == nil {
						routes = map[string]*xds.RouteConfig{}
						for _, r := range cfg.RouteConfigs() {
							if r.State == "ACTIVE" || r.State == "STATIC" || r.State == "" {
								routes[r.Name] = r
							}
						}
					}
					rc = routes[d.RouteConfig]
				}
				if vh := namedHost(rc, name, host); vh != "" {
					why = "virtual host " + vh
				}
			case xds.DestCluster:
				if serviceOf(d.Cluster) == name || strings.HasPrefix(serviceOf(d.Cluster), name+".") {
					why = "cluster " + d.Cluster
				}
			}
			if why != "" {
				break
			}
		}
		if why != "" {
			out = append(out, Candidate{Address: l.Address, Listener: l.Name, Why: why})
		}
	}
	return out
}

// namedHost is the virtual host of rc with a domain naming host (exactly
// or by a wildcard other than "*"), or "".
func namedHost(rc *xds.RouteConfig, name, host string) string {
	if rc == nil {
		return ""
	}
	host = strings.ToLower(host)
	for _, vh := range rc.VirtualHosts {
		for _, d := range vh.Domains {
			d = strings.ToLower(d)
			switch {
			case d == "*":
			case d == name || d == host:
				return vh.Name
			case strings.HasPrefix(d, "*") && strings.HasSuffix(name, d[1:]):
				return vh.Name
			}
		}
	}
	return ""
}

// serviceOf is the FQDN an Istio cluster name carries
// (outbound|PORT|SUBSET|FQDN), else the name.
func serviceOf(cluster string) string {
	if parts := strings.Split(cluster, "|"); len(parts) == 4 {
		return parts[3]
	}
	return cluster
}

// Describe words the candidates for a message.
func Describe(cs []Candidate) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, fmt.Sprintf("%s (listener %s, %s)", c.Address, c.Listener, c.Why))
	}
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}
