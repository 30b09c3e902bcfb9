package envoyadmin

import (
	"bytes"
	"sync/atomic"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/fault"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
)

// Early is a reading of a dump's endpoint assignments done while the dump
// is loaded (Input.Early), made by ReadEarly.
//
// The assignments are most of a dump taken with EDS (60% of a large
// mesh's), and a command listing endpoints reads every byte of them. Read
// after the load, they are passed twice: by the load's grammar check and
// by the reading. Read strictly in place of the check (each byte checked
// as the check would, when the check gets to them), the check passes over
// them (a jsonscan.Hole). The
// list is found by its section's name in the bytes; whatever does not go
// as expected (no such list, a reading that fails, a list that is not the
// one the dump's structure has there) leaves the dump to be loaded and
// read as without it, with the same answers and errors.
type Early interface {
	// hole is the reading of the list in data, if data has one.
	hole(data []byte, evict func(from, to int), peek func(dst []byte, from, to int) []byte) *jsonscan.Hole
	// attach gives the reading to the dump whose list it read, if any.
	attach(d *Dump)
}

// ReadEarly asks the load to read the dump's EDS assignments (the
// EndpointsConfigDump's dynamic_endpoint_configs) with read, on up to
// workers cores; ReadEntries(d, KindEndpoints, ..., read) then returns
// what it read. read is given a strict Reader: it must read or leave each
// value, as for ReadEntries.
func ReadEarly[T any](workers int, read func(r *jsonscan.Reader) T) Early {
	return &earlyRead[T]{kind: KindEndpoints, workers: workers, read: read}
}

type earlyRead[T any] struct {
	kind    Kind
	workers int
	read    func(r *jsonscan.Reader) T
	// What the reading found: the list (from at to end), its entries and
	// what read returned for each; list is the dump's, once attached.
	at, end int
	entries []Entry
	results []T
	list    jsonscan.Value
}

// earlyShape is the shape of the list an early reading reads.
var earlyShape = func() entryShape {
	s := lists["EndpointsConfigDump"]["dynamic_endpoint_configs"]
	s.list = "dynamic_endpoint_configs"
	return s
}()

func (e *earlyRead[T]) hole(data []byte, evict func(from, to int), peek func(dst []byte, from, to int) []byte) *jsonscan.Hole {
	at := edsList(data, e.workers, evict, peek)
	if at < 0 {
		return nil
	}
	return &jsonscan.Hole{At: at, Read: func(list jsonscan.Value) (int, bool) {
		entries, results, end, ok := readList(list, earlyShape, e.workers, true, evict, e.read)
		if !ok {
			return 0, false
		}
		e.at, e.end, e.entries, e.results = list.Offset(), end, entries, results
		return end, true
	}}
}

func (e *earlyRead[T]) attach(d *Dump) {
	ps := d.pending[e.kind]
	if e.end == 0 || len(ps) != 1 || ps[0].lone || ps[0].shape != earlyShape || len(d.entries[e.kind]) != 0 {
		return
	}
	// The list the dump's structure has is the one read: a JSON array
	// starting where the reading's started ends where it ended.
	if v := ps[0].value; v.Offset() == e.at && v.End() == e.end {
		e.list, d.early = v, e
	}
}

// edsProbes is how many places of a large dump are looked at to narrow
// the search for the EDS section, probeBytes how much at each.
const (
	edsProbes  = 64
	probeBytes = 16 << 10
)

// edsContent are keys only an EDS list's stretches hold: an assignment's
// entry, a host.
var edsContent = [][]byte{[]byte(`"endpoint_config"`), []byte(`"endpoint"`)}

