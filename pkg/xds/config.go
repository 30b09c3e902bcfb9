package xds

import (
	"runtime"
	"slices"
	"sort"
	"sync"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/fault"
)

// Config is the model of one proxy's configuration. Each kind is built the
// first time it is asked for, from that kind's entries only.
type Config struct {
	Dump   *envoyadmin.Dump
	Opaque Opaque

	listeners    []*Listener
	routeConfigs []*RouteConfig
	clusters     []*Cluster
	endpoints    []*Endpoint
	built        map[envoyadmin.Kind]bool
}

// New wraps a loaded dump.
func New(d *envoyadmin.Dump) *Config {
	return &Config{Dump: d, built: map[envoyadmin.Kind]bool{}}
}

// Listeners returns every listener in every state, in dump order.
func (c *Config) Listeners() []*Listener {
	if !c.built[envoyadmin.KindListener] {
		c.listeners = decodeAll(c, envoyadmin.KindListener, decodeListener)
		c.built[envoyadmin.KindListener] = true
	}
	return c.listeners
}

// RouteConfigs returns the route configurations of the RDS and static sections.
func (c *Config) RouteConfigs() []*RouteConfig {
	if !c.built[envoyadmin.KindRouteConfig] {
		c.routeConfigs = decodeAll(c, envoyadmin.KindRouteConfig, decodeRouteConfigEntry)
		c.built[envoyadmin.KindRouteConfig] = true
	}
	return c.routeConfigs
}

// InlineRouteConfigs returns the route configurations listeners carry inline.
func (c *Config) InlineRouteConfigs() []*RouteConfig {
	var out []*RouteConfig
	for _, l := range c.Listeners() {
		for _, fc := range l.FilterChains {
			if rc := fc.Destination.Inline; rc != nil {
				rc.InlineIn, rc.State, rc.Entry = l.Name, l.State, l.Entry
				out = append(out, rc)
			}
		}
	}
	return out
}

// Clusters returns every cluster in every state, in dump order.
func (c *Config) Clusters() []*Cluster {
	if !c.built[envoyadmin.KindCluster] {
		c.clusters = decodeAll(c, envoyadmin.KindCluster, decodeCluster)
		c.built[envoyadmin.KindCluster] = true
	}
	return c.clusters
}

// Endpoints returns the endpoints of every cluster: live health from
// /clusters when the input has it, else the assignments from EDS.
func (c *Config) Endpoints() []*Endpoint {
	if c.built[envoyadmin.KindEndpoints] {
		return c.endpoints
	}
	c.built[envoyadmin.KindEndpoints] = true
	kind, flatten := envoyadmin.KindEndpoints, endpointsFromEDS
	if c.Dump.Has(envoyadmin.KindClusterStatus) {
		kind, flatten = envoyadmin.KindClusterStatus, endpointsFromHealth
	}
	if kind == envoyadmin.KindEndpoints {
		// Each assignment read once, entries and hosts together.
		if entries, groups, ok := envoyadmin.ReadEntries(c.Dump, kind, runtime.GOMAXPROCS(0), assignmentHosts); ok {
			c.endpoints = flattenHosts(groups, entries)
			return c.endpoints
		}
	}
	c.endpoints = flattenHosts(decodeAll(c, kind, func(e envoyadmin.Entry, _ *Opaque) []Endpoint { return flatten(e) }), nil)
	return c.endpoints
}

// AssignmentsWithHosts returns the dump's endpoint assignments that have
// a host (those Endpoints' hosts point at), in dump order, each read once
// without making its hosts: what -o json|yaml prints without filters. ok
// is false when the endpoints come from /clusters or are not all in lists
// of assignments (the caller uses Endpoints).
func (c *Config) AssignmentsWithHosts() (entries []envoyadmin.Entry, ok bool) {
	if c.built[envoyadmin.KindEndpoints] || c.Dump.Has(envoyadmin.KindClusterStatus) {
		return nil, false
	}
	all, holds, ok := envoyadmin.ReadEntries(c.Dump, envoyadmin.KindEndpoints, runtime.GOMAXPROCS(0), holdsHosts)
	if !ok {
		return nil, false
	}
	n := 0
	for _, h := range holds {
		if h {
			n++
		}
	}
	if n == len(all) {
		return all, true // the dump's own list: not to be changed
	}
	entries = make([]envoyadmin.Entry, 0, n)
	for i, e := range all {
		if holds[i] {
			entries = append(entries, e)
		}
	}
	return entries, true
}

// EarlyAssignmentsWithHosts is the reading while the dump is loaded that
// AssignmentsWithHosts then uses.
func EarlyAssignmentsWithHosts() envoyadmin.Early {
	return envoyadmin.ReadEarly(runtime.GOMAXPROCS(0), holdsHosts)
}

// EarlyEndpoints is the reading of a dump's endpoint assignments while it
// is loaded (envoyadmin.Input.Early) that Endpoints then uses: a command
// listing endpoints reads each of their bytes once.
func EarlyEndpoints() envoyadmin.Early {
	return envoyadmin.ReadEarly(runtime.GOMAXPROCS(0), assignmentHosts)
}

