package fault

import (
	"sync/atomic"
	"testing"
)

// TestEachRunsEveryTaskOnce: every k in [0, n) runs exactly once, for
// several numbers of workers (more than tasks included).
func TestEachRunsEveryTaskOnce(t *testing.T) {
	for _, workers := range []int{1, 2, 3, 8} {
		for _, n := range []int{0, 1, 2, 7, 100} {
			runs := make([]atomic.Int32, n)
			Each(workers, n, func(k int) { runs[k].Add(1) })
			for k := range runs {
				if got := runs[k].Load(); got != 1 {
					t.Fatalf("%d workers, %d tasks: task %d ran %d times", workers, n, k, got)
				}
			}
		}
	}
}
