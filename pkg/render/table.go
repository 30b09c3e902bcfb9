// Package render writes what commands show: kubectl-style tables (plain and
// wide), config dumps as JSON or YAML, and text. It formats; it never
// fetches, parses or decides.
package render

import (
	"bufio"
	"io"
	"strings"
	"unicode/utf8"

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
	// width, when set, is the terminal's: rows are kept until Flush so
	// the widest columns can be cut to fit it.
	width int
	rows  [][]string
	// headerKept: rows[0] is the header, not yet written.
	headerKept bool
	cuttable   []bool
}

// TableOptions are how a table is printed: -o wide, --no-headers, and
// colour (on a terminal only, never with NO_COLOR or --no-color).
type TableOptions struct {
	Wide      bool
	NoHeaders bool
	Color     bool
	// Width is the terminal's width in columns: a table wider than it has
	// its widest columns cut, each cut cell ending in "…". 0 (piped
	// output) and Wide leave every cell whole.
	Width int
}

// statusColumns are the columns whose words colour marks.
var statusColumns = map[string]bool{"STATE": true, "STATUS": true, "VALID CERT": true,
	"CDS": true, "LDS": true, "EDS": true, "RDS": true, "ECDS": true, "WDS": true, "AUTHZ": true}

// NewTable starts a table on w with the given column names.
func NewTable(w io.Writer, opts TableOptions, columns ...string) *Table {
	out := bufio.NewWriterSize(w, 64<<10)
	t := &Table{tw: printers.GetNewTabWriter(out), out: out}
	if !opts.Wide && opts.Width > 0 {
		t.width = opts.Width
		t.cuttable = make([]bool, len(columns))
		for i, c := range columns {
			t.cuttable[i] = freeText[c]
		}
	}
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
		t.headerKept = t.width > 0
	}
	return t
}

// Row adds one row; empty cells are written as they are.
func (t *Table) Row(cells ...string) {
	if t.width > 0 {
		t.rows = append(t.rows, append([]string(nil), cells...))
		return
	}
	t.write(cells)
}

func (t *Table) write(cells []string) {
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
	if t.width > 0 {
		t.fit()
	}
	if err := t.tw.Flush(); err != nil {
		return err
	}
	return t.out.Flush()
}

// freeText are the columns fitting may cut: names, matches and
// destinations, long and read from the left. Addresses, ports, states,
// versions, times and serial numbers are never cut: a cut one misleads.
var freeText = map[string]bool{
	"NAME": true, "RESOURCE NAME": true, "DOMAINS": true, "MATCH": true, "DESTINATION": true,
	"CLUSTER": true, "SERVICE FQDN": true, "VIRTUAL SERVICE": true, "DESTINATION RULE": true,
	"VHOST NAME": true, "ROUTE": true, "PATH": true, "AUTHORITY": true, "UPSTREAM CLUSTER": true,
	"DETAILS": true, "ERROR": true, "REWRITE": true, "ECDS NAME": true, "EDS SERVICE": true,
	"LISTENER FILTERS": true, "ISSUER": true, "IDENTITY": true, "SNI": true, "HOSTNAME": true,
	"VALUE": true, "ACTION": true, "CIRCUIT BREAKERS": true, "FILE": true, "UPSTREAM FAILURE": true,
	"POD NAME": true, "RULES": true, "WHY": true, "WAYPOINT WHY": true, "CERTIFICATE NAME": true, "REMOTE TARGET": true,
}

// Cuttable tells whether fitting a table to the terminal may cut the cells
// of a column.
func Cuttable(column string) bool { return freeText[column] }

// Column layout of kubectl's tab writer (printers.GetNewTabWriter).
const (
	cellMinWidth = 6
	cellPadding  = 3
	// cutMinWidth is as narrow as fitting makes a column (or its header's
	// width, if wider): narrower, names stop telling rows apart.
	cutMinWidth = 12
)

// fit writes the kept rows, the widest columns cut until the table fits
// the terminal's width (or every column is at its narrowest).
func (t *Table) fit() {
	rows := t.rows
	t.rows = nil
	var widths, floor []int
	for r, row := range rows {
		for i, c := range row {
			if i == len(widths) {
				widths = append(widths, 0)
				floor = append(floor, cutMinWidth)
			}
			n := utf8.RuneCountInString(cellSafe.Replace(c))
			widths[i] = max(widths[i], n)
			if r == 0 && t.headerKept || i >= len(t.cuttable) || !t.cuttable[i] {
				floor[i] = max(floor[i], n) // headers and all but free text stay whole
			}
		}
	}
	// The tab writer pads every column but the last to at least
	// cellMinWidth, padding included.
	total := 0
	for i, w := range widths {
		if i == len(widths)-1 {
			total += w
			break
		}
		total += max(w+cellPadding, cellMinWidth)
	}
	// Cut one character at a time from the widest column that may be cut:
	// the columns of free text (names, matches, destinations) go first
	// and the narrow ones are left alone.
	cut := append([]int(nil), widths...)
	for total > t.width {
		widest := -1
		for i, w := range cut {
			if w > floor[i] && (widest < 0 || w > cut[widest]) {
				widest = i
			}
		}
		if widest < 0 {
			break
		}
		cut[widest]-- // wider than cutMinWidth: the line loses one character
		total--
	}
	for r, row := range rows {
		for i, c := range row {
			if i < len(cut) && cut[i] < widths[i] {
				row[i] = ellipsize(cellSafe.Replace(c), cut[i])
			}
		}
		t.header = r == 0 && t.headerKept
		t.write(row)
	}
	t.header, t.headerKept = false, false
}

// ellipsize cuts s to n characters, the last an ellipsis.
func ellipsize(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, k := 0, 0
	for j := range s {
		if k == n-1 {
			i = j
			break
		}
		k++
	}
	return s[:i] + "…"
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
