//go:build linux

package envoyadmin

import (
	"bufio"
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/kubectl-mesh/kubectl-mesh/internal/dumpgen"
)

// mappedRSS is how much of the mapping holding p is resident in this
// process (/proc/self/smaps), in bytes.
func mappedRSS(t *testing.T, p *byte) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	addr := uint64(uintptr(unsafe.Pointer(p)))
	in := false
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if lo, hi, ok := strings.Cut(strings.Fields(line)[0], "-"); ok && !strings.HasSuffix(line, ":") && strings.Count(line, " ") > 3 {
			a, err1 := strconv.ParseUint(lo, 16, 64)
			b, err2 := strconv.ParseUint(hi, 16, 64)
			if err1 == nil && err2 == nil {
				in = a <= addr && addr < b
				continue
			}
		}
		if in && strings.HasPrefix(line, "Rss:") {
			kb, _ := strconv.Atoi(strings.Fields(line)[1])
			return kb << 10
		}
	}
	t.Skip("the mapping is not in smaps")
	return 0
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
	path := filepath.Join(t.TempDir(), "varied.json")
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
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		from := r.IntN(len(src))
		to := min(from+r.IntN(70000), len(src))
		if got := in.Peek(from, to); !bytes.Equal(got, src[from:to]) {
			t.Fatalf("Peek(%d, %d) is not the file's bytes", from, to)
		}
	}
	if got := in.Peek(len(src)-10, len(src)+10); got != nil {
		t.Fatalf("Peek past the end: %d bytes, want nil", len(got))
	}
	in.Evict(0, len(in.Data))
	if list := edsList(in.Data, 2, nil, in.Peek); list < 0 {
		t.Fatal("no EDS list found")
	}
	// edsList reads the section's key where the looks found it: one
	// folio at most.
	if rss := mappedRSS(t, &in.Data[0]); rss > 4<<20 {
		t.Errorf("after looking for the EDS list, %d kB of the %d kB dump are resident", rss>>10, len(src)>>10)
	}
	in.Evict(0, len(in.Data))
	// The second read ahead is the first after the search for split
	// points (LoadInput's own is the first).
	asked := 0
	ahead := in.Prefetch
	var rss int
	in.Prefetch = func(from, to int) {
		if asked++; asked == 2 {
			rss = mappedRSS(t, &in.Data[0])
		}
		ahead(from, to)
	}
	if _, err := LoadInput(in); err != nil {
		t.Fatal(err)
	}
	if asked < 2 {
		t.Fatalf("%d reads ahead: the dump was not checked on several cores", asked)
	}
	if rss > 8<<20 {
		t.Errorf("when the walks start, %d kB of the %d kB dump are resident", rss>>10, len(src)>>10)
	}
	t.Logf("resident when the walks start: %d kB of %d kB", rss>>10, len(src)>>10)
}
