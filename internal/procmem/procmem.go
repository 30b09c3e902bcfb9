// Package procmem reads this process's memory maps (Linux /proc), for
// tests that check what a command keeps resident.
package procmem

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// RssKB is the resident size, in kB, of the mapping that holds address a:
// its Rss line in /proc/self/smaps (pages mapped into this process, not
// the page cache). An error when smaps cannot be read or no mapping holds a.
func RssKB(a uintptr) (int, error) {
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return 0, err
	}
	in := false
	for line := range bytes.Lines(smaps) {
		f := bytes.Fields(line)
		if len(f) == 0 {
			continue
		}
		if lo, hi, ok := bytes.Cut(f[0], []byte("-")); ok && !bytes.HasSuffix(f[0], []byte(":")) {
			l, _ := strconv.ParseUint(string(lo), 16, 64)
			h, _ := strconv.ParseUint(string(hi), 16, 64)
			in = uint64(l) <= uint64(a) && uint64(a) < h
			continue
		}
		if in && string(f[0]) == "Rss:" {
			return strconv.Atoi(string(f[1]))
		}
	}
	return 0, fmt.Errorf("no mapping holds %#x", a)
}
