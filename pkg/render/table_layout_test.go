package render

import (
	"bytes"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/printers"
)

// TestLayoutIsKubectls: the table's own layout writes exactly what
// kubectl's tab writer (printers.GetNewTabWriter) writes for the same
// cells: random widths, empty cells, multi-byte runes, coloured status
// columns, one to six columns.
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
		var rows [][]string
		for range r.IntN(8) {
			var row []string
			for range cols {
				row = append(row, words[r.IntN(len(words))])
			}
			rows = append(rows, row)
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
			t.Fatalf("table %d:\n got %q\nwant %q", n, got.String(), want.String())
		}
	}
}
