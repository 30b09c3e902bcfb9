package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"reflect"
	"strconv"
	"syscall"
)

// dropStartupPages lets go of the pages of the binary's code and read-only
// data that starting the process mapped, once it has started.
//
// Package initialisation (the Envoy and Kubernetes API types registering
// themselves, client-go, gRPC) runs code in nearly every part of the
// binary, and the kernel maps each page touched with its neighbours (fault
// around: 64 KB): after start-up about 22 MB of a 36 MB binary is resident,
// while a command runs a small part of it. Those pages are clean copies of
// the file, as the kernel's own reclaim treats them: dropping them loses
// nothing, and what the command runs afterwards is mapped again from the
// page cache (a minor fault per 64 KB). The peak memory of a listing is its
// data plus the code it runs, not plus all of the code that ran once.
//
// Only read-only mappings of the executable's own file are dropped, and
// only those holding no private copy of a page (a relocated page of a
// position-independent build, a debugger's breakpoint): dropping such a
// page would bring back the file's bytes in its place.
func dropStartupPages() {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return
	}
	pagemap, err := os.Open("/proc/self/pagemap")
	if err != nil {
		return
	}
	defer pagemap.Close()
	for _, m := range droppable(maps, uint64(reflect.ValueOf(dropStartupPages).Pointer())) {
		if !isClean(pagemap, m) {
			continue
		}
		// Errors (a locked mapping) leave the pages where they are.
		_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, uintptr(m.lo), uintptr(m.hi-m.lo), syscall.MADV_DONTNEED)
	}
}

// mapping is one line of /proc/self/maps.
type mapping struct {
	lo, hi uint64
	perms  string
	file   string // device and inode; "" for anonymous memory
}

// droppable returns the mappings of maps that may be dropped if clean:
// read-only (r-xp, r--p), of the same file as the mapping holding the
// address pc (the binary's code).
func droppable(maps []byte, pc uint64) []mapping {
	ms := parseMaps(maps)
	exe := ""
	for _, m := range ms {
		if m.lo <= pc && pc < m.hi {
			exe = m.file
		}
	}
	if exe == "" {
		return nil // the code is not mapped from a file: nothing to read back
	}
	var out []mapping
	for _, m := range ms {
		if m.file == exe && (m.perms == "r-xp" || m.perms == "r--p") {
			out = append(out, m)
		}
	}
	return out
}

// parseMaps reads the lines of /proc/PID/maps: "lo-hi perms offset dev
// inode [path]". A line it cannot read holds no address, of no file.
func parseMaps(maps []byte) []mapping {
	var ms []mapping
	for line := range bytes.Lines(maps) {
		f := bytes.Fields(line)
		if len(f) < 5 {
			continue
		}
		lo, hi, ok := bytes.Cut(f[0], []byte("-"))
		if !ok {
			continue
		}
		l, err1 := strconv.ParseUint(string(lo), 16, 64)
		h, err2 := strconv.ParseUint(string(hi), 16, 64)
		if err1 != nil || err2 != nil || l >= h {
			continue
		}
		m := mapping{lo: l, hi: h, perms: string(f[1])}
		if string(f[4]) != "0" {
			m.file = string(f[3]) + " " + string(f[4])
		}
		ms = append(ms, m)
	}
	return ms
}

// isClean reports whether every resident page of m is the file's own, from
// the mapping's entries in /proc/self/pagemap (proc(5): bit 63 present,
// bit 61 a page of a file or shared memory; a private copy of a file's
// page is neither of the last). Unreadable means not clean.
func isClean(pagemap *os.File, m mapping) bool {
	const (
		present  = 1 << 63
		filePage = 1 << 61
		chunk    = 4096 // entries read at once
	)
	page := uint64(os.Getpagesize())
	buf := make([]byte, chunk*8)
	for at := m.lo / page; at < m.hi/page; at += chunk {
		n := min(chunk, m.hi/page-at)
		if _, err := pagemap.ReadAt(buf[:n*8], int64(at*8)); err != nil {
			return false
		}
		for i := range n {
			if e := binary.NativeEndian.Uint64(buf[i*8:]); e&present != 0 && e&filePage == 0 {
				return false
			}
		}
	}
	return true
}
