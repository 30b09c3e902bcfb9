//go:build unix

package fault

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"sync/atomic"
	"syscall"
	"testing"
)

// TestEachRaisesAFaultOnTheCaller: a task that reads a lost page of a
// mapped file (the file was cut) does not kill the process: the fault is
// raised again on the goroutine that called Each, where a recover with
// faults turned into panics sees it.
func TestEachRaisesAFaultOnTheCaller(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cut")
	if err := os.WriteFile(path, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data, err := syscall.Mmap(int(f.Fd()), 0, 1<<20, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		t.Skip("no mmap here:", err)
	}
	defer syscall.Munmap(data)
	if err := os.Truncate(path, 4096); err != nil {
		t.Fatal(err)
	}
	got := func() (r any) {
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer func() { r = recover() }()
		var sink atomic.Int64
		Each(2, 8, func(k int) { sink.Add(int64(data[(k+1)*65536])) })
		return nil
	}()
	if _, ok := got.(Fault); !ok {
		t.Fatalf("recovered %v (%T), want the memory fault", got, got)
	}
}
