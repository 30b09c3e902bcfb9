package render

import (
	"bytes"
	"os"
	"testing"

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
