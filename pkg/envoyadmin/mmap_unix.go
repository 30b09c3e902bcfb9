//go:build unix

package envoyadmin

import (
	"os"
	"syscall"
)

// mmapMin is the size below which reading is as cheap as mapping.
const mmapMin = 1 << 20

func mmapFile(f *os.File, size int64) ([]byte, func(), bool) {
	if size < mmapMin || int64(int(size)) != size {
		return nil, nil, false
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_PRIVATE)
	if err != nil {
		return nil, nil, false
	}
	return data, func() { _ = syscall.Munmap(data) }, true
}
