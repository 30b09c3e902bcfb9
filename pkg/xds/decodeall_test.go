package xds

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"

	"github.com/kubectl-mesh/kubectl-mesh/internal/dumpgen"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
)

// TestDecodeAllIsOneEntryAtATime: decoding batch by batch as the lists are
// walked, on one core and on several, gives every kind's entries decoded
// in dump order, as decoding Entries one by one does.
func TestDecodeAllIsOneEntryAtATime(t *testing.T) {
	var buf bytes.Buffer
	if err := dumpgen.WriteVaried(&buf, dumpgen.Options{Services: 700}); err != nil {
		t.Fatal(err)
	}
	load := func() *Config {
		ds, err := envoyadmin.Load(buf.Bytes())
		if err != nil || len(ds) != 1 {
			t.Fatalf("load: %v", err)
		}
		return New(ds[0])
	}
	describe := func(c *Config) []string {
		var out []string
		for _, l := range c.Listeners() {
			out = append(out, fmt.Sprintf("listener %s %s %d %d", l.Name, l.Address, l.Port, len(l.FilterChains)))
		}
		for _, cl := range c.Clusters() {
			out = append(out, fmt.Sprintf("cluster %s %s %s %s", cl.Name, cl.Type, cl.LBPolicy, cl.TLS))
		}
		for _, rc := range c.RouteConfigs() {
			out = append(out, fmt.Sprintf("routes %s %d", rc.Name, len(rc.VirtualHosts)))
		}
		for _, e := range c.Endpoints() {
			out = append(out, fmt.Sprintf("endpoint %s %s %s %d", e.Cluster, e.Address, e.Health, e.Weight))
		}
		return out
	}
	// The reference: each entry of each kind decoded in turn.
	ref := load()
	var want []string
	for _, e := range ref.Dump.Entries(envoyadmin.KindListener) {
		if l := decodeListener(e, &ref.Opaque); l != nil {
			want = append(want, fmt.Sprintf("listener %s %s %d %d", l.Name, l.Address, l.Port, len(l.FilterChains)))
		}
	}
	for _, e := range ref.Dump.Entries(envoyadmin.KindCluster) {
		cl := decodeCluster(e, &ref.Opaque)
		want = append(want, fmt.Sprintf("cluster %s %s %s %s", cl.Name, cl.Type, cl.LBPolicy, cl.TLS))
	}
	for _, e := range ref.Dump.Entries(envoyadmin.KindRouteConfig) {
		rc := decodeRouteConfigEntry(e, &ref.Opaque)
		want = append(want, fmt.Sprintf("routes %s %d", rc.Name, len(rc.VirtualHosts)))
	}
	for _, e := range ref.Dump.Entries(envoyadmin.KindEndpoints) {
		for _, ep := range endpointsFromEDS(e) {
			want = append(want, fmt.Sprintf("endpoint %s %s %s %d", ep.Cluster, ep.Address, ep.Health, ep.Weight))
		}
	}
	if len(want) < 5000 {
		t.Fatalf("the generated dump has %d resources: too few for several batches", len(want))
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2, 3} {
		runtime.GOMAXPROCS(procs)
		got := describe(load())
		if len(got) != len(want) {
			t.Fatalf("GOMAXPROCS=%d: %d resources, want %d", procs, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("GOMAXPROCS=%d: resource %d is %q, want %q", procs, i, got[i], want[i])
			}
		}
	}
}