// edsStretch narrows where the EDS section starts in a large dump, from
// a look at a few places: Envoy writes the section last, and any stretch
// of its list holds an assignment's entry or a host. The section starts
// after the last place (from the end) that holds neither, and its name is
// before the end of what the next place looked at. ok is false when data
// is small, or its end holds no EDS. The places are looked at through
// look (see jsonscan.Pages' Peek).
func edsStretch(data []byte, look func(from, to int) []byte) (lo, hi int, ok bool) {
	if len(data) < 8<<20 {
		return 0, 0, false
	}
	step := len(data) / edsProbes
	first := edsProbes // the first of the places that hold EDS up to the end
	for k := edsProbes - 1; k > 0; k-- {
		w := look(k*step, min(k*step+probeBytes, len(data)))
		if !bytes.Contains(w, edsContent[0]) && !bytes.Contains(w, edsContent[1]) {
			break
		}
		first = k
	}
	if first == edsProbes || first == 1 {
		return 0, 0, false
	}
	return (first - 1) * step, min(first*step+probeBytes, len(data)), true
}

// edsSection and edsKey find the list an early reading reads: the
// section's type names it once in a dump, and the key follows it.
var (
	edsSection = []byte("EndpointsConfigDump")
	edsKey     = []byte(`"dynamic_endpoint_configs"`)
)

// edsList is the offset of the '[' of the EndpointsConfigDump's
// dynamic_endpoint_configs in data, by the bytes alone, or -1: the
// section's name, then the key after it. In a large dump the name is
// looked for where edsStretch says it is. Otherwise, or when it is not
// there, it is searched for on all cores (a search for the key itself,
// whose first byte is a quote, is slow), from the end, where Envoy writes
// the section; the stretches searched in vain are let go of (evict) as
// the check does, so the search keeps no more of a mapped file resident
// than the check would. The places edsStretch looks at, and the stretch
// it narrows the search to, are read through peek when it is set (and
// can), not through data.
func edsList(data []byte, workers int, evict func(from, to int), peek func(dst []byte, from, to int) []byte) int {
	var buf []byte // the looks', one after the other
	look := func(from, to int) []byte { return jsonscan.Look(peek, &buf, data, from, to) }
	if lo, hi, ok := edsStretch(data, look); ok {
		if at := lastIndex(look(lo, hi), edsSection); at >= 0 {
			if list := edsKeyList(data, lo+at); list >= 0 {
				return list
			}
		}
	}
	const chunk = 4 << 20
	n := (len(data) + chunk - 1) / chunk
	var found atomic.Int64 // the name's offset, once found
	found.Store(-1)
	fault.Each(workers, n, func(i int) {
		c := n - 1 - i // from the end
		from, to := c*chunk, min((c+1)*chunk+len(edsSection)-1, len(data))
		if int(found.Load()) >= from {
			return // found past this stretch
		}
		at := lastIndex(data[from:to], edsSection)
		if at < 0 {
			if evict != nil {
				evict(from, min((c+1)*chunk, len(data)))
			}
			return
		}
		at += from
		for old := found.Load(); int64(at) > old && !found.CompareAndSwap(old, int64(at)); old = found.Load() {
		}
	})
	return edsKeyList(data, int(found.Load()))
}

// lastIndex is the offset of the last sep in b, or -1 (bytes.LastIndex
// compares at every byte; Index skips to the first byte's matches).
func lastIndex(b, sep []byte) int {
	at := -1
	for k := 0; ; {
		j := bytes.Index(b[k:], sep)
		if j < 0 {
			return at
		}
		at, k = k+j, k+j+1
	}
}

// edsKeyList is the offset of the '[' of the dynamic_endpoint_configs
// after the section's name at at (-1: none), or -1.
func edsKeyList(data []byte, at int) int {
	if at < 0 {
		return -1
	}
	// The section's lists follow its @type (Envoy writes it first).
	k := bytes.Index(data[at:min(at+512, len(data))], edsKey)
	if k < 0 {
		return -1
	}
	i := jsonscan.SkipSpace(data, at+k+len(edsKey))
	if i >= len(data) || data[i] != ':' {
		return -1
	}
	i = jsonscan.SkipSpace(data, i+1)
	if i >= len(data) || data[i] != '[' {
		return -1
	}
	return i
}
