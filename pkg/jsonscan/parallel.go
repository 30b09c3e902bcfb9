package jsonscan

import (
	"bytes"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/fault"
)

// Checking a large document on several cores.
//
// The grammar check is one walk with a stack, so a walk cannot start in the
// middle of a document: it would not know what it is inside. It can guess.
// A raw newline never stands inside a JSON string, so in an indented
// document ",\n    {" is a comma between two objects in an array. From
// such a split point, a second walk checks that array's elements, assuming
// only that it is inside an array after a comma, up to the next split point
// of the same array (linked: the walk from there goes on) or the ']' that
// closes it. When a walk reaches a split point it knows whether the guess
// held (it is in an array, after a comma); if so it takes the other walk's
// answer and continues from where that walk stopped; if not, or if the
// other walk found an error, it checks the stretch itself, so the answer
// and any error are exactly those of one walk. Compact documents (no
// newlines) and small ones are checked by one walk.

// parallelMin is the size from which Parse uses several cores (a variable
// for tests, which split small documents).
var parallelMin = 8 << 20

// splitEvery is the stretch between split points (0: the document's size /
// (64 * cores), at least splitMinEvery). Short stretches keep every core
// busy to the end, and each walk's pages few.
var splitEvery = 0

const splitMinEvery = 256 << 10

// splitSearch is how far past its place a split point is looked for at
// most.
const splitSearch = 64 << 10

// A split point's walk: waiting for a worker, running, done, or absorbed
// (a walk from before it passed it first and checked it itself).
const (
	splitPending int32 = iota
	splitRunning
	splitDone
	splitAbsorbed
)

// split is one split point and what the walk from it found.
type split struct {
	at    int // index of the '{' that starts an array element
	state atomic.Int32
	done  chan struct{}
	// end is where the walk stopped: the ']' closing the array, or (linked)
	// the next split point, where the next element starts.
	end    int
	linked bool
	depth  int   // deepest nesting below the array
	pairs  []int // large containers' (start, end), flattened
	err    error
}

var (
	errStopped = errors.New("stopped")
	// errLinked ends a walk at the next split point of its own array.
	errLinked = errors.New("linked")
)

// taken counts the split walks whose answers were taken (for tests).
var taken atomic.Int64

