package render

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"k8s.io/cli-runtime/pkg/printers"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// TestLayoutIsKubectls: the table's own layout writes exactly what
// kubectl's tab writer (printers.GetNewTabWriter) writes for the same
// cells: random widths, empty cells, multi-byte runes, coloured status
// columns, one to six columns, small tables and large ones (laid out on
// one to four cores).
func TestLayoutIsKubectls(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	words := []string{"", "-", "a", "ACTIVE", "WARMING", "outbound|9080||reviews.default.svc.cluster.local", "10.244.1.4:15006",
		"Route: 9080", "ναι", "日本語", "x y", "ERROR", "true", strings.Repeat("w", 40)}
	for n := range 500 {
		cols := 1 + r.IntN(6)
		var names []string
		for i := range cols {
			names = append(names, []string{"NAME", "STATE", "ADDRESS", "STATUS", "VALID CERT", "DESTINATION"}[(i+n)%6])
		}
		color := n%2 == 0
		nrows := r.IntN(8)
		if n%50 == 0 { // large: measured and formatted on several cores
			nrows = layoutRows*(1+n%4) + r.IntN(layoutRows)
		}
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1 + n%4))
		var rows [][]string
		for range nrows {
			var row []string
			for range cols {
				row = append(row, words[r.IntN(len(words))])
			}
			rows = append(rows, row)
		}
		if nrows > 100 && cols > 1 {
			// One cell wider than all the others, in one row: every
			// share of the rows must count it.
			rows[r.IntN(nrows)][r.IntN(cols-1)] = strings.Repeat("W", 60+r.IntN(20))
		}
		var got bytes.Buffer
		tab := NewTable(&got, TableOptions{Color: color}, names...)
		for _, row := range rows {
			tab.Row(row...)
		}
		if err := tab.Flush(); err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		tw := printers.GetNewTabWriter(&want)
		for k, row := range append([][]string{names}, rows...) {
			var line []string
			for i, c := range row {
				if color && statusColumns[names[i]] {
					code := colorDefault
					if k > 0 {
						code = statusColor(c)
					}
					c = code + c + colorReset
				}
				line = append(line, c)
			}
			_, _ = io.WriteString(tw, strings.Join(line, "\t")+"\n")
		}
		_ = tw.Flush()
		if got.String() != want.String() {
			if nrows > 100 {
				t.Fatalf("table %d of %d rows on %d cores: not what kubectl's tab writer writes", n, nrows, runtime.GOMAXPROCS(0))
			}
			t.Fatalf("table %d:\n got %q\nwant %q", n, got.String(), want.String())
		}
	}
}

// TestRowsOfIsRowByRow: rows made on several cores (RowsOf) print exactly
// as the same rows added one by one, in item order, for items of no, one
// and many rows (each a row, the rows written in place; each a row but one
// of none or of two; 0 to 3 each), on one to four cores, below and above
// rowsMin items, after rows added one by one; a tab or newline in a cell
// is made safe either way.
func TestRowsOfIsRowByRow(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, rowsMin - 1, rowsMin, 2*rowsMin + 7, 5000} {
		for shape := range 4 {
			items := make([][][]string, n)
			odd := r.IntN(max(n, 1))
			for i := range items {
				count := 1
				switch {
				case shape == 1 && i == odd:
					count = 0
				case shape == 2 && i == odd:
					count = 2
				case shape == 3:
					count = r.IntN(4)
				}
				for range count {
					items[i] = append(items[i], []string{"item " + strconv.Itoa(i), strings.Repeat("x", r.IntN(30)), "a\tb\nc"})
				}
			}
			var want bytes.Buffer
			seq := NewTable(&want, TableOptions{}, "A", "B", "C")
			seq.Row("before", "", "")
			for _, rows := range items {
				for _, row := range rows {
					seq.Row(row...)
				}
			}
			if err := seq.Flush(); err != nil {
				t.Fatal(err)
			}
			for _, cores := range []int{1, 2, 3, 4} {
				old := runtime.GOMAXPROCS(cores)
				var got bytes.Buffer
				par := NewTable(&got, TableOptions{}, "A", "B", "C")
				par.Row("before", "", "")
				par.RowsOf(n, func(i int, r *Rows) {
					for _, cells := range items[i] {
						r.Row(cells...)
					}
				})
				err := par.Flush()
				runtime.GOMAXPROCS(old)
				if err != nil {
					t.Fatal(err)
				}
				if got.String() != want.String() {
					t.Fatalf("%d items (shape %d) on %d cores: rows made on several cores print otherwise than one by one", n, shape, cores)
				}
			}
		}
	}
}

