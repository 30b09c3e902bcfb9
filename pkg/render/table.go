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
	// status marks the columns coloured by what they say (STATE, STATUS,
	// VALID CERT), when colour is on.
	status []bool
	header bool
}

// TableOptions are how a table is printed: -o wide, --no-headers, and
// colour (on a terminal only, never with NO_COLOR or --no-color).
type TableOptions struct {
	Wide      bool
	NoHeaders bool
	Color     bool
}

// statusColumns are the columns whose words colour marks.
var statusColumns = map[string]bool{"STATE": true, "STATUS": true, "VALID CERT": true,
	"CDS": true, "LDS": true, "EDS": true, "RDS": true, "ECDS": true}

// NewTable starts a table on w with the given column names.
func NewTable(w io.Writer, opts TableOptions, columns ...string) *Table {
	out := bufio.NewWriterSize(w, 64<<10)
	t := &Table{tw: printers.GetNewTabWriter(out), out: out}
	if opts.Color {
		t.status = make([]bool, len(columns))
		for i, c := range columns {
			t.status[i] = statusColumns[c]
		}
	}
	if !opts.NoHeaders {
		t.header = true
		t.Row(columns...)
		t.header = false
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
		if i < len(t.status) && t.status[i] {
			// Every cell of a coloured column, the header too, carries
			// escape sequences of the same length, so the tab writer,
			// which counts bytes, still lines the columns up.
			code := colorDefault
			if !t.header {
				code = statusColor(c)
			}
			t.buf.WriteString(code)
			t.buf.WriteString(cellSafe.Replace(c))
			t.buf.WriteString(colorReset)
			continue
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

// ANSI colours, all five bytes long (see Row); colorReset ends each.
const (
	colorRed     = "\x1b[31m"
	colorYellow  = "\x1b[33m"
	colorDefault = "\x1b[39m"
	colorReset   = "\x1b[0m"
)

// statusColor is the colour of a status word: red for what is broken or
// refused, yellow for what is not yet (or no longer) in effect.
func statusColor(word string) string {
	word, _, _ = strings.Cut(word, " ") // "STALE 5s"
	switch word {
	case "ERROR", "UNHEALTHY", "TIMEOUT", "false":
		return colorRed
	case "WARMING", "DRAINING", "DEGRADED", "STALE":
		return colorYellow
	}
	return colorDefault
}
