package envoyadmin

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixtures is the shared set of real dumps (see ../shared/fixtures/MANIFEST.md).
const fixtures = "../../../shared/fixtures"

// notDumps are the files of the fixture set that are not Envoy dumps, with
// what the loader must say about each.
var notDumps = map[string]string{
	"istio/istioctl-golden/ztunnel/dump.json":            "ztunnel",
	"istio/istioctl-golden/ztunnel/connectionsdump.json": "not an Envoy resource",
	"kiali/istiod-debug/registry-configz.json":           "configz",
	"kiali/istiod-debug/services-configz.json":           "configz",
	"kiali/istiod-debug/registry-endpointz.json":         "endpointz",
	"kiali/istiod-debug/registry-registryz.json":         "registryz",
	"kiali/istiod-debug/registry-syncz.json":             "syncz",
}

func fixtureFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(fixtures, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(fixtures, path)
		switch {
		case d.IsDir():
			if rel == "istio-simulation" || rel == "envoy/router_check" {
				return filepath.SkipDir // not dumps: simulation cases and route tests, read by trace tests
			}
		case strings.HasSuffix(path, ".json") || strings.HasSuffix(path, ".yaml"):
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("the shared fixtures must be beside the checkout: %v", err)
	}
	return files
}

func TestLoadsEveryDumpInTheFixtures(t *testing.T) {
	files := fixtureFiles(t)
	if len(files) < 60 {
		t.Fatalf("found %d fixture files; is ../shared/fixtures complete?", len(files))
	}
	for _, rel := range files {
		t.Run(rel, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(fixtures, rel))
			if err != nil {
				t.Fatal(err)
			}
			dumps, err := Load(data)
			if want, ok := notDumps[rel]; ok {
				if err == nil || !errors.Is(err, ErrNotDump) || !strings.Contains(err.Error(), want) {
					t.Fatalf("Load = %v, want an ErrNotDump mentioning %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			total := 0
			for _, d := range dumps {
				for _, k := range d.Kinds() {
					total += len(d.Entries(k))
				}
			}
			if total == 0 {
				t.Fatalf("loaded %d dumps with no entries", len(dumps))
			}
		})
	}
}

func TestLoadCountsOfKnownDumps(t *testing.T) {
	for _, tc := range []struct {
		file string
		want map[Kind]int
	}{
		{"navigator/config_dump/envoy_config_dump.json", map[Kind]int{KindBootstrap: 1, KindListener: 17, KindRouteConfig: 14, KindCluster: 21, KindSecret: 2}},
		{"istio/config_dump/legacy-v2/productpage-v1-7bbd79f8fd-k6j79.json", map[Kind]int{KindBootstrap: 1, KindListener: 52, KindRouteConfig: 33, KindCluster: 83}},
		{"istio/istioctl-golden-1.6/clusters/clusters.json", map[Kind]int{KindClusterStatus: 7}},
		{"istio/istioctl-golden/secret/istio/config_dump.json", map[Kind]int{KindSecret: 3}},
		{"envoy-gateway/egctl-translate/from-gateway-api-to-xds.all.yaml", map[Kind]int{KindBootstrap: 1, KindListener: 6, KindRouteConfig: 2, KindCluster: 5, KindEndpoints: 5}},
		{"istio/bootstrap/default_golden.json", map[Kind]int{KindBootstrap: 1, KindListener: 2, KindCluster: 4}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(fixtures, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			dumps, err := Load(data)
			if err != nil {
				t.Fatal(err)
			}
			for k, n := range tc.want {
				if got := len(dumps[0].Entries(k)); got != n {
					t.Errorf("%s: %d entries, want %d", k, got, n)
				}
			}
		})
	}
}

func TestEgctlOutputIsUnwrappedAndNamed(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(fixtures, "envoy-gateway/egctl-config/out/out.all.json"))
	if err != nil {
		t.Fatal(err)
	}
	dumps, err := Load(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(dumps) != 1 || dumps[0].Name != "default/eg" {
		t.Fatalf("got %d dumps named %q, want one named default/eg", len(dumps), dumps[0].Name)
	}
}

func TestListenerStatesAreSplit(t *testing.T) {
	dump := `{"configs": [{"@type": "type.googleapis.com/envoy.admin.v3.ListenersConfigDump", "dynamic_listeners": [
	  {"name": "l1", "active_state": {"version_info": "1", "listener": {"name": "l1"}},
	   "warming_state": {"version_info": "2", "listener": {"name": "l1"}},
	   "error_state": {"failed_configuration": {"name": "l1"}, "details": "duplicate filter chain match", "version_info": "3"}}]}]}`
	dumps, err := Load([]byte(dump))
	if err != nil {
		t.Fatal(err)
	}
	es := dumps[0].Entries(KindListener)
	if len(es) != 3 || es[0].State != StateActive || es[1].State != StateWarming || es[2].State != StateError {
		t.Fatalf("entries = %+v", es)
	}
	if es[2].Error != "duplicate filter chain match" || es[2].Version != "3" {
		t.Errorf("error entry = %+v", es[2])
	}
}

func TestBadInputIsOneClearError(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", "empty"},
		{"white space", " \n\t", "empty"},
		{"truncated", `{"configs": [{"@type": "type.googleapis.com/envoy.admin.v3.ClustersConfigDump", "static_clusters": [`, "truncated"},
		{"random JSON", `{"hello": "world", "n": 1}`, "not an Envoy config dump (top-level keys: hello, n)"},
		{"a number", `42`, "not a config dump"},
		{"binary", "\x00\x01\x02\xff\xfe", "binary"},
		{"configs not a list", `{"configs": 3}`, "not a list"},
		{"YAML that is not a dump", "a: b\nc: [1, 2]\n", "not an Envoy config dump"},
		{"broken YAML", "a: b\n  c: : d\n- e", "neither JSON nor YAML"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load([]byte(tc.in))
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrNotDump) {
				t.Errorf("error does not wrap ErrNotDump: %v", err)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line mentioning %q", msg, tc.want)
			}
		})
	}
}

