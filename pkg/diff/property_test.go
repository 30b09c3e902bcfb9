package diff

import (
	"bytes"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
)

// leaf is a scalar of a resource: where it is in the file, and the key of
// the object that holds it (in snake_case, as paths are written).
type leaf struct {
	off, end int
	key      string
	raw      string
}

// leaves lists the scalars of v, with the nearest object key above each.
func leaves(v jsonscan.Value, key string, out *[]leaf) {
	switch v.Kind() {
	case jsonscan.Object:
		_ = v.Fields(func(k []byte, val jsonscan.Value) bool {
			if !ignored[snake(string(k))] {
				leaves(val, snake(string(k)), out)
			}
			return true
		})
	case jsonscan.Array:
		_ = v.Items(func(_ int, val jsonscan.Value) bool {
			leaves(val, key, out)
			return true
		})
	case jsonscan.String, jsonscan.Number, jsonscan.Bool:
		*out = append(*out, leaf{off: v.Offset(), end: v.End(), key: key, raw: string(v.Raw())})
	}
}

// mutate is a different value of the same JSON type.
func mutate(raw string) string {
	switch {
	case raw == "true":
		return "false"
	case raw == "false":
		return "true"
	case strings.HasPrefix(raw, `"`):
		return raw[:len(raw)-1] + `Zq"`
	case raw == "0" || raw == "-0":
		return "1"
	}
	return raw + "7"
}

// compared are the kinds a change must be found in.
var compared = []envoyadmin.Kind{envoyadmin.KindListener, envoyadmin.KindRouteConfig, envoyadmin.KindCluster, envoyadmin.KindEndpoints}

// candidates are the entries Compare reads, each under a name only it has.
func candidates(d *envoyadmin.Dump) []envoyadmin.Entry {
	count := map[string]int{}
	var all []envoyadmin.Entry
	for _, k := range compared {
		for _, e := range d.Entries(k) {
			switch e.State {
			case envoyadmin.StateWarming, envoyadmin.StateError, envoyadmin.StateDraining:
				continue
			}
			if !e.Resource.Exists() {
				continue
			}
			key := fmt.Sprint(k) + "/" + entryName(e, k)
			count[key]++
			all = append(all, e)
		}
	}
	var out []envoyadmin.Entry
	for _, e := range all {
		if count[fmt.Sprint(e.Kind)+"/"+entryName(e, e.Kind)] == 1 {
			out = append(out, e)
		}
	}
	return out
}

func entryName(e envoyadmin.Entry, k envoyadmin.Kind) string {
	if e.Name != "" {
		return e.Name
	}
	return nameOf(e.Resource, k)
}

func kindName(k envoyadmin.Kind) string {
	for n, kk := range Kinds {
		if kk == k {
			return n
		}
	}
	return ""
}

// dumpFiles are every JSON and YAML file of the fixtures that loads as
// Envoy config, as JSON bytes (YAML converted), with its dumps.
func dumpFiles(t *testing.T) map[string][]byte {
	out := map[string][]byte{}
	_ = filepath.WalkDir(fixtures, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		switch {
		case strings.HasSuffix(path, ".json"):
		case strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml"):
			if data, err = yaml.YAMLToJSON(data); err != nil {
				return nil
			}
		default:
			return nil
		}
		if _, err := envoyadmin.Load(data); err == nil {
			out[path] = data
		}
		return nil
	})
	if len(out) < 50 {
		t.Fatalf("only %d dumps under %s", len(out), fixtures)
	}
	return out
}

// TestEveryFieldChangeIsFound: for every dump of the fixtures (v2 and v3,
// JSON and YAML, types this build links and types it keeps opaque), an
// unchanged copy matches, and a change to one random scalar anywhere in a
// compared resource is found, on that resource, at a path naming the field.
func TestEveryFieldChangeIsFound(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	files := dumpFiles(t)
	mutations, opaque := 0, 0
	for path, data := range files {
		dumps, _ := envoyadmin.Load(data)
		for di, left := range dumps {
			again, _ := envoyadmin.Load(data)
			if res := Compare(left, again[di], Options{Static: true}); !res.Equal() {
				t.Errorf("%s: a dump against itself differs: %+v", path, res.Changes)
			}
			cands := candidates(left)
			if len(cands) == 0 {
				continue
			}
			for range 3 {
				e := cands[rng.IntN(len(cands))]
				var ls []leaf
				leaves(e.Resource, "", &ls)
				if len(ls) == 0 {
					continue
				}
				l := ls[rng.IntN(len(ls))]
				changed := mutate(l.raw)
				mutated := bytes.Join([][]byte{data[:l.off], []byte(changed), data[l.end:]}, nil)
				rdumps, err := envoyadmin.Load(mutated)
				if err != nil {
					t.Fatalf("%s: mutated %s at %d: %v", path, l.raw, l.off, err)
				}
				res := Compare(left, rdumps[di], Options{Static: true})
				mutations++
				if strings.Contains(string(e.Resource.Raw()), "typed_config") || strings.Contains(string(e.Resource.Raw()), "typedConfig") {
					opaque++
				}
				kind, name := kindName(e.Kind), entryName(e, e.Kind)
				if !found(res, kind, name, l, changed) {
					t.Errorf("%s: %s %q: %s %s -> %s not found: %+v", path, kind, name, l.key, l.raw, changed, res.Changes)
				}
			}
		}
	}
	if mutations < 300 {
		t.Errorf("only %d mutations made", mutations)
	}
	t.Logf("%d dumps, %d mutations (%d in resources with typed configs)", len(files), mutations, opaque)
}

// found tells whether the change to leaf l of resource kind/name is
// reported: the resource changed at a path naming the field (or, for a
// set element whose identity changed, the element with the new value), or
// added and removed when its name itself changed.
func found(res *Result, kind, name string, l leaf, changed string) bool {
	if res.Equal() {
		return false
	}
	newValue := strings.Trim(changed, `"`)
	for _, c := range res.Changes {
		if c.Kind != kind {
			continue
		}
		if c.Change == "removed" && c.Name == name {
			return true // the name itself changed
		}
		if c.Change != "changed" || c.Name != name {
			continue
		}
		for _, p := range c.Paths {
			if l.key == "" || strings.Contains(p, l.key) || strings.Contains(p, newValue) || strings.Contains(p, "not compared") {
				return true
			}
		}
	}
	return false
}
