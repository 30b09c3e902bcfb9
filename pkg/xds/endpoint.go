package xds

import (
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
)

// Endpoint is one upstream host of a cluster.
type Endpoint struct {
	Address string // ip:port, unix://path or envoy://listener/address
	Cluster string
	Health  string // HEALTHY, UNHEALTHY, DRAINING, TIMEOUT, DEGRADED, UNKNOWN
	Outlier string // OK or FAILED when known (from /clusters), else ""
	Weight  uint32
	// WeightInvalid is an EDS host's load_balancing_weight as written when
	// Envoy would reject it (not an integer from 1 to 4294967295); Weight
	// is then 0.
	WeightInvalid string
	Locality      string // region/zone/subzone
	Priority      uint32
	Hostname      string
	// FromHealth is true when the row comes from /clusters (live health), not EDS.
	FromHealth bool
	// Entry is the cluster's entry the row comes from, shared by its hosts.
	Entry *envoyadmin.Entry
}

// endpointsFromEDS flattens ClusterLoadAssignments into rows.
//
// An assignment is read front to back once (jsonscan.Reader): a host's
// fields are three objects down (lb_endpoint, endpoint, address), and
// walking each level by Pick would pass over the host's bytes once per
// level. Where a field appears twice, the first is taken, as Pick does. A
// group's locality and priority may follow its hosts (priority does, in
// Envoy's field order), and the cluster's name its groups: they are filled
// in when known. The hosts are allocated together, not one by one.
func endpointsFromEDS(e envoyadmin.Entry) []Endpoint {
	r := e.Resource.Reader()
	hosts := assignmentHosts(&r)
	entry := &e
	for i := range hosts {
		hosts[i].Entry = entry
	}
	return hosts
}

// assignmentHosts reads the hosts of the ClusterLoadAssignment at r (their
// Entry left for the caller).
func assignmentHosts(r *jsonscan.Reader) []Endpoint {
	// The hosts are read into a scratch slice, then copied into a stretch
	// of a slab of hosts: growing a slice per assignment (most have a few
	// hosts) cost a third of reading them, and allocating each
	// assignment's hosts on its own a tenth of a listing's CPU.
	bufs := hostBufsPool.Get().(*hostBufs)
	hosts := bufs.scratch[:0]
	var cluster string
	var seen jsonscan.Seen
	r.Object(func(k []byte) {
		switch {
		case jsonscan.KeyIs(k, "cluster_name") && seen.First(1):
			cluster = r.Str()
		case jsonscan.KeyIs(k, "endpoints") && seen.First(2):
			r.Array(func() { hosts = readLocalityGroup(r, hosts) })
		}
	})
	var out []Endpoint
	if len(hosts) > 0 {
		if len(bufs.slab) < len(hosts) {
			bufs.slab = make([]Endpoint, max(hostSlab, len(hosts)))
		}
		out, bufs.slab = bufs.slab[:len(hosts):len(hosts)], bufs.slab[len(hosts):]
		copy(out, hosts)
		for i := range out {
			out[i].Cluster = cluster
		}
	}
	clear(hosts) // the pool keeps no strings alive
	bufs.scratch = hosts[:0]
	hostBufsPool.Put(bufs)
	return out
}

// holdsHosts reports whether the ClusterLoadAssignment at r has a host, as
// assignmentHosts reads them (an element of the first lb_endpoints of an
// element of its first endpoints), without making them: the whole of it
// is read (a strict Reader checks what it passes over), the groups after
// the first host passed over whole.
func holdsHosts(r *jsonscan.Reader) bool {
	holds := false
	var seen jsonscan.Seen
	r.Object(func(k []byte) {
		if jsonscan.KeyIs(k, "endpoints") && seen.First(1) {
			r.Array(func() {
				if holds {
					return
				}
				var seenGroup jsonscan.Seen
				r.Object(func(k []byte) {
					if jsonscan.KeyIs(k, "lb_endpoints") && seenGroup.First(1) {
						// Passed over whole (not an element at a time).
						l := r.Value()
						holds = l.Kind() == jsonscan.Array && !l.Empty()
					}
				})
			})
		}
	})
	return holds
}

