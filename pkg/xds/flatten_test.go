package xds

import (
	"math/rand/v2"
	"testing"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
)

// TestFlattenHostsInOrder: the hosts of groups of any sizes (empty ones,
// runs longer than a stretch) come out in order, each the group's own
// element, pointing at its group's entry when entries are given and left
// alone when not (the pass without entries runs first: none is set).
func TestFlattenHostsInOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 1023, 1024, 1025, 5000} {
		groups := make([][]Endpoint, n)
		entries := make([]envoyadmin.Entry, n)
		for i := range groups {
			groups[i] = make([]Endpoint, rng.IntN(4))
			for j := range groups[i] {
				groups[i][j].Weight = uint32(i*8 + j)
			}
		}
		for _, withEntries := range []bool{false, true} {
			var es []envoyadmin.Entry
			if withEntries {
				es = entries
			}
			hosts := flattenHosts(groups, es)
			k := 0
			for i, g := range groups {
				for j := range g {
					if k >= len(hosts) || hosts[k] != &g[j] {
						t.Fatalf("%d groups: host %d is not group %d's element %d", n, k, i, j)
					}
					if withEntries && hosts[k].Entry != &entries[i] || !withEntries && hosts[k].Entry != nil {
						t.Fatalf("%d groups: host %d points at the wrong entry", n, k)
					}
					k++
				}
			}
			if k != len(hosts) {
				t.Fatalf("%d groups: %d hosts, want %d", n, len(hosts), k)
			}
		}
	}
}
