package envoyadmin

import (
	"slices"

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
// resource): the caller walks them as before.
func ReadEntries[T any](d *Dump, k Kind, workers int, read func(r *jsonscan.Reader) T) (entries []Entry, results []T, ok bool) {
	if k == KindListener {
		return nil, nil, false
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
	type part struct {
		list        int
		from, until int // until: where the next part starts, or -1
		entries     []Entry
		results     []T
		reached     bool
	}
	var parts []*part
	for n, p := range lists {
		first := p.value.FirstItem()
		if first < 0 {
			continue
		}
		starts := append([]int{first}, p.value.ItemStarts(partBytes)...)
		for i, s := range starts {
			until := -1
			if i+1 < len(starts) {
				until = starts[i+1]
			}
			parts = append(parts, &part{list: n, from: s, until: until})
		}
	}
	fault.Each(workers, len(parts), func(i int) {
		pt := parts[i]
		shape := lists[pt.list].shape
		pt.reached, _ = lists[pt.list].value.ReadItems(pt.from, pt.until, func(r *jsonscan.Reader) {
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
			if len(pt.entries) == sampleEntries && raw.End() > pt.from {
				// Room for the rest of the part at the average size so far
				// (see sampleEntries).
				end := lists[pt.list].value.End()
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
		})
		if d.evict != nil {
			end := lists[pt.list].value.End()
			if pt.reached {
				end = pt.until
			}
			d.evict(pt.from, end)
		}
	})
	// A part is used when the part before it in its list was, and ended
	// exactly where it starts. The used parts are copied into place on
	// all cores.
	used := make([]bool, len(parts))
	at := make([]int, len(parts)) // where a used part's entries go
	total := len(entries)
	for i, pt := range parts {
		used[i] = i == 0 || parts[i-1].list != pt.list || used[i-1] && parts[i-1].reached
		if used[i] {
			at[i] = total
			total += len(pt.entries)
		}
	}
	entries, results = slices.Grow(entries, total-len(entries))[:total], slices.Grow(results, total-len(results))[:total]
	fault.Each(workers, len(parts), func(i int) {
		if used[i] {
			copy(entries[at[i]:], parts[i].entries)
			copy(results[at[i]:], parts[i].results)
		}
	})
	if d.entries == nil {
		d.entries = map[Kind][]Entry{}
	}
	d.entries[k] = entries
	delete(d.pending, k)
	return entries, results, true
}
