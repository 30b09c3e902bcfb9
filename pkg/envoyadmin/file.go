package envoyadmin

import (
	"fmt"
	"io"
	"os"
)

// Input is the bytes of a dump file. Large files are memory-mapped where
// the platform allows, so their bytes stay out of the Go heap and pages not
// in use can be handed back to the page cache (Evict).
//
// A mapping is never unmapped: the model keeps slices and values that point
// into it (raw JSON for -o json, names read in place), and no convention
// about who may still hold one is needed when nothing is ever released. The
// address space goes with the process; the pages themselves are handed back
// behind the scan and the decoders, so what stays resident is a window.
// A file that shrinks while mapped faults on the lost pages: Guard turns
// that fault into an error.
type Input struct {
	Data []byte
	// Evict lets go of the resident pages of Data[from:to]: reading them
	// again brings them back from the file. It does nothing for data that
	// is not mapped.
	Evict func(from, to int)
	// Prefetch makes the pages of Data[from:to] resident ahead of use.
	Prefetch func(from, to int)
	// Peek, when set, is a copy of Data[from:to] read from the file
	// without mapping it, into dst when it has room, or nil (see
	// jsonscan.Pages).
	Peek func(dst []byte, from, to int) []byte
	// Early, when set, reads the endpoint assignments while the input is
	// loaded (see ReadEarly).
	Early Early
}

// ReadFile reads a dump file, "-" meaning in.
func ReadFile(path string, in io.Reader) (*Input, error) {
	noop := &Input{Evict: func(int, int) {}, Prefetch: func(int, int) {}}
	if path == "-" {
		data, err := io.ReadAll(in)
		if err != nil {
			return nil, fmt.Errorf("read standard input: %w", err)
		}
		noop.Data = data
		return noop, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%s is a directory, not a dump file", path)
	}
	if in, ok := mmapFile(f, st.Size()); ok {
		// The file stays open for Peek (os.File closes itself once
		// unreachable), as the mapping does for as long as it lives.
		return in, nil
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	noop.Data = data
	return noop, nil
}
