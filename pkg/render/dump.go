package render

import (
	"bufio"
	"bytes"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/fault"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
)

// Dump writes entries as an Envoy admin config dump ({"configs": [...]},
// one section per kind, entries in their original lists), so that what
// -o json prints can be read back with -f by this tool, istioctl or egctl.
// Entries of /clusters?format=json are written as {"cluster_statuses": [...]}.
// The entries' bytes are streamed out; nothing is copied or decoded.
func Dump(w io.Writer, entries []envoyadmin.Entry, yaml bool) error {
	return DumpReleasing(w, entries, yaml, nil)
}

// releaseEvery is how many entries are written between releases.
const releaseEvery = 256

// DumpReleasing is Dump calling release(first, last) on each run of entries
// written (in the order written), so the memory holding their bytes can be
// let go of as the output goes (envoyadmin's Dump.Done): writing a large
// dump out then keeps little of it resident.
func DumpReleasing(w io.Writer, entries []envoyadmin.Entry, yaml bool, release func(first, last envoyadmin.Entry)) error {
	e := NewEmitter(w, yaml)
	var run []envoyadmin.Entry // the entries written since the last release
	flush := func() {
		if release != nil && len(run) > 0 {
			release(run[0], run[len(run)-1])
			run = run[:0]
		}
	}
	written := func(en envoyadmin.Entry) {
		if release != nil {
			if run = append(run, en); len(run) >= releaseEvery {
				flush()
			}
		}
	}
	if len(entries) > 0 && entries[0].Kind == envoyadmin.KindClusterStatus {
		e.open()
		e.list("cluster_statuses", 0)
		for _, en := range entries {
			e.item(en.Raw, "", 1)
		}
		e.closeList(0)
		e.close()
		return e.Flush()
	}
	order := []envoyadmin.Kind{envoyadmin.KindBootstrap, envoyadmin.KindCluster, envoyadmin.KindECDS, envoyadmin.KindListener,
		envoyadmin.KindScopedRoute, envoyadmin.KindRouteConfig, envoyadmin.KindSecret, envoyadmin.KindEndpoints}
	var seen map[*byte]bool // the entries gathered, by their bytes
	e.open()
	e.list("configs", 0)
	for _, k := range order {
		// Lists in order of first appearance; an entry shown in two states
		// once. Most often the kind's entries are one run of one list,
		// each once: written from entries itself.
		var lists []string
		var byList map[string][]envoyadmin.Entry
		if run, ok := oneRun(entries, k); ok && !gatherAlways {
			if len(run) > 0 {
				lists, byList = []string{run[0].List}, map[string][]envoyadmin.Entry{run[0].List: run}
			}
		} else {
			if seen == nil {
				seen = make(map[*byte]bool, len(entries))
			}
			lists, byList = gather(entries, k, seen)
		}
		if len(lists) == 0 {
			continue
		}
		e.sectionStart("type.googleapis.com/envoy.admin.v3." + k.Section())
		if k == envoyadmin.KindBootstrap {
			e.member("bootstrap", byList[lists[0]][0].Raw, 2)
		} else {
			for _, l := range lists {
				e.list(l, 2)
				e.items(byList[l], k.ResourceKey(), 3, written)
				flush() // a run never spans two lists
				e.closeList(2)
			}
		}
		e.sectionEnd()
	}
	e.closeList(0)
	e.close()
	return e.Flush()
}

// gatherAlways turns oneRun's shortcut off (for tests).
var gatherAlways = false

// oneRun is the entries of kind k, when they are one run of entries of
// one list in the order of their bytes, each after the one before (so each
// with bytes of its own; ok, and none is a run too).
func oneRun(entries []envoyadmin.Entry, k envoyadmin.Kind) (run []envoyadmin.Entry, ok bool) {
	lo, hi, last := -1, -1, -1
	for i, en := range entries {
		if en.Kind != k {
			continue
		}
		if len(en.Raw.Raw()) == 0 || lo >= 0 && (hi != i || en.List != entries[lo].List || en.Raw.Offset() <= last) {
			return nil, false
		}
		if lo < 0 {
			lo = i
		}
		hi, last = i+1, en.Raw.Offset()
	}
	if lo < 0 {
		return nil, true
	}
	return entries[lo:hi], true
}

