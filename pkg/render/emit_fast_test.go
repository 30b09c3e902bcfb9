package render

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
)

// TestFastJSONIsTheMemberByMemberWalk: -o json and -o yaml written in one
// pass where nothing needs redacting are byte for byte what the
// member-by-member walk writes, on every dump of the fixtures and of this project's testdata
// (credentials, key material, header pairs and ztunnel's headers among
// them), whole and as they are shown.
func TestFastJSONIsTheMemberByMemberWalk(t *testing.T) {
	var files []string
	for _, root := range []string{"../../../shared/fixtures", "../envoyadmin/testdata", "../xds/testdata", "../../examples", "../cmd/testdata"} {
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".yaml")) {
				files = append(files, p)
			}
			return nil
		})
	}
	compared, slowAtLeastOnce := 0, 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		dumps, err := envoyadmin.Load(data)
		if err != nil {
			continue
		}
		for _, d := range dumps {
			var entries []envoyadmin.Entry
			for k := envoyadmin.KindBootstrap; k <= envoyadmin.KindClusterStatus; k++ {
				entries = append(entries, d.Entries(k)...)
			}
			for _, yaml := range []bool{false, true} {
				var fast, slow bytes.Buffer
				if err := Dump(&fast, entries, yaml); err != nil {
					t.Fatal(err)
				}
				slowJSON = true
				err := Dump(&slow, entries, yaml)
				slowJSON = false
				if err != nil {
					t.Fatal(err)
				}
				if fast.String() != slow.String() {
					a, b := fast.String(), slow.String()
					i := 0
					for i < len(a) && i < len(b) && a[i] == b[i] {
						i++
					}
					t.Fatalf("%s (yaml %v): the one-pass output differs at byte %d:\n fast %q\n slow %q", f, yaml, i, a[max(0, i-80):min(len(a), i+80)], b[max(0, i-80):min(len(b), i+80)])
				}
				if strings.Contains(slow.String(), "[redacted]") {
					slowAtLeastOnce++
				}
				compared++
			}
		}
	}
	// And the one-pass writer did write: a clean resource takes it.
	var out bytes.Buffer
	if e := NewEmitter(&out, false); !e.jsonFast(exampleDump(t).Entries(envoyadmin.KindCluster)[0].Resource, 0) {
		t.Error("the one-pass writer declined a cluster with nothing to redact: the comparison above proves little")
	}
	if e := NewEmitter(&out, true); !e.yamlFast(exampleDump(t).Entries(envoyadmin.KindCluster)[0].Resource, 0) {
		t.Error("the one-pass YAML writer declined a cluster with nothing to redact: the comparison above proves little")
	}
	if compared < 300 || slowAtLeastOnce < 10 {
		t.Errorf("%d dumps compared, %d with something redacted: the test proves little", compared, slowAtLeastOnce)
	}
}

// FuzzFastIsTheMemberByMemberWalk: whatever the JSON document, writing it
// as JSON or YAML in one pass writes what the member-by-member walk writes
// (or leaves it to the walk), without a panic.
func FuzzFastIsTheMemberByMemberWalk(f *testing.F) {
	f.Add([]byte(`{"a": {"b": [1, "x", {}, [], [[2]], {"c": null}], "d": {"key": "authorization", "value": "s"}}, "e": []}`))
	f.Add([]byte(`[{"private_key": {"inline_string": "k"}}, "eyJhbGciOi.eyJzdWIi.x", {"k": "a: b"}, {"":{"y":"no"}}]`))
	f.Add([]byte("{\"a\":[\n {\"b\": 1,},\n],}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := jsonscan.Parse(data)
		if err != nil {
			return
		}
		for _, yaml := range []bool{false, true} {
			var fast, slow bytes.Buffer
			e := NewEmitter(&fast, yaml)
			e.Value(v)
			_ = e.Flush()
			s := NewEmitter(&slow, yaml)
			s.slowOnly = true
			s.Value(v)
			_ = s.Flush()
			if fast.String() != slow.String() {
				t.Fatalf("yaml %v: one pass writes\n%s\nmember by member\n%s", yaml, fast.String(), slow.String())
			}
		}
	})
}
