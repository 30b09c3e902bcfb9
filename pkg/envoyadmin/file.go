package envoyadmin

import (
	"fmt"
	"io"
	"os"
)

// ReadFile returns the contents of a dump file, "-" meaning in. Large files
// are memory-mapped where the platform allows, so their bytes stay out of
// the Go heap; release must be called when the data is no longer used.
func ReadFile(path string, in io.Reader) (data []byte, release func(), err error) {
	if path == "-" {
		data, err = io.ReadAll(in)
		if err != nil {
			return nil, nil, fmt.Errorf("read standard input: %w", err)
		}
		return data, func() {}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if st.IsDir() {
		return nil, nil, fmt.Errorf("%s is a directory, not a dump file", path)
	}
	if data, release, ok := mmapFile(f, st.Size()); ok {
		return data, release, nil
	}
	data, err = io.ReadAll(f)
	if err != nil {
		return nil, nil, err
	}
	return data, func() {}, nil
}