// hostBufs are what assignmentHosts reads hosts into (scratch) and the
// rest of the slab it hands them out of (never written but by the hosts
// handed out).
type hostBufs struct{ scratch, slab []Endpoint }

// hostSlab is how many hosts a slab holds: 60 kB.
const hostSlab = 512

var hostBufsPool = sync.Pool{New: func() any { return new(hostBufs) }}

// readLocalityGroup appends the hosts of one LocalityLbEndpoints.
func readLocalityGroup(r *jsonscan.Reader, hosts []Endpoint) []Endpoint {
	first := len(hosts)
	var loc string
	var prio uint64
	var seen jsonscan.Seen
	r.Object(func(k []byte) {
		switch {
		case jsonscan.KeyIs(k, "lb_endpoints") && seen.First(1):
			r.Array(func() { hosts = append(hosts, readLbEndpoint(r)) })
		case jsonscan.KeyIs(k, "locality") && seen.First(2):
			loc = locality(r.Value())
		case jsonscan.KeyIs(k, "priority") && seen.First(4):
			prio, _ = r.Uint()
		}
	})
	for i := first; i < len(hosts); i++ {
		hosts[i].Locality, hosts[i].Priority = loc, uint32(prio)
	}
	return hosts
}

// readLbEndpoint reads one LbEndpoint: its endpoint's address and
// hostname, health (absent: HEALTHY, as healthStatus has it) and weight
// (absent: 1; see lbWeight).
func readLbEndpoint(r *jsonscan.Reader) Endpoint {
	h := Endpoint{Health: "HEALTHY", Weight: 1}
	var seen, seenEp jsonscan.Seen
	r.Object(func(k []byte) {
		switch {
		case jsonscan.KeyIs(k, "endpoint") && seen.First(1):
			r.Object(func(k []byte) {
				switch {
				case jsonscan.KeyIs(k, "address") && seenEp.First(1):
					h.Address = hostPortOf(readAddressFields(r))
				case jsonscan.KeyIs(k, "hostname") && seenEp.First(2):
					h.Hostname = r.Str()
				}
			})
		case jsonscan.KeyIs(k, "health_status") && seen.First(2):
			h.Health = healthStatus(r.Value())
		case jsonscan.KeyIs(k, "load_balancing_weight") && seen.First(4):
			v := r.Value()
			w, ok := lbWeight(v)
			h.Weight = w
			if !ok {
				h.WeightInvalid = string(v.Raw())
			}
		}
	})
	return h
}

// lbWeight reads a host's load_balancing_weight, a UInt32Value of at
// least 1 (Envoy's endpoint_components.proto): a JSON number or, as
// proto3's JSON mapping allows, a string of one, in any notation whose
// value is an integer (5, "5", 5.0, 5e0). null is the field unset: 1.
// Anything else (0, -1, 1.5, 4294967296, "x", true, an object) Envoy
// rejects, and ok is false.
func lbWeight(v jsonscan.Value) (w uint32, ok bool) {
	if v.Kind() == jsonscan.Null {
		return 1, true
	}
	if n, ok := v.Uint(); ok {
		if n < 1 || n > math.MaxUint32 {
			return 0, false
		}
		return uint32(n), true
	}
	raw := v.Raw()
	switch v.Kind() {
	case jsonscan.String:
		raw = raw[1 : len(raw)-1]
		if len(raw) == 0 || strings.Trim(string(raw), "0123456789+-.eE") != "" {
			return 0, false // strconv would take "inf", hex, underscores
		}
	case jsonscan.Number:
	default:
		return 0, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f != math.Trunc(f) || f < 1 || f > math.MaxUint32 {
		return 0, false
	}
	return uint32(f), true
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
func endpointsFromHealth(e envoyadmin.Entry) []Endpoint {
	var out []Endpoint
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
		out = append(out, Endpoint{
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
