package envoyadmin

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kubectl-mesh/kubectl-mesh/internal/dumpgen"
)

// earlyAgrees checks that loading data with an early reading of its
// endpoints (on workers goroutines) answers as loading it without: the
// same error, or the same dumps whose endpoint entries, and what was read
// of each, are those ReadEntries reads after the load. It reports whether
// the early reading was used.
func earlyAgrees(t *testing.T, name string, data []byte, workers int) bool {
	t.Helper()
	ref, refErr := Load(data)
	dumps, err := LoadInput(&Input{Data: data, Early: ReadEarly(workers, readRaw)})
	if (err == nil) != (refErr == nil) || err != nil && err.Error() != refErr.Error() {
		t.Fatalf("%s: with the early reading the load says %v, without %v", name, err, refErr)
	}
	if err != nil {
		return false
	}
	if len(dumps) != len(ref) {
		t.Fatalf("%s: %d dumps with the early reading, %d without", name, len(dumps), len(ref))
	}
	used := false
	for n, d := range dumps {
		used = used || d.early != nil
		want, wantRead, wantOK := ReadEntries(ref[n], KindEndpoints, workers, readRaw)
		got, read, ok := ReadEntries(d, KindEndpoints, workers, readRaw)
		if ok != wantOK || len(got) != len(want) || len(read) != len(wantRead) {
			t.Fatalf("%s: %d entries (%v) read early, %d (%v) after the load", name, len(got), ok, len(want), wantOK)
		}
		for i := range want {
			if g, w := entryWords(got[i]), entryWords(want[i]); g != w {
				t.Fatalf("%s #%d:\n got %s\nwant %s", name, i, g, w)
			}
			if read[i] != wantRead[i] {
				t.Fatalf("%s #%d: read %.200q, want %.200q", name, i, read[i], wantRead[i])
			}
		}
		if d.early != nil {
			t.Fatalf("%s: the early reading is kept after ReadEntries took it", name)
		}
		if again := d.Entries(KindEndpoints); len(again) != len(got) {
			t.Fatalf("%s: the index holds %d entries, %d were read", name, len(again), len(got))
		}
	}
	return used
}

// TestEarlyReadingIsReadEntries: on the fixtures and both generators'
// dumps, reading the endpoints while loading, in parts of 64 bytes to
// 512 kB on one to three cores, finds what ReadEntries finds after the
// load; on each of the generated dumps broken at random places (most of
// them in the assignments), the load fails with the same error as
// without the early reading, or reads the same.
func TestEarlyReadingIsReadEntries(t *testing.T) {
	defer func(old int) { partBytes = old }(partBytes)
	docs := readDocs(t)
	used := 0
	for name, data := range docs {
		for _, every := range []int{64, 4096, 512 << 10} {
			partBytes = every
			for workers := 1; workers <= 3; workers++ {
				if earlyAgrees(t, fmt.Sprintf("%s (parts of %d, %d cores)", name, every, workers), data, workers) {
					used++
				}
			}
		}
	}
	// The fixtures with EDS, the generated dumps and the misleading
	// layout, each in 9 ways.
	if used < 5*9 {
		t.Errorf("the early reading was used %d times: the test proves little", used)
	}
	r := rand.New(rand.NewPCG(9, 10))
	partBytes = 2048
	broke, failed := 0, 0
	for _, name := range []string{"generated", "generated (varied)", "misleading layout"} {
		data := docs[name]
		list := edsList(data, 1, nil, nil)
		if list < 0 {
			t.Fatalf("%s: no EDS list found", name)
		}
		for k := range 60 {
			broken := bytes.Clone(data)
			at := list + r.IntN(len(data)-list)
			if k%6 == 0 {
				at = r.IntN(len(data)) // anywhere
			}
			switch k % 3 {
			case 0:
				broken[at] = "{}[],:\"x\\\n 0-\x01"[r.IntN(14)]
			case 1:
				broken = append(broken[:at], broken[at+1:]...)
			case 2:
				broken = append(broken[:at], append([]byte(",\n  {"), broken[at:]...)...)
			}
			broke++
			if _, err := Load(broken); err != nil {
				failed++
			}
			earlyAgrees(t, fmt.Sprintf("%s broken (%d at %d)", name, k%3, at), broken, 2)
		}
	}
	if failed < broke/3 || failed == broke {
		t.Errorf("%d of %d broken dumps fail to load: the test proves little", failed, broke)
	}
}

