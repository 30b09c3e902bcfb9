package cmd

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/render"
)

// On a terminal, a table fits its width as far as its free-text columns
// allow, and each cut cell is the start of the whole cell followed by "…".
// Piped output and -o wide are never cut.
func TestTablesFitTheTerminal(t *testing.T) {
	for _, tc := range [][]string{
		{"routes", "-f", fixture("istio/istioctl-golden/proxyconfig-all/config_dump.json")},
		{"clusters", "-f", fixture("istio/istioctl-golden/proxyconfig-all/config_dump.json")},
		{"listeners", "-f", fixture("istio/istioctl-golden/proxyconfig-all/config_dump.json")},
		{"endpoints", "-f", fixture("istio/istioctl-golden/endpoint/configdump.json")},
		{"secrets", "-f", fixture("istio/istioctl-golden/secret/istio/config_dump.json")},
		{"routes", "-f", fixture("navigator/config_dump/envoy_config_dump.json")},
		{"clusters", "-f", fixture("kuma/admin-sanitize/full_config.json")},
	} {
		plain, _, err := run(t, "", tc...)
		if err != nil {
			t.Fatalf("%v: %v", tc, err)
		}
		if got := ansi.ReplaceAllString(runOnTerminalWidth(t, 0, tc...), ""); got != plain {
			t.Errorf("%v: a terminal of unknown width changed the table", tc)
		}
		if got := ansi.ReplaceAllString(runOnTerminalWidth(t, 1000, tc...), ""); got != plain {
			t.Errorf("%v: a table narrower than the terminal was changed", tc)
		}
		wide, _, _ := run(t, "", append(tc, "-o", "wide")...)
		if got := ansi.ReplaceAllString(runOnTerminalWidth(t, 60, append(tc, "-o", "wide")...), ""); got != wide {
			t.Errorf("%v: -o wide was cut", tc)
		}
		whole := cells(plain)
		for _, width := range []int{60, 100, 140} {
			fitted := ansi.ReplaceAllString(runOnTerminalWidth(t, width, tc...), "")
			if afterTable(fitted) != afterTable(plain) {
				t.Errorf("%v at %d: what follows the table changed", tc, width)
			}
			got := cells(fitted)
			if len(got) != len(whole) {
				t.Fatalf("%v at %d: %d rows, piped %d", tc, width, len(got), len(whole))
			}
			cut := false
			for i := range got {
				for j := range got[i] {
					if got[i][j] == whole[i][j] {
						continue
					}
					cut = true
					prefix, ok := strings.CutSuffix(got[i][j], "…")
					if !ok || !strings.HasPrefix(whole[i][j], prefix) || !render.Cuttable(whole[0][j]) {
						t.Errorf("%v at %d, row %d: cell %q is not a cut of %q (column %s)", tc, width, i, got[i][j], whole[i][j], whole[0][j])
					}
				}
			}
			n, least := tableWidth(got), narrowest(whole)
			if n > max(width, least) {
				t.Errorf("%v at %d: %d wide, could be %d:\n%s", tc, width, n, max(width, least), fitted)
			}
			if !cut && tableWidth(whole) > width && least < tableWidth(whole) {
				t.Errorf("%v: nothing cut at width %d", tc, width)
			}
		}
	}
}

// cutMinWidthForTest is render's cutMinWidth: fitting cuts no column
// narrower, nor narrower than its header.
const cutMinWidthForTest = 12

var headerGap = regexp.MustCompile(`\S {3,}`)

// cells reads a table back into cells by where its header's columns start
// (the tab writer starts every cell of a column there), up to the first
// empty line.
func cells(out string) [][]string {
	lines := strings.Split(out, "\n")
	var starts []int
	for _, m := range headerGap.FindAllStringIndex(lines[0], -1) {
		starts = append(starts, utf8.RuneCountInString(lines[0][:m[1]]))
	}
	var rows [][]string
	for _, l := range lines {
		if l == "" {
			break
		}
		r := []rune(l)
		row := make([]string, 0, len(starts)+1)
		from := 0
		for _, s := range append(starts, len(r)) {
			row = append(row, strings.TrimRight(string(r[min(from, len(r)):min(s, len(r))]), " "))
			from = s
		}
		rows = append(rows, row)
	}
	return rows
}

// afterTable is what follows the table.
func afterTable(out string) string {
	_, after, _ := strings.Cut(out, "\n\n")
	return after
}

// tableWidth is how wide kubectl's tab writer lays cells out: every column
// but the last padded by three spaces to at least six characters.
func tableWidth(rows [][]string) int {
	return layout(rows, func(j, w int) int { return w })
}

// narrowest is how narrow fitting can make a table: its free-text columns
// (render.Cuttable) cut to 12 characters or their header's width.
func narrowest(rows [][]string) int {
	return layout(rows, func(j, w int) int {
		if !render.Cuttable(rows[0][j]) {
			return w
		}
		return min(w, max(cutMinWidthForTest, utf8.RuneCountInString(rows[0][j])))
	})
}

func layout(rows [][]string, narrow func(j, w int) int) int {
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for j, c := range r {
			widths[j] = max(widths[j], utf8.RuneCountInString(c))
		}
	}
	total := 0
	for j, w := range widths {
		w = narrow(j, w)
		if j == len(widths)-1 {
			total += w
		} else {
			total += max(w+3, 6)
		}
	}
	return total
}
