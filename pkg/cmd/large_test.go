package cmd

import (
	"bufio"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/kubectl-mesh/kubectl-mesh/internal/dumpgen"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

var large struct {
	once sync.Once
	path string
	err  error
}

// largeDump is a 1000-service dump from the project's generator (about
// 17 MB): large enough to be memory-mapped, and to have its pages evicted
// while the model is still in use.
func largeDump(t *testing.T) string {
	t.Helper()
	large.once.Do(func() {
		tpl, err := os.ReadFile("../../examples/istio-sidecar.json")
		if err != nil {
			large.err = err
			return
		}
		dir, err := os.MkdirTemp("", "mesh-large-")
		if err != nil {
			large.err = err
			return
		}
		large.path = filepath.Join(dir, "mesh-1000.json")
		f, err := os.Create(large.path)
		if err != nil {
			large.err = err
			return
		}
		w := bufio.NewWriter(f)
		if large.err = dumpgen.Write(w, tpl, dumpgen.Options{Services: 1000}); large.err == nil {
			large.err = w.Flush()
		}
		if err := f.Close(); large.err == nil {
			large.err = err
		}
	})
	if large.err != nil {
		t.Fatal(large.err)
	}
	if st, err := os.Stat(large.path); err != nil || st.Size() < 14<<20 {
		t.Fatalf("generated dump %s: %v (size below 14 MB?)", large.path, err)
	}
	return large.path
}

// TestEveryCommandOnALargeDump runs each command that reads a dump on a
// mapped 17 MB file: values the model keeps point into the mapping after
// the command's source is done with it (route-check -f used to end in
// SIGSEGV here).
func TestEveryCommandOnALargeDump(t *testing.T) {
	dump := largeDump(t)
	dir := t.TempDir()
	tests := filepath.Join(dir, "tests.yaml")
	if err := os.WriteFile(tests, []byte(`tests:
- test_name: svc-0 by name
  input: {authority: svc-0.ns-0.svc.cluster.local:8080, path: /, method: GET}
  validate:
    virtual_host_name: svc-0.ns-0.svc.cluster.local:8080
`), 0o644); err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(dir, "access.log")
	if err := os.WriteFile(logFile, []byte(`[2025-07-14T16:30:00.000Z] "GET /x HTTP/1.1" 503 UH no_healthy_upstream - "-" 0 91 0 - "-" "curl/8" "1" "svc-1.ns-1.svc.cluster.local:8080" "-" outbound|8080||svc-1.ns-1.svc.cluster.local - 10.96.0.1:8080 10.244.0.5:40000 - default
`), 0o644); err != nil {
		t.Fatal(err)
	}
	var cmds [][]string
	for _, c := range []string{"listeners", "routes", "clusters", "endpoints", "secrets", "bootstrap", "config"} {
		for _, o := range []string{"table", "wide", "json", "yaml"} {
			cmds = append(cmds, []string{c, "-f", dump, "-o", o})
		}
	}
	cmds = append(cmds,
		[]string{"ecds", "-f", dump},
		[]string{"diff", "-f", dump, "-f", dump},
		[]string{"trace", "-f", dump, "http://svc-0.ns-0.svc.cluster.local:8080/", "--address", "10.96.0.0"},
		[]string{"route-check", "-f", dump, "--route", "svc-0.ns-0.svc.cluster.local:8080", "--tests", tests},
		[]string{"logs", "-f", logFile, "--explain", "--config", dump},
	)
	for _, args := range cmds {
		out, errOut, err := run(t, "", args...)
		if code := ExitCode(err); code != ExitOK {
			t.Errorf("%s: exit %d: %v\n%s", strings.Join(args, " "), code, err, errOut)
			continue
		}
		if out == "" && !strings.Contains(errOut, "No resources found") {
			t.Errorf("%s: no output", strings.Join(args, " "))
		}
	}
}

// mappedCopy maps a copy of the large dump, to be truncated under the
// mapping; it returns the input and the copy's path.
func mappedCopy(t *testing.T) (*envoyadmin.Input, string) {
	t.Helper()
	src, err := os.ReadFile(largeDump(t))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "shrinking.json")
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := envoyadmin.ReadFile(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return in, path
}

// TestShrunkFileIsOneError: a mapped dump truncated while it is read
// faults on the lost pages; that is an error naming the cause, not SIGBUS.
func TestShrunkFileIsOneError(t *testing.T) {
	in, path := mappedCopy(t)
	in.Evict(0, len(in.Data))
	if err := os.Truncate(path, 4096); err != nil {
		t.Fatal(err)
	}
	err := envoyadmin.Guard(func() error {
		_, err := envoyadmin.LoadInput(in)
		return err
	})
	if !errors.Is(err, envoyadmin.ErrFileChanged) || !errors.Is(err, envoyadmin.ErrNotDump) {
		t.Fatalf("a truncated mapped file: %v, want ErrFileChanged", err)
	}
	if ExitCode(err) != ExitUsage {
		t.Errorf("exit %d, want %d", ExitCode(err), ExitUsage)
	}
}

// TestShrunkFileWhileDecodingIsOneError: a mapped dump that was checked
// whole and is truncated before its entries are read (endpoints, read in
// parts on all cores; clusters, walked and decoded in batches) faults in
// the workers; that is the same one error, not SIGBUS.
func TestShrunkFileWhileDecodingIsOneError(t *testing.T) {
	for _, kind := range []string{"endpoints", "clusters"} {
		in, path := mappedCopy(t)
		dumps, err := envoyadmin.LoadInput(in)
		if err != nil {
			t.Fatal(err)
		}
		in.Evict(0, len(in.Data))
		if err := os.Truncate(path, 4096); err != nil {
			t.Fatal(err)
		}
		cfg := xds.New(dumps[0])
		err = envoyadmin.Guard(func() error {
			if kind == "endpoints" {
				cfg.Endpoints()
			} else {
				cfg.Clusters()
			}
			return nil
		})
		if !errors.Is(err, envoyadmin.ErrFileChanged) {
			t.Fatalf("%s of a mapped file truncated after loading: %v, want ErrFileChanged", kind, err)
		}
	}
}

// TestSortClustersIsStable: clusters are ordered as a stable sort by
// service, port, subset and direction orders them (the dump's order among
// equals), on random lists with many equal keys.
func TestSortClustersIsStable(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for range 200 {
		n := r.IntN(300)
		cs := make([]*xds.Cluster, n)
		for i := range cs {
			cs[i] = &xds.Cluster{Name: strconv.Itoa(i), FQDN: []string{"a.svc", "b.svc", "", "a.svc.x"}[r.IntN(4)],
				Port: uint32(r.IntN(3)) * 8080, Subset: []string{"", "v1", "v2"}[r.IntN(3)], Direction: []string{"inbound", "outbound", ""}[r.IntN(3)]}
		}
		want := slices.Clone(cs)
		sort.SliceStable(want, func(i, j int) bool {
			a, b := want[i], want[j]
			if a.FQDN != b.FQDN {
				return a.FQDN < b.FQDN
			}
			if a.Port != b.Port {
				return a.Port < b.Port
			}
			if a.Subset != b.Subset {
				return a.Subset < b.Subset
			}
			return a.Direction < b.Direction
		})
		sortClusters(cs)
		for i := range cs {
			if cs[i] != want[i] {
				t.Fatalf("%d clusters: at %d %s, want %s", n, i, cs[i].Name, want[i].Name)
			}
		}
	}
}