// TestEDSListIsTheSections: the list an early reading reads is found in
// dumps of every size (small ones searched in stretches from the end,
// large ones where a look at a few places says), also when the section is
// not at the end, and not where there is none or the name is in a string.
func TestEDSListIsTheSections(t *testing.T) {
	for _, services := range []int{1, 300, 3000} {
		var b bytes.Buffer
		if err := dumpgen.WriteVaried(&b, dumpgen.Options{Services: services}); err != nil {
			t.Fatal(err)
		}
		data := b.Bytes()
		dumps, err := Load(data)
		if err != nil {
			t.Fatal(err)
		}
		want := -1
		for _, p := range dumps[0].pending[KindEndpoints] {
			if p.shape == earlyShape {
				want = p.value.Offset()
			}
		}
		direct := func(from, to int) []byte { return data[from:to] }
		lo, hi, ok := edsStretch(data, direct)
		if ok != (len(data) >= 8<<20) {
			t.Fatalf("%d services (%d bytes): edsStretch narrows the search: %v", services, len(data), ok)
		}
		// The places are looked at only through look: the same answer
		// with data all zero.
		if lo2, hi2, ok2 := edsStretch(make([]byte, len(data)), direct); lo2 != lo || hi2 != hi || ok2 != ok {
			t.Fatalf("%d services: edsStretch through look says %d-%d %v, on the data %d-%d %v", services, lo2, hi2, ok2, lo, hi, ok)
		}
		peeks := []func(dst []byte, from, to int) []byte{
			nil,
			func(dst []byte, from, to int) []byte { return append(dst[:0], data[from:to]...) },
			func([]byte, int, int) []byte { return nil }, // cannot read: data is read
		}
		// Not last: a large value after the section (edsStretch finds no
		// EDS at the end, and the whole is searched).
		tail := append(bytes.TrimRight(bytes.Clone(data), "}\n "), []byte(`, "tail": "`+strings.Repeat("x", 9<<20)+`"}`)...)
		for _, workers := range []int{1, 2, 5} {
			for _, doc := range [][]byte{data, tail} {
				for k, peek := range peeks {
					if &doc[0] != &data[0] && k == 1 {
						peek = func(dst []byte, from, to int) []byte { return append(dst[:0], doc[from:to]...) }
					}
					if got := edsList(doc, workers, nil, peek); got != want || want < 0 {
						t.Fatalf("%d services, %d cores, peek %d: the list found at %d, the dump has it at %d", services, workers, k, got, want)
					}
				}
			}
		}
		if _, err := Load(tail); err != nil {
			t.Fatalf("the dump with a tail: %v", err)
		}
	}
	for _, doc := range []string{
		`{"configs": []}`,
		`{"configs": [{"@type": "x.EndpointsConfigDump"}]}`,
		`{"configs": [{"@type": "EndpointsConfigDump", "static_endpoint_configs": []}]}`,
		`{"a": "EndpointsConfigDump \"dynamic_endpoint_configs\": 1"}`,
		`EndpointsConfigDump`,
		``,
	} {
		if got := edsList([]byte(doc), 2, nil, nil); got >= 0 && doc[got] != '[' {
			t.Fatalf("%s: a list found at %d", doc, got)
		}
	}
}

// FuzzEarlyReadingIsReadEntries: whatever the input, the load with an
// early reading answers as the load without it.
func FuzzEarlyReadingIsReadEntries(f *testing.F) {
	f.Add([]byte(`{"configs": [{"@type": "type.googleapis.com/envoy.admin.v3.EndpointsConfigDump",
 "dynamic_endpoint_configs": [
  {"endpoint_config": {"cluster_name": "a"}},
  {"version_info": "2", "endpoint_config": {"cluster_name": "b"}, "error_state": {"details": "x"}}
 ]}]}`))
	f.Add([]byte(`{"configs": [{"@type": "type.googleapis.com/envoy.admin.v3.EndpointsConfigDump",
 "dynamic_endpoint_configs": [
  {"endpoint_config": {"cluster_name": "a", "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {"socket_address": {"address": "1.2.3.4", "port_value": 80}}}}]}]}},
  {"endpoint_config": {"cluster_name": "b"}},
 ]}], "tail": "EndpointsConfigDump"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		defer func(old int) { partBytes = old }(partBytes)
		partBytes = 8
		earlyAgrees(t, "the input", data, 2)
	})
}
