//go:build unix

package envoyadmin

import (
	"os"

	"golang.org/x/sys/unix"
)

// mmapMin is the size below which reading is as cheap as mapping.
const mmapMin = 1 << 20

func mmapFile(f *os.File, size int64) (*Input, bool) {
	if size < mmapMin || int64(int(size)) != size {
		return nil, false
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_PRIVATE)
	if err != nil {
		return nil, false
	}
	page := os.Getpagesize()
	evict := func(from, to int) {
		// Whole pages inside [from, to) only: a page shared with data in use
		// would be faulted right back.
		from = (from + page - 1) / page * page
		to = min(to, len(data)) / page * page
		if from < to {
			_ = unix.Madvise(data[from:to], unix.MADV_DONTNEED)
		}
	}
	prefetch := func(from, to int) {
		from = from / page * page
		to = min(to, len(data))
		if from < to {
			populate(data[from:to])
		}
	}
	peek := func(dst []byte, from, to int) []byte {
		if cap(dst) < to-from {
			dst = make([]byte, to-from)
		}
		b := dst[:to-from]
		if n, _ := f.ReadAt(b, int64(from)); n != len(b) {
			return nil
		}
		return b
	}
	return &Input{Data: data, Evict: evict, Prefetch: prefetch, Peek: peek}, true
}
