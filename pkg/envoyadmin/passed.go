package envoyadmin

import (
	"slices"
	"sync"
)

// passedBatch is how many bytes the readings pass before their pages are
// let go of. Stretches less than passedSlack apart count as one: what lies
// between two entries read (a comma, indentation) is passed too.
const (
	passedBatch = 2 << 20
	passedSlack = 4 << 10
)

// passed gathers the stretches of a mapped file the check and the readers
// have passed, and lets go of their pages a few megabytes at a time. Each
// call to let go of pages flushes the TLB of every core the process runs
// on (an interrupt to each, a costly one in a virtual machine), and the
// readings pass a stretch hundreds of times a file: on a 45 MB dump, 290
// calls (the check's walks, its split search's, the readers') were a
// twentieth of the CPU time of a listing.
type passed struct {
	mu    sync.Mutex
	spans []passedSpan // sorted, more than passedSlack apart
	evict func(from, to int)
}

// A passedSpan is a stretch passed; lo:hi spans what was passed in it
// since its pages were last let go of, n bytes.
type passedSpan struct{ from, to, lo, hi, n int }

// add notes that data[from:to] has been passed. The stretch it joins is
// let go of once passedBatch bytes of it have been passed since it last
// was.
func (p *passed) add(from, to int) {
	if from >= to {
		return
	}
	p.mu.Lock()
	i, _ := slices.BinarySearchFunc(p.spans, from, func(s passedSpan, from int) int { return s.to + passedSlack - from })
	// spans[i] is the first ending at most passedSlack before from: it and
	// those after it starting by to+passedSlack join it.
	s := passedSpan{from: from, to: to, lo: from, hi: to, n: to - from}
	j := i
	for ; j < len(p.spans) && p.spans[j].from <= to+passedSlack; j++ {
		o := p.spans[j]
		s.from, s.to = min(s.from, o.from), max(s.to, o.to)
		if o.n > 0 {
			s.lo, s.hi, s.n = min(s.lo, o.lo), max(s.hi, o.hi), s.n+o.n
		}
	}
	lo, hi := s.lo, s.hi
	full := s.n >= passedBatch
	if full {
		s.lo, s.hi, s.n = 0, 0, 0
	}
	p.spans = slices.Replace(p.spans, i, j, s)
	p.mu.Unlock()
	if full {
		p.evict(lo, hi)
	}
}