// flattenHosts lists the hosts of the groups in order, each pointing at
// its group's entry when entries (one a group) are given; in stretches of
// groups on all cores (53,000 hosts of a large mesh took a millisecond on
// one).
func flattenHosts(groups [][]Endpoint, entries []envoyadmin.Entry) []*Endpoint {
	const stretch = 1024
	at := make([]int, (len(groups)+stretch-1)/stretch+1) // the first host of each stretch
	for k := range len(at) - 1 {
		n := 0
		for _, g := range groups[k*stretch : min((k+1)*stretch, len(groups))] {
			n += len(g)
		}
		at[k+1] = at[k] + n
	}
	hosts := make([]*Endpoint, at[len(at)-1])
	fault.Each(runtime.GOMAXPROCS(0), len(at)-1, func(k int) {
		h := at[k]
		for i := k * stretch; i < min((k+1)*stretch, len(groups)); i++ {
			for j := range groups[i] {
				if entries != nil {
					groups[i][j].Entry = &entries[i]
				}
				hosts[h] = &groups[i][j]
				h++
			}
		}
	})
	return hosts
}

// Secrets returns the SDS secrets, described by their certificates.
func (c *Config) Secrets() []*Secret {
	var out []*Secret
	for _, e := range c.Dump.Entries(envoyadmin.KindSecret) {
		out = append(out, decodeSecrets(e)...)
	}
	return out
}

// Bootstrap returns the proxy's bootstrap, or nil when the input has none.
func (c *Config) Bootstrap() *Bootstrap {
	bs := c.Dump.Entries(envoyadmin.KindBootstrap)
	if len(bs) == 0 {
		return nil
	}
	return decodeBootstrap(bs[0].Resource)
}

// batchSize is how many entries are decoded together: handed to a worker
// at once, and let go of (their bytes) together; batchBytes bounds a
// batch's share of the dump, so that a few large entries (a gateway's
// route configurations, its listeners) are decoded on several cores too.
const (
	batchSize  = 256
	batchBytes = 512 << 10
)

// decodeAll decodes the entries of one kind on all cores, keeping their
// order. The entries are decoded batch by batch as the dump's list is
// walked (EntriesInBatches), not after the whole walk: the walk's pages
// and its cache of container ends still hold each batch when it is
// decoded, and on several cores the walk and the decoding overlap.
func decodeAll[T any](c *Config, kind envoyadmin.Kind, decode func(envoyadmin.Entry, *Opaque) T) []T {
	workers := runtime.GOMAXPROCS(0)
	// decodeBatch decodes es, then lets go of their bytes.
	decodeBatch := func(es []envoyadmin.Entry, opaque *Opaque) []T {
		out := make([]T, len(es))
		for i, e := range es {
			out[i] = decode(e, opaque)
		}
		c.Dump.Done(es[0], es[len(es)-1])
		return out
	}
	var parts [][]T // the batches' results, in dump order
	if workers == 1 {
		c.Dump.EntriesInBatches(kind, batchSize, batchBytes, func(es []envoyadmin.Entry) {
			parts = append(parts, decodeBatch(es, &c.Opaque))
		})
		return slices.Concat(parts...)
	}
	type batch struct {
		n  int
		es []envoyadmin.Entry
	}
	work := make(chan batch, workers)
	var mu sync.Mutex
	opaques := make([]Opaque, workers)
	faults := make([]any, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for b := range work {
				if faults[w] != nil {
					continue // a fault stops this worker's decoding, not the walk's sending
				}
				var out []T
				// The entries point into a mapped file: a fault (the file shrank)
				// is raised again on the caller, whose guard reports it.
				faults[w] = fault.Go(func() { out = decodeBatch(b.es, &opaques[w]) })
				mu.Lock()
				if b.n >= len(parts) {
					parts = append(parts, make([][]T, b.n+1-len(parts))...)
				}
				parts[b.n] = out
				mu.Unlock()
			}
		})
	}
	func() {
		defer wg.Wait()
		defer close(work)
		n := 0
		c.Dump.EntriesInBatches(kind, batchSize, batchBytes, func(es []envoyadmin.Entry) {
			work <- batch{n, es}
			n++
		})
	}()
	for _, f := range faults {
		fault.Reraise(f)
	}
	for i := range opaques {
		c.Opaque.merge(&opaques[i])
	}
	return slices.Concat(parts...)
}

func (o *Opaque) merge(other *Opaque) {
	for t, n := range other.counts {
		if o.counts == nil {
			o.counts = map[string]int{}
		}
		o.counts[t] += n
	}
}

// SortListeners orders listeners as istioctl does: by port, then address, then name.
func SortListeners(ls []*Listener) {
	sort.SliceStable(ls, func(i, j int) bool {
		a, b := ls[i], ls[j]
		if a.Port != b.Port {
			return a.Port < b.Port
		}
		if a.Address != b.Address {
			return a.Address < b.Address
		}
		return a.Name < b.Name
	})
}
