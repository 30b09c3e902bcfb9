// Package testcorpus is the dumps the tests of several packages read: the
// real ones under ../shared/fixtures (see its MANIFEST.md) and both
// generators' (internal/dumpgen).
package testcorpus

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-mesh/kubectl-mesh/internal/dumpgen"
)

// Dumps are the fixtures' files ending in one of exts and smaller than
// maxBytes, by path, with dumps of services services from each generator
// ("generated" from examples/istio-sidecar.json, and "generated (varied)").
func Dumps(tb testing.TB, services, maxBytes int, exts ...string) map[string][]byte {
	tb.Helper()
	root := moduleRoot(tb)
	docs := map[string][]byte{}
	_ = filepath.WalkDir(filepath.Join(root, "..", "shared", "fixtures"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		for _, ext := range exts {
			if strings.HasSuffix(p, ext) {
				if b, err := os.ReadFile(p); err == nil && len(b) < maxBytes {
					docs[p] = b
				}
				break
			}
		}
		return nil
	})
	template, err := os.ReadFile(filepath.Join(root, "examples", "istio-sidecar.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var g, v bytes.Buffer
	if err := dumpgen.Write(&g, template, dumpgen.Options{Services: services}); err != nil {
		tb.Fatal(err)
	}
	if err := dumpgen.WriteVaried(&v, dumpgen.Options{Services: services}); err != nil {
		tb.Fatal(err)
	}
	docs["generated"], docs["generated (varied)"] = g.Bytes(), v.Bytes()
	return docs
}

// moduleRoot is the module's directory: the first above the working directory
// (a test's package) holding go.mod.
func moduleRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			tb.Fatal("no go.mod above the working directory")
		}
		dir = up
	}
}
