package cmd

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

const fixtures = "../../../shared/fixtures"

func fixture(rel string) string { return filepath.Join(fixtures, rel) }

// testNow is the clock of the tests: after the Istio test certificate
// expired (2023-05-16), before its root did (2033).
var testNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// run executes kubectl mesh with args and returns stdout, stderr and the error.
func run(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut}
	root := NewRootCmdWith(Deps{IOStreams: streams, Now: func() time.Time { return testNow }})
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), errOut.String(), err
}

// table is a kubectl-style table split by the header's column positions.
type table struct {
	cols []string
	rows []map[string]string
}

// parseTable reads the first table of text (up to a blank line), tolerant of
// empty cells: each cell runs from its header's start to the next header's.
func parseTable(text string) table { return parseTableGap(text, 2) }

// parseTableGap splits columns at runs of at least gap spaces in the header.
func parseTableGap(text string, gap int) table {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	var t table
	var starts []int
	for i, line := range lines {
		if i == 0 {
			// A column starts after two or more spaces (names like "VHOST NAME" have one).
			for j := 0; j < len(line); j++ {
				if line[j] != ' ' && (j == 0 || j >= gap && strings.Count(line[j-gap:j], " ") == gap) {
					starts = append(starts, j)
				}
			}
			for k, s := range starts {
				end := len(line)
				if k+1 < len(starts) {
					end = starts[k+1]
				}
				t.cols = append(t.cols, strings.TrimSpace(line[s:end]))
			}
			continue
		}
		if strings.TrimSpace(line) == "" {
			break
		}
		row := map[string]string{}
		for k, s := range starts {
			end := len(line)
			if k+1 < len(starts) {
				end = min(starts[k+1], len(line))
			}
			if s < len(line) {
				row[t.cols[k]] = strings.TrimSpace(line[s:end])
			} else {
				row[t.cols[k]] = ""
			}
		}
		t.rows = append(t.rows, row)
	}
	return t
}

// covers checks that every row of istioctl's table has a row in ours with
// the same values in the given columns (istioctl's name → ours).
func covers(t *testing.T, theirs, ours table, cols map[string]string) {
	t.Helper()
	if len(theirs.rows) == 0 {
		t.Fatal("istioctl's table has no rows: the test would check nothing")
	}
	for _, want := range theirs.rows {
		found := false
		for _, got := range ours.rows {
			match := true
			for tc, oc := range cols {
				if norm(want[tc]) != norm(got[oc]) {
					match = false
					break
				}
			}
			if match {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no row of ours carries istioctl's %v\nours:\n%v", pick(want, cols), ours.rows)
		}
	}
}

// norm treats istioctl's "-" and empty cells alike, and its two spellings
// of a unix socket endpoint (1.6: unix:///path, later: the path alone).
func norm(s string) string {
	if s == "-" {
		return ""
	}
	if strings.HasPrefix(s, "unix://") && !strings.HasPrefix(s, "unix:///") {
		return strings.TrimPrefix(s, "unix://")
	}
	return s
}

func pick(row map[string]string, cols map[string]string) map[string]string {
	out := map[string]string{}
	for c := range cols {
		out[c] = row[c]
	}
	return out
}

func readFixture(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(fixture(rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
