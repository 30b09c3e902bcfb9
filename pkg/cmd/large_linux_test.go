package cmd

import (
	"github.com/kubectl-mesh/kubectl-mesh/internal/procmem"
	"testing"
	"unsafe"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// mappedKB is the resident size of this process's mapping of data:
// pages of the file mapped in, not the page cache.
func mappedKB(t *testing.T, data []byte) int {
	t.Helper()
	kb, err := procmem.RssKB(uintptr(unsafe.Pointer(&data[0])))
	if err != nil {
		t.Skip(err)
	}
	return kb
}

// TestLoadLetsGoOfTheFile: a mapped 17 MB dump is checked and its
// endpoints and clusters read without the file staying mapped in whole:
// the check and the readers let go of what they passed (in batches of a
// few MB). The same load with letting go turned off keeps the file in, so
// the measure can tell. (After the check alone, finding the sections
// maps a little of each: on a filesystem with large folios, up to 2 MB a
// touch, so only the figure after reading is held to a bound.)
func TestLoadLetsGoOfTheFile(t *testing.T) {
	size := 0
	for _, evict := range []bool{true, false} {
		in, _ := mappedCopy(t)
		size = len(in.Data) >> 10
		in.Evict(0, len(in.Data))
		if !evict {
			in.Evict = func(int, int) {}
		}
		dumps, err := envoyadmin.LoadInput(in)
		if err != nil {
			t.Fatal(err)
		}
		loaded := mappedKB(t, in.Data)
		cfg := xds.New(dumps[0])
		if len(cfg.Endpoints()) == 0 || len(cfg.Clusters()) == 0 {
			t.Fatal("no endpoints or clusters read")
		}
		read := mappedKB(t, in.Data)
		t.Logf("letting go %v: %d kB of %d kB mapped after the check, %d kB after reading", evict, loaded, size, read)
		if evict && read > size/2 {
			t.Errorf("%d kB of the %d kB file mapped after reading, want under half", read, size)
		}
		if !evict && loaded < size*2/3 {
			t.Errorf("without letting go, %d kB of %d kB mapped: the measure does not see the file", loaded, size)
		}
	}
}