// gather is the entries of kind k by list, the lists in order of first
// appearance, each entry once (seen: the bytes of those gathered). Each
// list's entries are counted first, then gathered.
func gather(entries []envoyadmin.Entry, k envoyadmin.Kind, seen map[*byte]bool) (lists []string, byList map[string][]envoyadmin.Entry) {
	byList = map[string][]envoyadmin.Entry{}
	counts := map[string]int{}
	for _, en := range entries {
		if raw := en.Raw.Raw(); en.Kind == k && len(raw) > 0 {
			counts[en.List]++
		}
	}
	for _, en := range entries {
		raw := en.Raw.Raw()
		if en.Kind != k || len(raw) == 0 || seen[&raw[0]] {
			continue
		}
		seen[&raw[0]] = true
		if _, ok := byList[en.List]; !ok {
			lists = append(lists, en.List)
			byList[en.List] = make([]envoyadmin.Entry, 0, counts[en.List])
		}
		byList[en.List] = append(byList[en.List], en)
	}
	return lists, byList
}

// emitChunk bounds the entries one core writes at a time: a stretch of
// entries, or fewer when they span emitChunkBytes of the dump (variables
// for tests, which cut small dumps into many stretches).
var (
	emitChunk      = 256
	emitChunkBytes = 256 << 10
)

// items writes the entries of one list (each wrapped in key when it is a
// bare resource) at depth, telling written of each once it is out. A long
// list is written on all cores: stretches of it each into a buffer of its
// own, the buffers then written in order, so the output is the same as
// writing the entries one after the other. The cores go on to the next
// stretches while the finished ones are written out (a round at a time,
// the cores waited for each other and for the writing: a fifth of the
// time to write a large list).
func (e *Emitter) items(list []envoyadmin.Entry, key string, depth int, written func(envoyadmin.Entry)) {
	wrap := func(en envoyadmin.Entry) string {
		if en.Bare {
			return key
		}
		return ""
	}
	var bounds []int // where each stretch starts, and the end
	for i, size := 0, 0; i < len(list); i++ {
		if i == 0 || i-bounds[len(bounds)-1] == emitChunk || size >= emitChunkBytes {
			bounds, size = append(bounds, i), 0
		}
		size += list[i].Raw.End() - list[i].Raw.Offset()
	}
	bounds = append(bounds, len(list))
	stretches := len(bounds) - 1
	workers := min(runtime.GOMAXPROCS(0), stretches)
	if workers < 2 {
		for _, en := range list {
			e.item(en.Raw, wrap(en), depth)
			written(en)
		}
		return
	}
	for len(e.first) <= depth {
		e.first = append(e.first, true)
	}
	// Buffers go round: a core takes a free one, then the next stretch
	// (in that order, so the stretch written next always has a buffer),
	// and hands it over written; this goroutine writes them out in order
	// and frees them. Two a core: one being written out, one being filled.
	free := make(chan *bytes.Buffer, 2*workers)
	for range cap(free) {
		free <- new(bytes.Buffer)
	}
	done := make([]chan *bytes.Buffer, stretches)
	for k := range done {
		done[k] = make(chan *bytes.Buffer, 1)
	}
	quit := make(chan struct{}) // closed when this goroutine stops taking stretches
	failed := make(chan struct{}, workers)
	faults := make([]any, workers)
	first, listEmpty := e.first, e.listEmpty
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			s := &Emitter{w: bufio.NewWriterSize(nil, 64<<10), yaml: e.yaml, slowOnly: e.slowOnly}
			faults[w] = fault.Go(func() {
				for {
					var b *bytes.Buffer
					select {
					case b = <-free:
					case <-quit:
						return
					}
					k := int(next.Add(1)) - 1
					if k >= stretches {
						return
					}
					b.Reset()
					s.w.Reset(b)
					// The state before the stretch's first entry: the
					// list's for the first stretch, one entry written
					// for the others.
					s.first, s.listEmpty = append(s.first[:0], first...), listEmpty
					if k > 0 {
						s.first[depth], s.listEmpty = false, false
					}
					for _, en := range list[bounds[k]:bounds[k+1]] {
						s.item(en.Raw, wrap(en), depth)
					}
					_ = s.w.Flush()
					done[k] <- b
				}
			})
			if faults[w] != nil {
				failed <- struct{}{}
			}
		})
	}
	for k := 0; k < stretches && e.err == nil; k++ {
		var b *bytes.Buffer
		select {
		case b = <-done[k]:
		case <-failed:
		}
		if b == nil {
			break // a core met a fault (raised below)
		}
		e.wb(b.Bytes())
		free <- b
		for _, en := range list[bounds[k]:bounds[k+1]] {
			written(en)
		}
	}
	close(quit)
	wg.Wait()
	for _, f := range faults {
		fault.Reraise(f)
	}
	e.first[depth], e.listEmpty = false, false
}

