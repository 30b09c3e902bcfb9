package envoyadmin

import (
	"math/rand/v2"
	"sync"
	"testing"
)

// TestPassedLetsGoInBatches: stretches passed in any order, from several
// goroutines, are let go of in few calls, each within what was passed (and
// gaps of at most passedSlack between stretches); when the whole file has
// been passed, every byte of it has been let go of but for less than a
// batch.
func TestPassedLetsGoInBatches(t *testing.T) {
	for seed := range uint64(25) {
		rng := rand.New(rand.NewPCG(seed, 7))
		size := passedBatch*(1+rng.IntN(6)) + rng.IntN(passedBatch)
		// Cut [0, size) into stretches, some with small gaps between them
		// (a comma between entries), some overlapping, in a shuffled order.
		var spans [][2]int
		for at := 0; at < size; {
			end := min(size, at+1+rng.IntN(1<<(10+rng.IntN(10))))
			spans = append(spans, [2]int{at, end})
			switch rng.IntN(4) {
			case 0:
				at = end + rng.IntN(passedSlack+1)
			case 1:
				at = max(0, end-rng.IntN(1<<12)) // overlapping the last
			default:
				at = end
			}
		}
		rng.Shuffle(len(spans), func(i, j int) { spans[i], spans[j] = spans[j], spans[i] })
		var mu sync.Mutex
		var evicted [][2]int
		p := &passed{evict: func(from, to int) {
			mu.Lock()
			evicted = append(evicted, [2]int{from, to})
			mu.Unlock()
		}}
		var wg sync.WaitGroup
		for w := range 3 {
			wg.Go(func() {
				for i := w; i < len(spans); i += 3 {
					p.add(spans[i][0], spans[i][1])
				}
			})
		}
		wg.Wait()
		covered := make([]bool, size) // a byte of a passed stretch, or of a gap between two
		for _, s := range spans {
			for i := s[0]; i < min(s[1]+passedSlack, size); i++ {
				covered[i] = true
			}
		}
		gone := make([]bool, size)
		for _, e := range evicted {
			for i := e[0]; i < e[1]; i++ {
				if i >= size || !covered[i] {
					t.Fatalf("seed %d: let go of %v, byte %d was not passed", seed, e, i)
				}
				gone[i] = true
			}
		}
		if max := size/passedBatch*4 + 4; len(evicted) > max {
			t.Fatalf("seed %d: %d calls for %d bytes, want at most %d", seed, len(evicted), size, max)
		}
		kept := 0
		for i := range size {
			if covered[i] && !gone[i] {
				kept++
			}
		}
		if len(p.spans) != 1 || kept >= passedBatch+passedSlack {
			t.Fatalf("seed %d: the whole file passed, %d bytes kept in %d stretches", seed, kept, len(p.spans))
		}
	}
}
