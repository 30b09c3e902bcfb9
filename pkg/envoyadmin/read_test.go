package envoyadmin

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kubectl-mesh/kubectl-mesh/internal/testcorpus"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
)

// entryWords is an entry as words: its fields, and where its values lie.
func entryWords(e Entry) string {
	span := func(v jsonscan.Value) string {
		if !v.Present() {
			return "absent"
		}
		return fmt.Sprintf("%d-%d", v.Offset(), v.End())
	}
	return fmt.Sprintf("%s %s %q %q %q %q resource %s raw %s %q %v", e.Kind, e.State, e.Name, e.Version, e.LastUpdated,
		e.Error, span(e.Resource), span(e.Raw), e.List, e.Bare)
}

// readRaw is what a Reader at a resource reads of it: all of it, going
// into its objects and arrays.
func readRaw(r *jsonscan.Reader) string {
	var b strings.Builder
	var walk func()
	walk = func() {
		switch r.Kind() {
		case jsonscan.Object:
			b.WriteString("{")
			r.Object(func(key []byte) { fmt.Fprintf(&b, "%s:", key); walk(); b.WriteString(",") })
			b.WriteString("}")
		case jsonscan.Array:
			b.WriteString("[")
			r.Array(func() { walk(); b.WriteString(",") })
			b.WriteString("]")
		default:
			b.Write(r.Value().Raw())
		}
	}
	walk()
	return b.String()
}

// readDocs are the fixtures' dumps, both generators' and hand-made ones
// whose layout misleads: elements of an inner array indented as those of
// the list, after a comma (a split offered there is not an entry's start).
func readDocs(t *testing.T) map[string][]byte {
	docs := testcorpus.Dumps(t, 60, 16<<20, ".json", ".yaml")
	var lying strings.Builder
	lying.WriteString("{\"configs\": [{\"@type\": \"type.googleapis.com/envoy.admin.v3.EndpointsConfigDump\",\n \"dynamic_endpoint_configs\": [\n")
	for i := range 200 {
		if i > 0 {
			lying.WriteString(",\n")
		}
		fmt.Fprintf(&lying, "  {\"version_info\": \"v%d\", \"endpoint_config\": {\"cluster_name\": \"c%d\", \"endpoints\": [\n", i, i)
		for j := range i % 4 {
			if j > 0 {
				lying.WriteString(",\n")
			}
			fmt.Fprintf(&lying, "  {\"lb_endpoints\": [{\"endpoint\": {\"address\": {\"socket_address\": {\"address\": \"10.0.%d.%d\", \"port_value\": 80}}}}]}", i, j)
		}
		lying.WriteString("]}}")
	}
	lying.WriteString("\n ]}]}")
	docs["misleading layout"] = []byte(lying.String())
	if len(docs) < 50 {
		t.Fatalf("only %d documents", len(docs))
	}
	return docs
}

// readAgrees checks, for every kind of every dump in data, that
// ReadEntries on workers goroutines finds the entries Entries finds and
// reads each resource whole, and that the dump's index then holds them;
// it returns how many entries it compared.
func readAgrees(t *testing.T, name string, data []byte, workers int) int {
	t.Helper()
	ref, err := Load(data)
	if err != nil {
		return 0
	}
	dumps, err := Load(data)
	if err != nil {
		t.Fatal(err)
	}
	compared := 0
	for n, d := range dumps {
		for _, k := range ref[n].Kinds() {
			want := ref[n].Entries(k)
			got, read, ok := ReadEntries(d, k, workers, readRaw)
			if !ok {
				if k != KindListener {
					for _, p := range d.pending[k] {
						if !p.lone && p.shape.resource != "" {
							t.Fatalf("%s %s: not read, though its lists are all of one resource each", name, k)
						}
					}
				}
				continue
			}
			if len(got) != len(want) || len(read) != len(got) {
				t.Fatalf("%s %s: %d entries and %d read, want %d", name, k, len(got), len(read), len(want))
			}
			for i := range want {
				if g, w := entryWords(got[i]), entryWords(want[i]); g != w {
					t.Fatalf("%s %s #%d:\n got %s\nwant %s", name, k, i, g, w)
				}
				r := want[i].Resource.Reader()
				if w := readRaw(&r); read[i] != w {
					t.Fatalf("%s %s #%d: read %.200q, want %.200q", name, k, i, read[i], w)
				}
			}
			if again := d.Entries(k); len(again) != len(got) || len(got) > 0 && entryWords(again[0]) != entryWords(got[0]) {
				t.Fatalf("%s %s: the index does not hold what was read", name, k)
			}
			compared += len(want)
		}
	}
	return compared
}

// TestReadEntriesIsEntries: reading entries in one pass, in parts on one to
// three cores (parts as small as 64 bytes of a list, which splits even
// the fixtures), finds the entries Entries finds, field for field, and
// reads each resource whole; afterwards the dump's index holds them.
func TestReadEntriesIsEntries(t *testing.T) {
	defer func(old int) { partBytes = old }(partBytes)
	compared, split := 0, 0
	for name, data := range readDocs(t) {
		for _, every := range []int{64, 1024, 512 << 10} {
			partBytes = every
			for workers := 1; workers <= 3; workers++ {
				compared += readAgrees(t, fmt.Sprintf("%s (parts of %d, %d cores)", name, every, workers), data, workers)
			}
		}
		fresh, _ := Load(data) // not a dump: none
		for _, d := range fresh {
			for _, ps := range d.pending {
				for _, p := range ps {
					offers := p.value.ItemStarts(64)
					if len(offers) > 0 {
						split++
					}
					if name == "misleading layout" {
						starts := map[int]bool{}
						_ = p.value.Items(func(_ int, e jsonscan.Value) bool { starts[e.Offset()] = true; return true })
						wrong := 0
						for _, o := range offers {
							if !starts[o] {
								wrong++
							}
						}
						if wrong == 0 {
							t.Fatal("the misleading layout offers no wrong split point")
						}
					}
				}
			}
		}
	}
	if compared < 10000 || split < 20 {
		t.Fatalf("only %d entries compared, %d lists split", compared, split)
	}
}

// FuzzReadEntriesIsEntries: whatever the dump, reading entries in parts
// finds what Entries finds, without a panic.
func FuzzReadEntriesIsEntries(f *testing.F) {
	f.Add([]byte(`{"configs": [{"@type": "type.googleapis.com/envoy.admin.v3.EndpointsConfigDump",
 "dynamic_endpoint_configs": [
  {"endpoint_config": {"cluster_name": "a"}},
  {"version_info": "2", "endpoint_config": {"cluster_name": "b"}, "error_state": {"details": "x"}}
 ]}]}`))
	f.Add([]byte(`{"configs": [{"@type": "type.googleapis.com/envoy.admin.v3.ClustersConfigDump",
 "dynamic_active_clusters": [
  {"cluster": {"name": "a"}},
  {"cluster": {"name": "b"}, "name": "c"},
  7,
  {"cluster": null}
 ]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		defer func(old int) { partBytes = old }(partBytes)
		partBytes = 8
		readAgrees(t, "the input", data, 2)
	})
}
