// Package render writes what commands show: kubectl-style tables (plain and
// wide), config dumps as JSON or YAML, and text. It formats; it never
// fetches, parses or decides.
package render

import (
	"bufio"
	"encoding/binary"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/kubectl-mesh/kubectl-mesh/internal/swar"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/fault"
)

// Table writes rows under a header with kubectl's column layout (that of
// printers.GetNewTabWriter: each column but the last as wide as its widest
// cell plus three spaces, at least six; widths counted in runes). The rows
// are kept until Flush, which lays them out in one pass: kubectl's tab
// writer keeps them too, cell by cell, at several times the cost.
type Table struct {
	out *bufio.Writer
	// status marks the columns coloured by what they say (STATE, STATUS,
	// VALID CERT), when colour is on.
	status []bool
	// width, when set, is the terminal's: the widest columns are cut to
	// fit it.
	width int
	Rows
	// headerKept: rows[0] is the header.
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
	t := &Table{out: bufio.NewWriterSize(w, 64<<10)}
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
		t.Row(columns...)
		t.headerKept = true
	}
	return t
}

// Rows are rows kept for layout: a Table's, or those RowsOf has an
// item's function add.
type Rows struct {
	rows [][]string
	slab []string
}

// Row adds one row; empty cells are written as they are. (A method of a
// type, not a function value: the cells of a call are then kept on the
// caller's stack, where a function value would take a slice on the heap
// for every row.)
func (s *Rows) Row(cells ...string) {
	// Rows are cut from slabs of cells: one allocation per few hundred
	// rows, not one per row.
	if len(s.slab)+len(cells) > cap(s.slab) {
		s.slab = make([]string, 0, max(4096, len(cells)))
	}
	start := len(s.slab)
	for _, c := range cells {
		if mayBreakLine(c) {
			c = cellSafe.Replace(c)
		}
		s.slab = append(s.slab, c)
	}
	s.rows = append(s.rows, s.slab[start:len(s.slab):len(s.slab)])
}

// rowsMin is the number of items from which RowsOf makes rows on several
// cores; rowsChunks is how many stretches of items each core takes, in
// turn, so that one stretch of long rows does not keep the others waiting.
const (
	rowsMin    = 256
	rowsChunks = 8
)

// RowsOf adds the rows of n items, in their order: rows(i, r) calls r.Row
// for each row of item i. The rows are made on all cores, so rows must
// only read what it is given. A memory fault in one (a mapped dump file
// that shrank) is raised again here, for the command's guard.
func (t *Table) RowsOf(n int, rows func(i int, r *Rows)) {
	workers := min(runtime.GOMAXPROCS(0), n/rowsMin)
	if workers < 2 {
		for i := range n {
			rows(i, &t.Rows)
		}
		return
	}
	per := (n + workers*rowsChunks - 1) / (workers * rowsChunks)
	parts := make([]Rows, (n+per-1)/per)
	// A row an item is the usual count: each part's rows are written in
	// place, in the table's own rows, while that holds (and are copied
	// into place when it does not).
	base := len(t.rows)
	t.rows = slices.Grow(t.rows, n)
	room := t.rows[:base+n][base:]
	bounds := func(k int) (lo, hi int) { return k * per, min(n, (k+1)*per) } // part k's items
	fault.Each(workers, len(parts), func(k int) {
		lo, hi := bounds(k)
		parts[k].rows = room[lo:lo:hi]
		for i := lo; i < hi; i++ {
			rows(i, &parts[k])
		}
	})
	inPlace := true
	for k, p := range parts {
		lo, hi := bounds(k)
		inPlace = inPlace && len(p.rows) == hi-lo && (hi == lo || &p.rows[0] == &room[lo])
	}
	if inPlace {
		t.rows = t.rows[:base+n]
		return
	}
	total := base
	for _, p := range parts {
		total += len(p.rows)
	}
	rowsNow := append(make([][]string, 0, total), t.rows[:base]...)
	for _, p := range parts {
		rowsNow = append(rowsNow, p.rows...)
	}
	t.rows = rowsNow
}

// Flush writes the table out.
func (t *Table) Flush() error {
	if t.width > 0 {
		t.fit()
	}
	t.layout()
	t.rows = nil
	return t.out.Flush()
}

