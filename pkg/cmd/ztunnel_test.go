package cmd

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/snapshot"
)

// parseAligned reads a table whose columns are separated by as little as
// one space (istioctl's ztunnel-config tables): a column starts where the
// header has a word after a space and no row has a character just before.
func parseAligned(text string) table {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) == "" {
			lines = lines[:i]
			break
		}
	}
	header := lines[0]
	var starts []int
	for j := 0; j < len(header); j++ {
		if header[j] == ' ' || (j > 0 && header[j-1] != ' ') {
			continue
		}
		// A word of a two-word header ("POD NAME", "VALID CERT") has a
		// cell running through the space before it, or no cell under it.
		boundary, under := true, j == 0
		for _, l := range lines[1:] {
			if j > 0 && j-1 < len(l) && l[j-1] != ' ' {
				boundary = false
				break
			}
			under = under || j < len(l) && l[j] != ' '
		}
		if boundary && under {
			starts = append(starts, j)
		}
	}
	return parseTableAt(lines, starts)
}

func parseTableAt(lines []string, starts []int) table {
	cell := func(l string, k int) string {
		s, end := starts[k], len(l)
		if k+1 < len(starts) {
			end = min(starts[k+1], len(l))
		}
		if s >= len(l) {
			return ""
		}
		return strings.TrimSpace(l[s:end])
	}
	var t table
	for k := range starts {
		t.cols = append(t.cols, cell(lines[0], k))
	}
	for _, l := range lines[1:] {
		row := map[string]string{}
		for k, c := range t.cols {
			row[c] = cell(l, k)
		}
		t.rows = append(t.rows, row)
	}
	return t
}

// sameRows checks that ours has exactly istioctl's rows, in its order, in
// every column istioctl shows.
func sameRows(t *testing.T, theirs, ours table) {
	t.Helper()
	if len(theirs.rows) == 0 {
		t.Fatal("istioctl's table has no rows: the test would check nothing")
	}
	if len(ours.rows) != len(theirs.rows) {
		t.Fatalf("%d rows, istioctl has %d:\n%v", len(ours.rows), len(theirs.rows), ours.rows)
	}
	for i, want := range theirs.rows {
		got := map[string]string{}
		for c := range want {
			got[c] = ours.rows[i][c]
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("row %d: got %v\nistioctl %v", i, got, want)
		}
	}
}

// Every row istioctl ztunnel-config prints for its own test dump, we print
// with the same values, in the same order.
func TestZtunnelViewsMatchIstioctl(t *testing.T) {
	const dir = "istio/istioctl-golden/ztunnel/"
	dump := fixture(dir + "dump.json")
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"workloadsummary.txt", []string{"workloads"}},
		{"workloadsummary_default.txt", []string{"workloads", "--workload-namespace", "default"}},
		{"workloadsummary_workload.txt", []string{"workloads", "--workload", "productpage-v1-675fc69cf-jscn2", "--workload-namespace", "bookinfo"}},
		{"policies.txt", []string{"policies"}},
		{"secretsummary.txt", []string{"certificates"}},
		{"connectionsummary.txt", []string{"connections"}},
		{"connectionsummary_workload.txt", []string{"connections", "--workload", "productpage-v1-796f87b58-97bjk.bookinfo"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			out, _, err := run(t, "", append(append([]string{"ztunnel"}, tc.args...), "-f", dump)...)
			if err != nil {
				t.Fatal(err)
			}
			sameRows(t, parseAligned(readFixture(t, dir+tc.golden)), parseTable(out))
		})
	}
	t.Run("all", func(t *testing.T) {
		out, _, err := run(t, "", "ztunnel", "all", "-f", dump)
		if err != nil {
			t.Fatal(err)
		}
		theirs := strings.Split(strings.Trim(readFixture(t, dir+"allsummary.txt"), "\n"), "\n\n")
		ours := strings.Split(strings.Trim(out, "\n"), "\n\n")
		if len(ours) != len(theirs) {
			t.Fatalf("%d sections, istioctl has %d", len(ours), len(theirs))
		}
		for i := range theirs {
			sameRows(t, parseAligned(theirs[i]), parseTable(ours[i]))
		}
	})
	t.Run("connections -o json", func(t *testing.T) {
		out, _, err := run(t, "", "ztunnel", "connections", "-f", dump, "-o", "json")
		if err != nil {
			t.Fatal(err)
		}
		var theirs []map[string]any
		if err := json.Unmarshal([]byte(readFixture(t, dir+"connectionsdump.json")), &theirs); err != nil {
			t.Fatal(err)
		}
		var ours map[string]map[string]any
		if err := json.Unmarshal([]byte(out), &ours); err != nil {
			t.Fatal(err)
		}
		// istioctl re-encodes the states through its own struct: a null
		// originalDst becomes "", a missing trustDomain "".
		facts := func(s map[string]any) string {
			b, _ := json.Marshal(s["connections"])
			info, _ := s["info"].(map[string]any)
			return strings.ReplaceAll(string(b), `"originalDst":null`, `"originalDst":""`) +
				" " + info["name"].(string) + "." + info["namespace"].(string) + " " + info["serviceAccount"].(string)
		}
		for _, want := range theirs {
			found := false
			for _, got := range ours {
				found = found || facts(got) == facts(want)
			}
			if !found {
				t.Errorf("istioctl's %s is not in ours", facts(want))
			}
		}
		if len(ours) != len(theirs) {
			t.Errorf("%d workloads, istioctl has %d", len(ours), len(theirs))
		}
	})
}

