// Package fault carries memory faults across goroutines. A dump file is
// read through a memory mapping; if the file shrinks while it is read, the
// pages behind the lost part raise SIGBUS, which kills the process unless
// the runtime is told to panic instead (debug.SetPanicOnFault) and the
// panic is recovered. That setting and a recover only hold for one
// goroutine: work spread over several must catch the fault where it
// happens and raise it again on the goroutine that waits for the work,
// whose guard (envoyadmin.Guard, around each command) reports it.
package fault

import (
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// Fault is the value the runtime panics with on a memory fault when
// debug.SetPanicOnFault is on: a runtime.Error that knows the address.
type Fault interface {
	error
	Addr() uintptr
}

// Go runs fn, the body of a goroutine, with a memory fault caught and
// handed back as a value (nil if none) for the goroutine that waits on it
// to Reraise. Any other panic goes on as it was.
func Go(fn func()) (faulted any) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(Fault); !ok {
				panic(r)
			}
			faulted = r
		}
	}()
	fn()
	return nil
}

// Reraise panics with a fault Go caught, on the calling goroutine.
func Reraise(faulted any) {
	if faulted != nil {
		panic(faulted)
	}
}

// Each runs task(k) for every k in [0, n) on up to workers goroutines,
// each taking the next k in turn, and returns when all are done; a memory
// fault in any task stops its goroutine's loop and is raised again here,
// once the other goroutines have finished.
func Each(workers, n int, task func(k int)) {
	workers = min(workers, n)
	faults := make([]any, max(workers, 0))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			faults[w] = Go(func() {
				for k := int(next.Add(1)) - 1; k < n; k = int(next.Add(1)) - 1 {
					task(k)
				}
			})
		})
	}
	wg.Wait()
	for _, f := range faults {
		Reraise(f)
	}
}
