//go:build linux

package envoyadmin

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/kubectl-mesh/kubectl-mesh/internal/dumpgen"
	"github.com/kubectl-mesh/kubectl-mesh/internal/procmem"
)

// mappedFile writes src to a file named name in a temporary directory
// and reads it back mapped, as kubectl mesh reads a dump file; the test is
// skipped where the file is not mapped.
func mappedFile(t *testing.T, src []byte, name string) (*Input, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := ReadFile(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if in.Peek == nil {
		t.Skip("the file was not mapped")
	}
	return in, path
}

// TestLooksMapNothing: a mapped dump's Peek is its bytes (and nil past
// its end), and the looks that pick where the check's walks start and
// where the EDS list is leave the file unmapped: since Linux 6.16 a fault
// on a file in large folios maps up to 2 MB around the byte read, and
// those looks, 128 of 16 kB each, once made most of a 44 MB dump resident
// before the check began.
func TestLooksMapNothing(t *testing.T) {
	var b bytes.Buffer
	if err := dumpgen.WriteVaried(&b, dumpgen.Options{Services: 4000}); err != nil {
		t.Fatal(err)
	}
	src := b.Bytes()
	in, _ := mappedFile(t, src, "varied.json")
	r := rand.New(rand.NewPCG(1, 2))
	var buf []byte // each look's buffer the next one's, of every size
	for range 200 {
		from := r.IntN(len(src))
		to := min(from+r.IntN(70000), len(src))
		got := in.Peek(buf, from, to)
		if !bytes.Equal(got, src[from:to]) {
			t.Fatalf("Peek(%d, %d) is not the file's bytes", from, to)
		}
		buf = got
	}
	if got := in.Peek(nil, len(src)-10, len(src)+10); got != nil {
		t.Fatalf("Peek past the end: %d bytes, want nil", len(got))
	}
	in.Evict(0, len(in.Data))
	if list := edsList(in.Data, 2, nil, in.Peek); list < 0 {
		t.Fatal("no EDS list found")
	}
	// edsList reads the section's key where the looks found it: one
	// folio at most.
	if kb, err := procmem.RssKB(uintptr(unsafe.Pointer(&in.Data[0]))); err != nil {
		t.Skip(err)
	} else if kb > 4<<10 {
		t.Errorf("after looking for the EDS list, %d kB of the %d kB dump are resident", kb, len(src)>>10)
	}
	in.Evict(0, len(in.Data))
	// The second read ahead is the first after the search for split
	// points (LoadInput's own is the first); the walks ask for theirs
	// concurrently.
	var asked atomic.Int32
	var kb int
	var rssErr error
	ahead := in.Prefetch
	in.Prefetch = func(from, to int) {
		if asked.Add(1) == 2 {
			kb, rssErr = procmem.RssKB(uintptr(unsafe.Pointer(&in.Data[0])))
		}
		ahead(from, to)
	}
	if _, err := LoadInput(in); err != nil {
		t.Fatal(err)
	}
	if n := asked.Load(); n < 2 {
		t.Fatalf("%d reads ahead: the dump was not checked on several cores", n)
	}
	if rssErr != nil {
		t.Skip(rssErr)
	}
	if kb > 8<<10 {
		t.Errorf("when the walks start, %d kB of the %d kB dump are resident", kb, len(src)>>10)
	}
	t.Logf("resident when the walks start: %d kB of %d kB", kb, len(src)>>10)
}
