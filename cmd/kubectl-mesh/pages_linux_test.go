package main

import (
	"bytes"
	"encoding/json"
	"github.com/kubectl-mesh/kubectl-mesh/internal/procmem"
	"os"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"
	"unsafe"
)

// residentKB is the Rss of the mapping holding address a.
func residentKB(t *testing.T, a uint64) int {
	t.Helper()
	kb, err := procmem.RssKB(uintptr(a))
	if err != nil {
		t.Skip("no /proc/self/smaps entry:", err)
	}
	return kb
}

// TestDropStartupPages: the test binary's code, as resident as start-up
// and the tests made it, is let go of, and the process runs on (the code
// it runs next is mapped again).
func TestDropStartupPages(t *testing.T) {
	pc := uint64(reflect.ValueOf(dropStartupPages).Pointer())
	before := residentKB(t, pc)
	dropStartupPages()
	after := residentKB(t, pc)
	if before < 1024 || after > before/2 {
		t.Fatalf("code resident: %d kB before, %d kB after dropping; want at least 1 MB before and under half after", before, after)
	}
	// Code not run since the drop runs, and reads its tables, as before.
	b, err := json.Marshal(map[string][]float64{"a": {1.5, 2}})
	if err != nil || string(b) != `{"a":[1.5,2]}` {
		t.Fatalf("after dropping: %s, %v", b, err)
	}
}

// TestDropKeepsPrivateCopies, on real mappings of one file: a read-only
// mapping holding a page that was written (as a loader's relocations are,
// before it makes them read-only) is kept; a clean one is dropped, and its
// bytes read back from the file.
func TestDropKeepsPrivateCopies(t *testing.T) {
	page := os.Getpagesize()
	path := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(path, bytes.Repeat([]byte("a"), 3*page), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	written, err := syscall.Mmap(int(f.Fd()), 0, 2*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE)
	if err != nil {
		t.Skip("mmap:", err)
	}
	defer syscall.Munmap(written)
	written[0] = 'X'
	if err := syscall.Mprotect(written, syscall.PROT_READ); err != nil {
		t.Fatal(err)
	}
	clean, err := syscall.Mmap(int(f.Fd()), int64(2*page), page, syscall.PROT_READ, syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(clean)
	if clean[0] != 'a' {
		t.Fatal("the clean mapping does not hold the file")
	}
	at := func(b []byte) uint64 { return uint64(uintptr(unsafe.Pointer(&b[0]))) }

	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Skip("no /proc/self/maps:", err)
	}
	pagemap, err := os.Open("/proc/self/pagemap")
	if err != nil {
		t.Skip("no /proc/self/pagemap:", err)
	}
	defer pagemap.Close()
	// Both are read-only mappings of the file; only one is clean.
	var got []mapping
	for _, m := range droppable(maps, at(written)) {
		if isClean(pagemap, m) {
			got = append(got, m)
		}
	}
	if len(got) != 1 || got[0].lo != at(clean) || got[0].perms != "r--p" {
		t.Fatalf("clean mappings = %+v; want the one at %#x alone", got, at(clean))
	}
	for _, m := range got {
		if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, uintptr(m.lo), uintptr(m.hi-m.lo), syscall.MADV_DONTNEED); e != 0 {
			t.Fatal("madvise:", e)
		}
	}
	if residentKB(t, at(clean)) != 0 {
		t.Error("the clean mapping is still resident after the drop")
	}
	if written[0] != 'X' || clean[0] != 'a' {
		t.Fatalf("after the drop: written page holds %q, clean page %q", written[0], clean[0])
	}
}

// TestDroppable: of a process's mappings, only the read-only ones of the
// file that holds the code are candidates; lines that cannot be read are
// none.
func TestDroppable(t *testing.T) {
	maps := `00400000-01343000 r-xp 00000000 fe:00 42   /bin/kubectl-mesh
01343000-025c8000 r--p 00f43000 fe:00 42   /bin/kubectl-mesh
025c8000-026bc000 rw-p 021c8000 fe:00 42   /bin/kubectl-mesh
026bc000-0470a000 rw-p 00000000 00:00 0
0470a000-0470b000 r--p 00000000 00:00 0
0470b000-0470c000 r--p 00000000 fe:00 43   /usr/lib/other
zz-0470f000 r--p 00000000 fe:00 42   /bin/kubectl-mesh
0470f000-0470e000 r--p 00000000 fe:00 42   /bin/kubectl-mesh
0470f000-04710000 r--p 00000000
7ffd16a8f000-7ffd16ab0000 rw-p 00000000 00:00 0                          [stack]
`
	got := droppable([]byte(maps), 0x500000)
	want := []mapping{
		{lo: 0x400000, hi: 0x1343000, perms: "r-xp", file: "fe:00 42"},
		{lo: 0x1343000, hi: 0x25c8000, perms: "r--p", file: "fe:00 42"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("droppable = %+v\nwant %+v", got, want)
	}
	for _, pc := range []uint64{0x800000000, 0x0470a800, 0x7ffd16a8f000} {
		if got := droppable([]byte(maps), pc); got != nil {
			t.Fatalf("code at %#x, not in a mapping of a file: droppable = %+v, want none", pc, got)
		}
	}
}