// The wrapper is written by hand around the streamed entries. In JSON each
// level is an object or list whose members are separated by commas; the
// emitter remembers whether a comma is due at each depth.

func (e *Emitter) open() {
	if !e.yaml {
		e.ws("{")
	}
	e.first = append(e.first[:0], true)
}

func (e *Emitter) close() {
	if !e.yaml {
		e.ws("\n}")
	}
	e.ws("\n")
}

func (e *Emitter) sep(depth int) {
	for len(e.first) <= depth {
		e.first = append(e.first, true)
	}
	if !e.first[depth] {
		e.ws(",")
	}
	e.first[depth] = false
}

// list starts a member holding a list; depth is the member's object depth.
func (e *Emitter) list(name string, depth int) {
	if e.yaml {
		e.indent(depth)
		e.ws(name + ":") // the line ends when the first item comes
		e.listEmpty = true
		return
	}
	e.sep(depth)
	e.ws("\n")
	e.indent(2 * (depth + 1))
	e.ws(`"` + name + `": [`)
	e.first = append(e.first[:depth+1], true)
}

func (e *Emitter) closeList(depth int) {
	if e.yaml {
		if e.listEmpty {
			e.ws(" []\n")
			e.listEmpty = false
		}
		return
	}
	if len(e.first) > depth+1 && e.first[depth+1] {
		e.ws("]")
		return
	}
	e.ws("\n")
	e.indent(2 * (depth + 1))
	e.ws("]")
}

// item writes one list element at depth, optionally wrapped as {wrap: v}.
func (e *Emitter) item(v jsonscan.Value, wrap string, depth int) {
	if e.yaml {
		e.yamlListStarted()
		ind := yamlIndent(depth)
		e.indent(ind)
		e.ws("- ")
		if wrap != "" {
			e.ws(wrap + ":")
			e.yamlAfterKey(v, ind+2)
			return
		}
		if (v.Kind() == jsonscan.Object || v.Kind() == jsonscan.Array) && !v.Empty() {
			e.yamlBlock(v, ind+2)
		} else {
			e.yamlScalarOrEmpty(v)
			e.ws("\n")
		}
		return
	}
	e.sep(depth)
	e.ws("\n")
	e.indent(2 * (depth + 1))
	if wrap != "" {
		e.ws("{\n")
		e.indent(2 * (depth + 2))
		e.ws(`"` + wrap + `": `)
		e.json(v, depth+2)
		e.ws("\n")
		e.indent(2 * (depth + 1))
		e.ws("}")
		return
	}
	e.json(v, depth+1)
}

// sectionStart opens a config section: a list element of "configs".
func (e *Emitter) sectionStart(typeURL string) {
	if e.yaml {
		e.yamlListStarted()
		e.ws(`- "@type": ` + typeURL + "\n")
		return
	}
	e.sep(1)
	e.ws("\n    {\n      \"@type\": \"" + typeURL + `"`)
	e.first = append(e.first[:2], false)
}

func (e *Emitter) sectionEnd() {
	if !e.yaml {
		e.ws("\n    }")
	}
}

// member writes "name": v inside a section.
func (e *Emitter) member(name string, v jsonscan.Value, depth int) {
	if e.yaml {
		e.indent(2)
		e.ws(name + ":")
		e.yamlAfterKey(v, 2)
		return
	}
	e.sep(depth)
	e.ws("\n")
	e.indent(2 * (depth + 1))
	e.ws(`"` + name + `": `)
	e.json(v, depth+1)
}

func (e *Emitter) yamlListStarted() {
	if e.listEmpty {
		e.ws("\n")
		e.listEmpty = false
	}
}

// yamlIndent maps the wrapper's JSON depth to YAML columns: configs at 0,
// a section's members at 2, their list items at 2.
func yamlIndent(depth int) int {
	if depth <= 1 {
		return 0
	}
	return 2
}