// TestWeightedIsSprintf: weighted clusters are written as the plain
// formatting writes them ("%s %s%%" of each name and its share as
// FormatFloat's shortest form, joined by ", "), for random weights and
// totals, whole shares and not, and no total.
func TestWeightedIsSprintf(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for range 20000 {
		ws := make([]xds.WeightedCluster, 1+r.IntN(4))
		for i := range ws {
			ws[i] = xds.WeightedCluster{Name: "outbound|80|v" + strconv.Itoa(i) + "|reviews", Weight: uint32(r.IntN(3) * r.IntN(1<<(r.IntN(5)*8)))}
		}
		total := uint32(0)
		switch r.IntN(3) {
		case 0:
			total = uint32(1 + r.IntN(1000))
		case 1:
			total = uint32(r.Uint32())
		}
		sum := total
		if sum == 0 {
			for _, w := range ws {
				sum += w.Weight
			}
		}
		var parts []string
		for _, w := range ws {
			if sum == 0 {
				parts = append(parts, w.Name)
				continue
			}
			parts = append(parts, fmt.Sprintf("%s %s%%", w.Name, strconv.FormatFloat(float64(w.Weight)*100/float64(sum), 'f', -1, 64)))
		}
		if got, want := weighted(ws, total), strings.Join(parts, ", "); got != want {
			t.Fatalf("weighted(%v, %d) = %q, want %q", ws, total, got, want)
		}
	}
}

// TestLayoutOfEmptyRows: rows without cells, first or anywhere, in a
// table large enough to be laid out on several cores, are laid out there
// as on one core (no command writes one; none may crash the layout).
func TestLayoutOfEmptyRows(t *testing.T) {
	lay := func(cores int) string {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(cores))
		var out bytes.Buffer
		tab := NewTable(&out, TableOptions{NoHeaders: true})
		for i := range 3 * layoutRows {
			if i%7 == 0 {
				tab.Row()
				continue
			}
			tab.Row("a"+strconv.Itoa(i), "b")
		}
		if err := tab.Flush(); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	if one, two := lay(1), lay(2); one != two || !strings.HasPrefix(one, "\n") {
		t.Fatal("rows without cells are laid out otherwise on two cores than on one")
	}
}

// TestCellChecksAreTheByteLoops: the word-at-a-time width is
// utf8.RuneCountInString, and a cell said not to break lines holds no tab
// or line feed, on random strings of ASCII, control bytes, multi-byte
// runes and invalid UTF-8, at every length around the word size.
func TestCellChecksAreTheByteLoops(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	pieces := []string{"a", "Z", " ", "\t", "\n", "\x0b", "\x00", "\x7f", "é", "…", "日本", "\xff", "\xc3", "🙂", "outbound|9080||"}
	for range 100000 {
		var b strings.Builder
		for range r.IntN(24) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		s := b.String()
		if got, want := textWidth(s), utf8.RuneCountInString(s); got != want {
			t.Fatalf("textWidth(%q) = %d, want %d", s, got, want)
		}
		if strings.ContainsAny(s, "\t\n") && !mayBreakLine(s) {
			t.Fatalf("mayBreakLine(%q) = false", s)
		}
		if !strings.ContainsAny(s, "\t\n\x00\x01\x02\x03\x04\x05\x06\x07\x08") && mayBreakLine(s) {
			t.Fatalf("mayBreakLine(%q) = true for a cell without control bytes", s)
		}
	}
}

// TestEndpointsSayAnInvalidWeight: a host whose weight Envoy rejects is
// shown with what is written, cut short, never as a weight.
func TestEndpointsSayAnInvalidWeight(t *testing.T) {
	var b strings.Builder
	es := []*xds.Endpoint{
		{Address: "10.0.0.1:80", Cluster: "c", Health: "HEALTHY", Weight: 3},
		{Address: "10.0.0.2:80", Cluster: "c", Health: "HEALTHY", WeightInvalid: "0"},
		{Address: "10.0.0.3:80", Cluster: "c", Health: "HEALTHY", WeightInvalid: `{"value": "ééééééééééééééééééé"}`},
	}
	if err := Endpoints(&b, es, TableOptions{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	for i, want := range []string{"   3   ", "   INVALID 0   ", `   INVALID {"value": "ééééé...   `} {
		if !strings.Contains(lines[i+1], want) {
			t.Errorf("row %d: %q does not show %q", i, lines[i+1], want)
		}
	}
}