// validateParallel is validate over several walks (see above), or one walk
// when the document offers no split points.
func (d *doc) validateParallel(start int) (int, error) {
	cores := runtime.GOMAXPROCS(0)
	data := d.data
	if cores < 2 || len(data) < parallelMin {
		return d.validate(start)
	}
	every := splitEvery
	if every == 0 {
		every = max(len(data)/(64*cores), splitMinEvery)
	}
	// The split points are searched for on all cores, 64 a core: first
	// within splitSearch/4 bytes of their places, then again within
	// splitSearch for those whose element is nested deeper than the
	// least nested found (a walk from a nested element ends with its
	// array, and the walk before it checks on from there alone). The
	// walks let go of the pages read as they pass them (letting go of
	// them here, in one call, cost 0.7 ms of the 45 MB varied dump's
	// load, and kept a few MB less resident while the walks start).
	points := make([]int, (len(data)-start-1)/every)
	indents := make([]int, len(points))
	inHole := func(k int) bool { return d.hole >= 0 && start+(k+1)*every >= d.hole }
	fault.Each(cores, len(points), func(k int) {
		if inHole(k) {
			points[k], indents[k] = -1, 64
			return
		}
		points[k], indents[k] = d.splitPoint(start+(k+1)*every, splitSearch/4)
	})
	least := 64
	for _, indent := range indents {
		least = min(least, indent)
	}
	var again []int
	for k, indent := range indents {
		if (indent > least || points[k] < 0) && !inHole(k) {
			again = append(again, k)
		}
	}
	fault.Each(cores, len(again), func(i int) {
		k := again[i]
		points[k], _ = d.splitPoint(start+(k+1)*every, splitSearch)
	})
	var splits []*split
	for _, p := range points {
		if p < 0 || len(splits) > 0 && p <= splits[len(splits)-1].at || d.hole >= 0 && p >= d.hole {
			continue // none in the hole or past it (see Hole)
		}
		splits = append(splits, &split{at: p, done: make(chan struct{})})
	}
	if len(splits) == 0 {
		return d.validate(start)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	faults := make([]any, cores) // memory faults in the walks (a mapped file that shrank), raised again here
	pages := d.pages
	var next atomic.Int64
	// walk checks the elements from split point n on.
	walk := func(n int, s *split) {
		defer func() {
			if s.state.Load() != splitDone {
				// A fault: the walk from before checks the stretch itself
				// (and takes the fault itself, where it is guarded).
				s.err = errStopped
				s.state.Store(splitDone)
				close(s.done)
			}
		}()
		limit := len(data)
		if n+1 < len(splits) {
			limit = splits[n+1].at
		}
		sc := &scanner{data: data, closers: []byte{']'}, starts: []int{-1}, st: wantItem, speculative: true,
			splits: splits[n+1:], stop: &stop, pages: pages, from: s.at, next: s.at + progressStep, limit: limit,
			hole: d.hole, holeRead: d.holeRead}
		sc.record = func(a, b int) { s.pairs = append(s.pairs, a, b) }
		if pages != nil {
			pages.Ahead(s.at, min(s.at+readAhead, limit))
		}
		s.end, s.err = sc.run(s.at)
		if s.err == errLinked {
			s.linked, s.err = true, nil
		}
		if pages != nil {
			pages.Passed(sc.from, max(s.end, sc.from))
		}
		s.depth = sc.depth - 1
		s.state.Store(splitDone)
		close(s.done)
	}
	for w := range cores {
		wg.Go(func() {
			faults[w] = fault.Go(func() {
				for {
					n := int(next.Add(1)) - 1
					if n >= len(splits) || stop.Load() {
						return
					}
					if s := splits[n]; s.state.CompareAndSwap(splitPending, splitRunning) {
						walk(n, s)
					} // else absorbed by a walk that got there first
				}
			})
		})
	}
	root := &scanner{data: data, st: wantValue, pages: pages, next: progressStep, limit: len(data), record: d.record, splits: splits,
		hole: d.hole, holeRead: d.holeRead}
	end, err := func() (int, error) {
		// The others stop and are waited for even when the walk from the
		// start faults (the fault goes on to the caller's guard).
		defer func() {
			stop.Store(true)
			wg.Wait()
		}()
		return root.run(start)
	}()
	for _, f := range faults {
		fault.Reraise(f)
	}
	return end, err
}

// splitPoint is splitPoint in the document, looked at through its pages'
// Peek when it has one (see Pages), with a margin before at for the comma
// before a line break and one after for an indentation.
func (d *doc) splitPoint(at, window int) (point, indent int) {
	if d.pages == nil || d.pages.Peek == nil {
		return splitPoint(d.data, at, window)
	}
	lo, hi := max(at-peekMargin, 0), min(at+window+peekMargin, len(d.data))
	buf := peekBufs.Get().(*[]byte)
	defer peekBufs.Put(buf)
	point, indent = splitPoint(Look(d.pages.Peek, buf, d.data, lo, hi), at-lo, window)
	if point >= 0 {
		point += lo
	}
	return point, indent
}

// Look is data[from:to] read through peek when it is set and can (into
// *buf, which keeps it for the next look), else data's own bytes.
func Look(peek func(dst []byte, from, to int) []byte, buf *[]byte, data []byte, from, to int) []byte {
	if peek != nil {
		if b := peek(*buf, from, to); b != nil {
			*buf = b
			return b
		}
	}
	return data[from:to]
}

// peekBufs are the buffers of the looks at split points (on all cores).
var peekBufs = sync.Pool{New: func() any { return new([]byte) }}

// peekMargin is the margin of a peek at a split point's place (more
// indentation than a split point may have).
const peekMargin = 128

// splitPoint is the index of the '{' of a ",\n<indent>{" within window
// bytes of at, and its indentation, or -1 and 64: of those, the least
// indented whose indentation recurs in that stretch. The least indented
// is an element of the outermost array there (a cluster, not one of its
// small lists), so the walk from it runs on to the next split point; one
// that recurs is an element of an array of many small elements, not one
// of the few huge sections of a dump (a walk from one would run through a
// whole section alone).
func splitPoint(data []byte, at, window int) (point, indent int) {
	limit := min(len(data), at+window)
	var first [64]int // first candidate at each indentation, +1
	best, bestIndent := -1, len(first)
	for i := at; ; {
		brace, n := nextElementLine(data, i, limit)
		if brace < 0 {
			break
		}
		if n < len(first) {
			if first[n] == 0 {
				first[n] = brace + 1
			} else if n < bestIndent {
				best, bestIndent = first[n]-1, n
			}
		}
		i = brace - n // the line's start: on from its line break
	}
	return best, bestIndent
}

// nextElementLine finds the first line break at or after from, and before
// limit, that follows a comma and begins a line of spaces and tabs then
// '{': by the layout alone, where an element of an indented array begins.
// It returns the index of that '{' and the width of the indentation before
// it, or -1 and 0.
func nextElementLine(data []byte, from, limit int) (brace, indent int) {
	for i := from; i < limit; i++ {
		k := bytes.IndexByte(data[i:limit], '\n')
		if k < 0 {
			break
		}
		i += k
		if !afterComma(data, i) {
			continue // not after a comma: its indentation does not matter
		}
		f := i + 1
		for f < len(data) && (data[f] == ' ' || data[f] == '\t') {
			f++
		}
		if f < len(data) && data[f] == '{' {
			return f, f - i - 1
		}
	}
	return -1, 0
}
