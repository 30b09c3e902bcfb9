package render

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/internal/dumpgen"
	"github.com/kubectl-mesh/kubectl-mesh/internal/testcorpus"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
)

// TestDumpReleasingWritesTheSameAndReleasesAll: the output is Dump's, and
// every entry written is released once, in runs that follow the order
// written and never span two lists.
func TestDumpReleasingWritesTheSameAndReleasesAll(t *testing.T) {
	dump := exampleDump(t)
	var entries []envoyadmin.Entry
	for _, k := range []envoyadmin.Kind{envoyadmin.KindCluster, envoyadmin.KindListener, envoyadmin.KindRouteConfig, envoyadmin.KindSecret} {
		entries = append(entries, dump.Entries(k)...)
	}
	for _, yaml := range []bool{false, true} {
		var want, got bytes.Buffer
		if err := Dump(&want, entries, yaml); err != nil {
			t.Fatal(err)
		}
		released := map[int]int{}
		lastEnd := -1
		err := DumpReleasing(&got, entries, yaml, func(first, last envoyadmin.Entry) {
			if first.List != last.List {
				t.Errorf("a run spans lists %s and %s", first.List, last.List)
			}
			if first.Raw.Offset() > last.Raw.Offset() || first.Raw.Offset() < lastEnd && first.Kind == last.Kind && first.List == last.List {
				t.Errorf("runs out of order: %d after %d", first.Raw.Offset(), lastEnd)
			}
			lastEnd = last.Raw.End()
			for _, en := range entries {
				if en.Raw.Offset() >= first.Raw.Offset() && en.Raw.End() <= last.Raw.End() && en.List == first.List {
					released[en.Raw.Offset()]++
				}
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("yaml %v: the output differs from Dump's", yaml)
		}
		for _, en := range entries {
			if released[en.Raw.Offset()] != 1 {
				t.Errorf("entry %s (%s) released %d times", en.Name, en.List, released[en.Raw.Offset()])
			}
		}
	}
}

// exampleDump is the sidecar dump in examples/.
func exampleDump(t *testing.T) *envoyadmin.Dump {
	t.Helper()
	data, err := os.ReadFile("../../examples/istio-sidecar.json")
	if err != nil {
		t.Fatal(err)
	}
	dumps, err := envoyadmin.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	return dumps[0]
}

// TestDumpOnAllCoresIsOneCores: a dump written on two to four cores, its
// lists cut into stretches of a few entries (or a few hundred bytes), is
// byte for byte the dump written on one, JSON and YAML, for the fixtures'
// dumps and both generators'; every entry is released once, in the order
// written.
func TestDumpOnAllCoresIsOneCores(t *testing.T) {
	defer func(n, b, procs int) { emitChunk, emitChunkBytes = n, b; runtime.GOMAXPROCS(procs) }(emitChunk, emitChunkBytes, runtime.GOMAXPROCS(0))
	docs := testcorpus.Dumps(t, 40, 8<<20, ".json")
	kinds := []envoyadmin.Kind{envoyadmin.KindBootstrap, envoyadmin.KindCluster, envoyadmin.KindListener, envoyadmin.KindRouteConfig,
		envoyadmin.KindSecret, envoyadmin.KindEndpoints, envoyadmin.KindECDS, envoyadmin.KindScopedRoute}
	compared, split := 0, 0
	for name, data := range docs {
		dumps, err := envoyadmin.Load(data)
		if err != nil {
			continue
		}
		var entries []envoyadmin.Entry
		for _, k := range kinds {
			entries = append(entries, dumps[0].Entries(k)...)
		}
		if len(entries) == 0 {
			entries = dumps[0].Entries(envoyadmin.KindClusterStatus)
		}
		if len(entries) == 0 {
			continue
		}
		for _, yaml := range []bool{false, true} {
			emitChunk, emitChunkBytes = 256, 256<<10
			runtime.GOMAXPROCS(1)
			var want bytes.Buffer
			if err := Dump(&want, entries, yaml); err != nil {
				t.Fatal(err)
			}
			for _, cut := range [][2]int{{1, 1 << 30}, {3, 1 << 30}, {256, 300}} {
				emitChunk, emitChunkBytes = cut[0], cut[1]
				for procs := 2; procs <= 4; procs++ {
					runtime.GOMAXPROCS(procs)
					var got bytes.Buffer
					released := 0
					lastEnd, lastList := -1, ""
					err := DumpReleasing(&got, entries, yaml, func(first, last envoyadmin.Entry) {
						if first.List == lastList && first.Raw.Offset() < lastEnd {
							t.Errorf("%s: runs of %s out of order: %d after %d", name, first.List, first.Raw.Offset(), lastEnd)
						}
						lastEnd, lastList = last.Raw.End(), first.List
						for _, en := range entries {
							if en.Raw.Offset() >= first.Raw.Offset() && en.Raw.End() <= last.Raw.End() && en.List == first.List {
								released++
							}
						}
					})
					if err != nil {
						t.Fatal(err)
					}
					if got.String() != want.String() {
						a, b := strings.Split(want.String(), "\n"), strings.Split(got.String(), "\n")
						for i := range min(len(a), len(b)) {
							if a[i] != b[i] {
								t.Fatalf("%s (yaml %v, stretches %v, %d cores): line %d is\n%q\none core writes\n%q", name, yaml, cut, procs, i, b[i], a[i])
							}
						}
						t.Fatalf("%s (yaml %v, stretches %v, %d cores): %d lines, one core writes %d", name, yaml, cut, procs, len(b), len(a))
					}
					if entries[0].Kind != envoyadmin.KindClusterStatus && released != len(entries)-countUnreleased(entries) {
						t.Fatalf("%s: %d of %d entries released", name, released, len(entries))
					}
					compared++
				}
			}
		}
		if len(entries) > 3 {
			split++
		}
	}
	if compared < 100 || split < 20 {
		t.Fatalf("%d outputs compared, %d dumps cut into stretches: the test proves little", compared, split)
	}
}

// countUnreleased is how many entries are not released: those sharing
// their bytes with the one before (a resource and its rejected update,
// written and released once), and the bootstrap (not in a list).
func countUnreleased(entries []envoyadmin.Entry) int {
	n := 0
	for i, en := range entries {
		if en.Kind == envoyadmin.KindBootstrap || i > 0 && en.Raw == entries[i-1].Raw {
			n++
		}
	}
	return n
}

// TestShrunkFileWhileWrittenOnAllCores: a mapped dump truncated after it
// was loaded faults in the cores writing its stretches, past the stretches
// already written out; Dump ends with the file-changed error (Guard's),
// nothing left waiting or running.
func TestShrunkFileWhileWrittenOnAllCores(t *testing.T) {
	defer func(n, b, procs int) { emitChunk, emitChunkBytes = n, b; runtime.GOMAXPROCS(procs) }(emitChunk, emitChunkBytes, runtime.GOMAXPROCS(0))
	var v bytes.Buffer
	if err := dumpgen.WriteVaried(&v, dumpgen.Options{Services: 400}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "shrinking.json")
	if err := os.WriteFile(path, v.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := envoyadmin.ReadFile(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if in.Peek == nil {
		t.Skip("the dump is not mapped on this platform")
	}
	dumps, err := envoyadmin.LoadInput(in)
	if err != nil {
		t.Fatal(err)
	}
	var entries []envoyadmin.Entry
	for _, k := range []envoyadmin.Kind{envoyadmin.KindCluster, envoyadmin.KindListener, envoyadmin.KindRouteConfig, envoyadmin.KindEndpoints} {
		entries = append(entries, dumps[0].Entries(k)...)
	}
	if len(entries) < 100 {
		t.Fatalf("%d entries: the test proves little", len(entries))
	}
	in.Evict(0, len(in.Data))
	if err := os.Truncate(path, int64(len(in.Data)/2)); err != nil {
		t.Fatal(err)
	}
	emitChunk = 2
	goroutines := runtime.NumGoroutine()
	for _, procs := range []int{2, 4} {
		runtime.GOMAXPROCS(procs)
		for _, yaml := range []bool{false, true} {
			var out countingWriter
			result := make(chan error, 1)
			go func() { result <- envoyadmin.Guard(func() error { return Dump(&out, entries, yaml) }) }()
			select {
			case err = <-result:
			case <-time.After(time.Minute):
				t.Fatalf("%d cores, yaml %v: Dump of a shrunk file still running after a minute", procs, yaml)
			}
			if !errors.Is(err, envoyadmin.ErrFileChanged) {
				t.Fatalf("%d cores, yaml %v: %v, want the file-changed error", procs, yaml, err)
			}
			if out.n == 0 {
				t.Errorf("%d cores, yaml %v: nothing written before the fault: the fault was not met in the stretches", procs, yaml)
			}
		}
	}
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > goroutines; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left running, %d before", runtime.NumGoroutine(), goroutines)
		}
	}
}

// countingWriter counts what is written to it.
type countingWriter struct{ n int }

func (w *countingWriter) Write(b []byte) (int, error) {
	w.n += len(b)
	return len(b), nil
}

// TestDumpOnAllCoresStopsAtAWriteError: output that cannot be written (a
// closed pipe) ends Dump with the writer's error, no core left running.
func TestDumpOnAllCoresStopsAtAWriteError(t *testing.T) {
	defer func(n, procs int) { emitChunk = n; runtime.GOMAXPROCS(procs) }(emitChunk, runtime.GOMAXPROCS(2))
	emitChunk = 2
	entries := variedDump(t, 100).Entries(envoyadmin.KindEndpoints)
	goroutines := runtime.NumGoroutine()
	for _, yaml := range []bool{false, true} {
		w := &failingWriter{after: 100 << 10}
		if err := Dump(w, entries, yaml); !errors.Is(err, errClosed) {
			t.Fatalf("yaml %v: %v, want the writer's error", yaml, err)
		}
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		t.Fatalf("%d goroutines left running, %d before", n, goroutines)
	}
}

var errClosed = errors.New("closed pipe")

// failingWriter takes after bytes, then fails every write.
type failingWriter struct{ after int }

func (w *failingWriter) Write(b []byte) (int, error) {
	n := min(len(b), w.after)
	w.after -= n
	if n < len(b) {
		return n, errClosed
	}
	return n, nil
}

// TestOneRunIsTheGathering: a dump's entries written straight from the
// list when a kind's are one run of one list is what gathering them by
// list writes, for the varied generator's entries in dump order (where the
// shortcut is taken), with duplicates next to each other and apart,
// reversed, and shuffled.
func TestOneRunIsTheGathering(t *testing.T) {
	defer func() { gatherAlways = false }()
	dump := variedDump(t, 30)
	var entries []envoyadmin.Entry
	for _, k := range []envoyadmin.Kind{envoyadmin.KindBootstrap, envoyadmin.KindCluster, envoyadmin.KindListener, envoyadmin.KindRouteConfig, envoyadmin.KindSecret, envoyadmin.KindEndpoints} {
		entries = append(entries, dump.Entries(k)...)
	}
	if run, ok := oneRun(entries, envoyadmin.KindEndpoints); !ok || len(run) < 10 {
		t.Fatal("the endpoints in dump order are not one run: the test proves little")
	}
	r := rand.New(rand.NewPCG(3, 4))
	variants := [][]envoyadmin.Entry{entries, slices.Insert(slices.Clone(entries), 3, entries[3]), append(slices.Clone(entries), entries[5]), slices.Clone(entries)}
	slices.Reverse(variants[3])
	for range 20 {
		v := slices.Clone(entries)
		r.Shuffle(len(v), func(i, j int) { v[i], v[j] = v[j], v[i] })
		variants = append(variants, v)
	}
	for i, v := range variants {
		for _, yaml := range []bool{false, true} {
			var got, want bytes.Buffer
			gatherAlways = false
			if err := Dump(&got, v, yaml); err != nil {
				t.Fatal(err)
			}
			gatherAlways = true
			if err := Dump(&want, v, yaml); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Fatalf("variant %d (yaml %v): written from the list, the dump differs from the gathered one", i, yaml)
			}
		}
	}
}

// variedDump is the varied generator's dump of services services, loaded.
func variedDump(t *testing.T, services int) *envoyadmin.Dump {
	t.Helper()
	var b bytes.Buffer
	if err := dumpgen.WriteVaried(&b, dumpgen.Options{Services: services}); err != nil {
		t.Fatal(err)
	}
	dumps, err := envoyadmin.Load(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return dumps[0]
}