// A snapshot's ztunnel dump reads like the file; a snapshot without one
// says so.
func TestZtunnelReadsSnapshots(t *testing.T) {
	dump := []byte(readFixture(t, "istio/istioctl-golden/ztunnel/dump.json"))
	write := func(zs ...snapshot.Ztunnel) string {
		var buf bytes.Buffer
		w := snapshot.NewWriter(&buf, testNow)
		m := &snapshot.Manifest{Version: 1, Tool: "kubectl-mesh test"}
		for _, z := range zs {
			if err := w.Add(z.Dir()+"/"+snapshot.ZtunnelFile, dump); err != nil {
				t.Fatal(err)
			}
			z.Files = []string{snapshot.ZtunnelFile}
			m.Ztunnels = append(m.Ztunnels, z)
		}
		return closeBundle(t, w, &buf, m)
	}
	one := write(snapshot.Ztunnel{Namespace: "istio-system", Pod: "ztunnel-qk2pp", Node: "ambient-worker2"})
	out, _, err := run(t, "", "ztunnel", "policies", "-f", one)
	if err != nil {
		t.Fatal(err)
	}
	sameRows(t, parseAligned(readFixture(t, "istio/istioctl-golden/ztunnel/policies.txt")), parseTable(out))

	_, _, err = run(t, "", "ztunnel", "policies", "-f", write())
	if err == nil || !strings.Contains(err.Error(), "holds no ztunnel dump") || ExitCode(err) != ExitUsage {
		t.Errorf("no ztunnel: %v", err)
	}
	two := write(snapshot.Ztunnel{Namespace: "istio-system", Pod: "a", Node: "n1"}, snapshot.Ztunnel{Namespace: "istio-system", Pod: "b", Node: "n2"})
	_, _, err = run(t, "", "ztunnel", "policies", "-f", two)
	if err == nil || !strings.Contains(err.Error(), "holds 2 ztunnel dumps (istio-system/a, istio-system/b); name one with --pod") {
		t.Errorf("two ztunnels: %v", err)
	}
	for _, pick := range []string{"istio-system/b", "b", "n2"} {
		if _, _, err := run(t, "", "ztunnel", "policies", "-f", two, "--pod", pick); err != nil {
			t.Errorf("--pod %s: %v", pick, err)
		}
	}
	if _, _, err := run(t, "", "ztunnel", "policies", "-f", two, "--pod", "c"); err == nil || !strings.Contains(err.Error(), `holds no ztunnel "c"`) {
		t.Errorf("--pod c: %v", err)
	}
}
