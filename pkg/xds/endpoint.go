package xds

import (
	"strings"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
)

// Endpoint is one upstream host of a cluster.
type Endpoint struct {
	Address  string // ip:port, unix://path or envoy://listener/address
	Cluster  string
	Health   string // HEALTHY, UNHEALTHY, DRAINING, TIMEOUT, DEGRADED, UNKNOWN
	Outlier  string // OK or FAILED when known (from /clusters), else ""
	Weight   uint32
	Locality string // region/zone/subzone
	Priority uint32
	Hostname string
	// FromHealth is true when the row comes from /clusters (live health), not EDS.
	FromHealth bool
	// Entry is the cluster's entry the row comes from, shared by its hosts.
	Entry *envoyadmin.Entry
}

// endpointsFromEDS flattens ClusterLoadAssignments into rows.
func endpointsFromEDS(e envoyadmin.Entry) []*Endpoint {
	var out []*Endpoint
	// One pass over each object (Pick): a field asked for alone that the
	// object lacks (priority, mostly) would rescan all of its hosts. The
	// hosts are allocated together, not one by one.
	var cla, le, f [3]jsonscan.Value
	var ep [2]jsonscan.Value
	e.Resource.PickTo(cla[:], "cluster_name", "endpoints")
	cluster := cla[0].Str()
	entry := &e
	var hosts []Endpoint
	_ = cla[1].Items(func(_ int, group jsonscan.Value) bool {
		group.PickTo(le[:], "locality", "priority", "lb_endpoints")
		loc := locality(le[0])
		prio, _ := le[1].Uint()
		_ = le[2].Items(func(_ int, lb jsonscan.Value) bool {
			lb.PickTo(f[:], "endpoint", "health_status", "load_balancing_weight")
			f[0].PickTo(ep[:], "address", "hostname")
			health := healthStatus(f[1])
			w, ok := f[2].Uint()
			if !ok {
				w = 1
			}
			hosts = append(hosts, Endpoint{
				Address: hostPort(ep[0]), Cluster: cluster, Health: health, Weight: uint32(w),
				Locality: loc, Priority: uint32(prio), Hostname: ep[1].Str(), Entry: entry,
			})
			return true
		})
		return true
	})
	out = make([]*Endpoint, len(hosts))
	for i := range hosts {
		out[i] = &hosts[i]
	}
	return out
}

// healthStatus is an EDS health_status (of an assignment's host, or a
// /clusters host's eds_health_status): the usual words without an
// allocation each. Absent is UNKNOWN, which Envoy treats as healthy.
func healthStatus(v jsonscan.Value) string {
	raw := v.Raw()
	if v.Kind() == jsonscan.String {
		raw = raw[1 : len(raw)-1]
	}
	switch string(raw) {
	case "HEALTHY":
		return "HEALTHY"
	case "UNHEALTHY":
		return "UNHEALTHY"
	case "DRAINING":
		return "DRAINING"
	case "TIMEOUT":
		return "TIMEOUT"
	case "DEGRADED":
		return "DEGRADED"
	case "UNKNOWN":
		return "UNKNOWN"
	}
	if s := v.Str(); s != "" {
		return s
	}
	return "HEALTHY"
}

// endpointsFromHealth reads one cluster of /clusters?format=json.
func endpointsFromHealth(e envoyadmin.Entry) []*Endpoint {
	var out []*Endpoint
	cs := e.Resource
	cluster := cs.Get("name").Str()
	entry := &e
	_ = cs.Get("host_statuses").Items(func(_ int, h jsonscan.Value) bool {
		w, ok := h.Get("weight").Uint()
		if !ok {
			w = 1
		}
		prio, _ := h.Get("priority").Uint()
		health, outlier := hostHealth(h.Get("health_status"))
		out = append(out, &Endpoint{
			Address: hostPort(h.Get("address")), Cluster: cluster, Health: health, Outlier: outlier, Weight: uint32(w),
			Locality: locality(h.Get("locality")), Priority: uint32(prio), Hostname: h.Get("hostname").Str(),
			FromHealth: true, Entry: entry,
		})
		return true
	})
	return out
}

// hostHealth reads an admin HostHealthStatus. Any failed check makes the host
// unhealthy for load balancing; the EDS status is the default.
func hostHealth(hs jsonscan.Value) (health, outlier string) {
	health = healthStatus(hs.Get("eds_health_status"))
	for _, f := range []struct{ key, status string }{
		{"failed_active_health_check", "UNHEALTHY"}, {"failed_active_degraded_check", "DEGRADED"},
		{"pending_dynamic_removal", "DRAINING"}, {"pending_active_hc", "UNHEALTHY"},
		{"excluded_via_immediate_hc_fail", "UNHEALTHY"}, {"active_hc_timeout", "TIMEOUT"},
	} {
		if hs.Get(f.key).Bool() {
			health = f.status
		}
	}
	outlier = "OK"
	if hs.Get("failed_outlier_check").Bool() {
		outlier = "FAILED"
	}
	return health, outlier
}

func locality(l jsonscan.Value) string {
	if !l.Exists() {
		return ""
	}
	var f [3]jsonscan.Value
	l.PickTo(f[:], "region", "zone", "sub_zone")
	parts := []string{f[0].Str(), f[1].Str(), f[2].Str()}
	return strings.TrimRight(strings.Join(parts, "/"), "/")
}
