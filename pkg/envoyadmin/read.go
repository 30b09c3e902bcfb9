package envoyadmin

import (
	"slices"
	"sync/atomic"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/fault"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
)

// partBytes is about how much of a list one part is: a worker reads a
// part at a time, so parts this size keep every core busy to the end.
var partBytes = 512 << 10 // a variable for tests, which split small lists

// ReadEntries finds the entries of kind k and reads their resources in
// one pass: where EntriesInBatches finds each entry's end (passing over
// its bytes) and a decoder then walks them again, here each entry is read
// front to back once, its resource by read with a Reader at it. The lists
// are read in parts on up to workers goroutines; a part starts where the
// layout says an entry begins (jsonscan.ItemStarts), taken only when the
// part before it, read from a true start, ends exactly there; otherwise
// that part reads on to the end of its list and the parts after it are
// not used, so the answer is always that of one reading from the start.
//
// It returns the entries in dump order (as Entries, which it indexes) and
// what read returned for each. ok is false when the kind's entries are
// not all in lists of one resource each (listeners' dynamic states, a lone
// resource): the caller walks them as before. When the load read them
// already (ReadEarly, with the same read), that reading is returned.
func ReadEntries[T any](d *Dump, k Kind, workers int, read func(r *jsonscan.Reader) T) (entries []Entry, results []T, ok bool) {
	if k == KindListener {
		return nil, nil, false
	}
	if e, ok := d.early.(*earlyRead[T]); ok && e.kind == k && len(d.entries[k]) == 0 && len(d.pending[k]) == 1 && d.pending[k][0].value == e.list {
		// Read while the dump was loaded (ReadEarly).
		d.early = nil
		if d.entries == nil {
			d.entries = map[Kind][]Entry{}
		}
		d.entries[k] = e.entries
		delete(d.pending, k)
		return e.entries, e.results, true
	}
	lists := d.pending[k]
	for _, p := range lists {
		if p.lone || p.shape.resource == "" {
			return nil, nil, false
		}
	}
	// Entries indexed before (a resource given alone, another proxy's
	// merged in) first, as Entries has them.
	for _, e := range d.entries[k] {
		r := e.Resource.Reader()
		entries, results = append(entries, e), append(results, read(&r))
	}
	for _, p := range lists {
		es, rs, _, _ := readList(p.value, p.shape, workers, false, d.evict, read)
		if len(entries) == 0 {
			entries, results = es, rs // the usual one list: not copied again
		} else {
			entries, results = append(entries, es...), append(results, rs...)
		}
	}
	if d.entries == nil {
		d.entries = map[Kind][]Entry{}
	}
	d.entries[k] = entries
	delete(d.pending, k)
	return entries, results, true
}

// readList reads the entries of one list of the given shape in parts on
// up to workers goroutines (see ReadEntries), and lets go of each part's
// pages when it is read. strict reads a list Parse has not checked (a
// jsonscan.Hole, list's end then unknown): every byte is checked as it is
// read, and ok says the list was read whole without error, end just past
// its ']'. Not strict, errors (a file changed under its mapping) end a
// part's reading, as Entries would stop, and end is the list's End.
func readList[T any](list jsonscan.Value, shape entryShape, workers int, strict bool, evict func(from, to int),
	read func(r *jsonscan.Reader) T) (entries []Entry, results []T, end int, ok bool) {
	type part struct {
		from, until int // until: where the next part starts, or -1
		entries     []Entry
		results     []T
		reached     bool
		end         int // just past the list's ']', when the part got there
		err         error
	}
	first := list.FirstItem()
	if first < 0 {
		return nil, nil, list.End(), !strict
	}
	starts := append([]int{first}, list.ItemStarts(partBytes)...)
	parts := make([]part, len(starts))
	for i, s := range starts {
		parts[i] = part{from: s, until: -1}
		if i+1 < len(starts) {
			parts[i].until = starts[i+1]
		}
	}
	// The end of the list, once a part has met it: parts offered past it
	// (a strict reading's offers run on past the list) are not read.
	var listEnd atomic.Int64
	fault.Each(workers, len(parts), func(i int) {
		pt := &parts[i]
		if e := listEnd.Load(); e > 0 && pt.from >= int(e) {
			return
		}
		rd := func(r *jsonscan.Reader) {
			var name, version, lastUpdated string
			var resource, errorState jsonscan.Value
			var t T
			var seen jsonscan.Seen
			raw := r.Object(func(key []byte) {
				switch {
				case jsonscan.KeyIs(key, "name") && seen.First(1):
					name = r.Str()
				case jsonscan.KeyIs(key, "version_info") && seen.First(2):
					version = r.Str()
				case jsonscan.KeyIs(key, "last_updated") && seen.First(4):
					lastUpdated = r.Str()
				case jsonscan.KeyIs(key, shape.resource) && seen.First(8):
					resource = r.Read(func() { t = read(r) })
				case jsonscan.KeyIs(key, "error_state") && seen.First(16):
					errorState = r.Value()
				}
			})
			if !raw.Present() {
				return // the reading failed (an error, said by the reading)
			}
			if len(pt.entries) == sampleEntries && raw.End() > pt.from && (pt.until >= 0 || !strict) {
				// Room for the rest of the part at the average size so far
				// (see sampleEntries); not for the last part of a strict
				// reading, whose list's end is not known.
				end := list.End()
				if pt.until >= 0 {
					end = pt.until
				}
				// A part read past its end (a wrong split) has no rest to size.
				rest := max(end-raw.End(), 0) / max((raw.End()-pt.from)/sampleEntries, 1)
				pt.entries = slices.Grow(pt.entries, rest+rest/16+1)
				pt.results = slices.Grow(pt.results, rest+rest/16+1)
			}
			es, n := entriesOf(shape, raw, name, version, lastUpdated, resource, errorState)
			for _, e := range es[:n] {
				if e.Resource != resource {
					// The rejected update's configuration, read on its own.
					r := e.Resource.Reader()
					t = read(&r)
				}
				pt.entries, pt.results = append(pt.entries, e), append(pt.results, t)
			}
		}
		if strict {
			pt.reached, pt.end, pt.err = list.ReadItemsStrict(pt.from, pt.until, rd)
			if !pt.reached && pt.err == nil {
				listEnd.CompareAndSwap(0, int64(pt.end))
			}
		} else {
			pt.reached, _ = list.ReadItems(pt.from, pt.until, rd)
			pt.end = list.End()
		}
		if evict != nil {
			to := pt.end
			if pt.reached {
				to = pt.until
			}
			if to > pt.from {
				evict(pt.from, to)
			}
		}
	})
	// A part is used when the part before it was, and ended exactly where
	// it starts; the last used one ends the list. The used parts are
	// copied into place on all cores.
	used := make([]bool, len(parts))
	at := make([]int, len(parts)) // where a used part's entries go
	total := 0
	for i := range parts {
		pt := &parts[i]
		used[i] = i == 0 || used[i-1] && parts[i-1].reached
		if !used[i] {
			break
		}
		if strict && pt.err != nil {
			return nil, nil, 0, false
		}
		at[i] = total
		total += len(pt.entries)
		end = pt.end
	}
	entries, results = make([]Entry, total), make([]T, total)
	fault.Each(workers, len(parts), func(i int) {
		if used[i] {
			copy(entries[at[i]:], parts[i].entries)
			copy(results[at[i]:], parts[i].results)
		}
	})
	return entries, results, end, true
}
