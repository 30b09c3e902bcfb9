// Package render writes what commands show: kubectl-style tables (plain and
// wide), config dumps as JSON or YAML, and text. It formats; it never
// fetches, parses or decides.
package render

import (
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
	buf strings.Builder
}

// NewTable starts a table on w with the given column names.
func NewTable(w io.Writer, columns ...string) *Table {
	t := &Table{tw: printers.GetNewTabWriter(w)}
	t.Row(columns...)
	return t
}

// Row adds one row; empty cells are written as they are.
func (t *Table) Row(cells ...string) {
	t.buf.Reset()
	for i, c := range cells {
		if i > 0 {
			t.buf.WriteByte('\t')
		}
		// A tab or newline inside a cell would break the columns.
		t.buf.WriteString(strings.NewReplacer("\t", " ", "\n", " ").Replace(c))
	}
	t.buf.WriteByte('\n')
	_, _ = io.WriteString(t.tw, t.buf.String())
}

// Flush writes the table out.
func (t *Table) Flush() error { return t.tw.Flush() }

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