// layout writes the rows in columns. A coloured column's cells, the
// header's too, all carry escape sequences of the same length, counted in
// its width as kubectl's tab writer counts them, so the columns line up.
// A large table is measured and formatted on all cores, in stretches of
// rows written in order: a round at a time, so that the output is never
// held whole.
func (t *Table) layout() {
	workers := max(1, min(runtime.GOMAXPROCS(0), len(t.rows)/layoutRows))
	// Widths: each core the widest cells of its share, then of theirs.
	share := (len(t.rows) + workers - 1) / workers
	each := make([][]int, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { each[w] = t.widths(t.rows[min(w*share, len(t.rows)):min((w+1)*share, len(t.rows))]) })
	}
	wg.Wait()
	var widths []int
	for _, ws := range each {
		for len(widths) < len(ws) {
			widths = append(widths, 0)
		}
		for i, w := range ws {
			widths[i] = max(widths[i], w)
		}
	}
	for i, w := range widths {
		widths[i] = max(w+cellPadding, cellMinWidth)
	}
	// Rows: a round formats a stretch on each core, then writes them in
	// order. A stretch is about layoutBytes of output.
	line := 1
	for _, w := range widths {
		line += w
	}
	if len(t.rows) > 0 && len(t.rows[0]) > 0 {
		line += len(t.rows[0][len(t.rows[0])-1])
	}
	per := min(max(layoutBytes/line, 64), layoutRows)
	bufs := make([][]byte, workers)
	for w := range bufs {
		bufs[w] = make([]byte, 0, min(per, len(t.rows))*line)
	}
	for from := 0; from < len(t.rows); from += workers * per {
		for w := range workers {
			lo := min(from+w*per, len(t.rows))
			hi := min(lo+per, len(t.rows))
			wg.Go(func() { bufs[w] = t.format(bufs[w][:0], t.rows[lo:hi], lo, widths) })
		}
		wg.Wait()
		for _, b := range bufs {
			_, _ = t.out.Write(b)
		}
	}
}

// layoutRows is the most rows formatted at once on one core, layoutBytes
// about the most output.
const (
	layoutRows  = 2048
	layoutBytes = 256 << 10
)

// widths is the widest cell of each column of rows but the last.
func (t *Table) widths(rows [][]string) []int {
	var widths []int
	for _, row := range rows {
		for i, c := range row[:max(len(row)-1, 0)] { // the last cell is no column
			if i == len(widths) {
				widths = append(widths, 0)
			}
			n := textWidth(c)
			if i < len(t.status) && t.status[i] {
				n += len(colorDefault) + len(colorReset)
			}
			widths[i] = max(widths[i], n)
		}
	}
	return widths
}

// format appends rows, the first being row first of the table, laid out
// in columns of the given widths, to b.
func (t *Table) format(b []byte, rows [][]string, first int, widths []int) []byte {
	const spaces = "                                                                "
	for r, row := range rows {
		header := first+r == 0 && t.headerKept
		for i, c := range row {
			n := textWidth(c)
			if i < len(t.status) && t.status[i] {
				code := colorDefault
				if !header {
					code = statusColor(c)
				}
				b = append(append(append(b, code...), c...), colorReset...)
				n += len(code) + len(colorReset)
			} else {
				b = append(b, c...)
			}
			if i < len(row)-1 {
				for pad := widths[i] - n; pad > 0; pad -= len(spaces) {
					b = append(b, spaces[:min(pad, len(spaces))]...)
				}
			}
		}
		b = append(b, '\n')
	}
	return b
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

// Column layout of kubectl's tab writer (printers.GetNewTabWriter:
// minimum width 6, padding 3, spaces).
const (
	cellMinWidth = 6
	cellPadding  = 3
	// cutMinWidth is as narrow as fitting makes a column (or its header's
	// width, if wider): narrower, names stop telling rows apart.
	cutMinWidth = 12
)

// fit cuts the widest columns of the kept rows until the table fits the
// terminal's width (or every column is at its narrowest).
func (t *Table) fit() {
	rows := t.rows
	var widths, floor []int
	for r, row := range rows {
		for i, c := range row {
			if i == len(widths) {
				widths = append(widths, 0)
				floor = append(floor, cutMinWidth)
			}
			n := textWidth(c)
			widths[i] = max(widths[i], n)
			if r == 0 && t.headerKept || i >= len(t.cuttable) || !t.cuttable[i] {
				floor[i] = max(floor[i], n) // headers and all but free text stay whole
			}
		}
	}
	// Every column but the last is padded to at least cellMinWidth,
	// padding included.
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
	for _, row := range rows {
		for i, c := range row {
			if i < len(cut) && cut[i] < widths[i] {
				row[i] = ellipsize(c, cut[i])
			}
		}
	}
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

// The checks below read a cell eight bytes at a time (internal/swar): a
// table of 50,000 endpoints has 300,000 cells, each measured twice.

// bytesOf is s's bytes, not copied, to be read only.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// mayBreakLine is false when s has no byte below 0x0b, so none that
// cellSafe replaces ('\t', '\n'); true may be either.
func mayBreakLine(s string) bool {
	b := bytesOf(s)
	i := 0
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		if swar.HasLess(w, 0x0b) != 0 {
			return true
		}
	}
	for ; i < len(b); i++ {
		if b[i] < 0x0b {
			return true
		}
	}
	return false
}

// textWidth is utf8.RuneCountInString(s), passing over ASCII eight bytes
// at a time.
func textWidth(s string) int {
	b := bytesOf(s)
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:])&swar.Highs != 0 {
			return i + utf8.RuneCount(b[i:])
		}
	}
	for ; i < len(b); i++ {
		if b[i] >= 0x80 {
			return i + utf8.RuneCount(b[i:])
		}
	}
	return len(b)
}

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
