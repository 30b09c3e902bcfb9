// Package render writes what commands show: kubectl-style tables (plain and
// wide), config dumps as JSON or YAML, and text. It formats; it never
// fetches, parses or decides.
package render

import (
	"bufio"
	"io"
	"strings"

	"k8s.io/cli-runtime/pkg/printers"
)

// Table writes rows under a header with kubectl's column layout.
type Table struct {
	tw interface {
		io.Writer
		Flush() error
	}
	out *bufio.Writer // the tab writer writes cell by cell: batch its writes
	buf strings.Builder
}

// TableOptions are how a table is printed: -o wide, --no-headers.
type TableOptions struct {
	Wide      bool
	NoHeaders bool
}

// NewTable starts a table on w with the given column names.
func NewTable(w io.Writer, opts TableOptions, columns ...string) *Table {
	out := bufio.NewWriterSize(w, 64<<10)
	t := &Table{tw: printers.GetNewTabWriter(out), out: out}
	if !opts.NoHeaders {
		t.Row(columns...)
	}
	return t
}

// Row adds one row; empty cells are written as they are.
func (t *Table) Row(cells ...string) {
	t.buf.Reset()
	for i, c := range cells {
		if i > 0 {
			t.buf.WriteByte('\t')
		}
		t.buf.WriteString(cellSafe.Replace(c))
	}
	t.buf.WriteByte('\n')
	_, _ = io.WriteString(t.tw, t.buf.String())
}

// Flush writes the table out.
func (t *Table) Flush() error {
	if err := t.tw.Flush(); err != nil {
		return err
	}
	return t.out.Flush()
}

// cellSafe keeps a cell on its line: a tab or newline would break the columns.
var cellSafe = strings.NewReplacer("\t", " ", "\n", " ")

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