// FuzzLoad: no input may panic the loader or the entry expansion. The seed
// corpus is every fixture small enough to mutate usefully.
func FuzzLoad(f *testing.F) {
	for _, rel := range fixtureFiles(f) {
		data, err := os.ReadFile(filepath.Join(fixtures, rel))
		if err == nil && len(data) < 64<<10 {
			f.Add(data)
		}
	}
	// Shapes kept in this repository's testdata: Istio 1.0's (configs keyed
	// by kind, from istio/istio 1.0.0), and other control planes' outputs
	// (kgateway, Emissary, Kuma's inspect API, Envoy Gateway's bootstrap).
	seeds := []string{"../cmd/testdata/istio-1.0/configdump.json", "../cmd/testdata/istio-1.0/pilotconfigdump.json"}
	for _, dir := range []string{"testdata/kgateway", "testdata/emissary", "testdata/kuma", "testdata/envoy-gateway"} {
		names, _ := filepath.Glob(filepath.Join(dir, "*.*"))
		seeds = append(seeds, names...)
	}
	for _, p := range seeds {
		if data, err := os.ReadFile(p); err == nil && len(data) < 64<<10 && !strings.HasSuffix(p, ".md") {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dumps, err := Load(data)
		if err != nil {
			if !errors.Is(err, ErrNotDump) {
				t.Fatalf("error does not wrap ErrNotDump: %v", err)
			}
			return
		}
		for _, d := range dumps {
			for k := KindBootstrap; k <= KindClusterStatus; k++ {
				_ = d.Entries(k)
			}
		}
	})
}

// TestEntriesInBatchesAreEntries: for every dump of every fixture and
// sample, and every kind, the batches told of (whatever their bounds) are
// the entries Entries returns, each once, in its order; only the last is
// short of both bounds; and a second call tells of the same entries again.
func TestEntriesInBatchesAreEntries(t *testing.T) {
	var files []string
	for _, rel := range fixtureFiles(t) {
		files = append(files, filepath.Join(fixtures, rel))
	}
	more, _ := filepath.Glob("testdata/*/*.json")
	examples, _ := filepath.Glob("../../examples/*.json")
	files = append(append(files, more...), examples...)
	compared, kinds := 0, map[Kind]bool{}
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range []struct{ size, bytes int }{{1, 0}, {3, 0}, {256, 0}, {3, 1}, {256, 2000}, {256, 64 << 10}} {
			size := b.size
			want, err := Load(data)
			if err != nil {
				continue // not a dump (istiod's views): TestLoadsEveryDumpInTheFixtures says so
			}
			got, _ := Load(data)
			for i := range want {
				for k := KindBootstrap; k <= KindClusterStatus; k++ {
					var told []Entry
					short := 0 // batches under size entries spanning under b.bytes (only the last may be)
					ret := got[i].EntriesInBatches(k, size, b.bytes, func(es []Entry) {
						if len(es) == 0 || len(es) > size {
							t.Errorf("%s: a batch of %d entries, size %d", path, len(es), size)
						}
						if short > 0 {
							t.Errorf("%s, %s: a batch after one of %d entries spanning less than %d bytes", path, k, size, b.bytes)
						}
						if len(es) < size && (b.bytes <= 0 || es[len(es)-1].Raw.End()-es[0].Raw.Offset() < b.bytes) {
							short++
						}
						// Cut as soon as the bound is reached: the entries before
						// the last element's (a listener's states share one) span
						// less than it.
						j := len(es) - 1
						for j >= 0 && es[j].Raw.Offset() == es[len(es)-1].Raw.Offset() {
							j--
						}
						if b.bytes > 0 && j >= 0 && es[j].Raw.End()-es[0].Raw.Offset() >= b.bytes {
							t.Errorf("%s, %s: a batch of %d entries runs past its bound of %d bytes", path, k, len(es), b.bytes)
						}
						told = append(told, es...)
					})
					all := want[i].Entries(k)
					if !sameEntries(told, all) || !sameEntries(ret, all) {
						t.Errorf("%s, %s, batches of %d: told of %d entries, returned %d, Entries has %d", path, k, size, len(told), len(ret), len(all))
					}
					var again []Entry
					got[i].EntriesInBatches(k, size, b.bytes, func(es []Entry) { again = append(again, es...) })
					if !sameEntries(again, all) {
						t.Errorf("%s, %s: a second call told of %d entries, want %d", path, k, len(again), len(all))
					}
					compared += len(all)
					kinds[k] = kinds[k] || len(all) > 0
				}
			}
		}
	}
	if compared < 2000 || len(kinds) < 6 {
		t.Fatalf("compared %d entries of %d kinds: too few", compared, len(kinds))
	}
}

func sameEntries(a, b []Entry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Kind != b[i].Kind || a[i].State != b[i].State || a[i].Name != b[i].Name || a[i].Raw.Offset() != b[i].Raw.Offset() ||
			a[i].Raw.End() != b[i].Raw.End() || a[i].Resource.Offset() != b[i].Resource.Offset() || a[i].Error != b[i].Error {
			return false
		}
	}
	return true
}
