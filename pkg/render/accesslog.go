package render

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/accesslog"
)

// AccessLogColumns are the columns of the access log table.
func AccessLogColumns(wide bool) []string {
	cols := []string{"TIME", "METHOD", "AUTHORITY", "PATH", "STATUS", "FLAGS", "DURATION", "UPSTREAM CLUSTER", "ROUTE"}
	if wide {
		cols = append(cols, "UPSTREAM HOST", "DETAILS", "REQUEST ID", "UPSTREAM FAILURE")
	}
	return cols
}

// AccessLogRow is one entry as a table row. Flags carry their long name, so
// the table says what they mean without a legend.
func AccessLogRow(e *accesslog.Entry, wide bool) []string {
	method, path := e.Method, e.Path
	if e.TCP() {
		method, path = "TCP", ""
	}
	status := strconv.Itoa(e.Status)
	if e.TCP() {
		status = "-"
	}
	row := []string{logTime(e.Time), dash(method), dash(e.Authority), dash(path), status, dash(flagText(e.Flags)),
		e.Duration.String(), dash(e.UpstreamCluster), dash(e.Route)}
	if wide {
		row = append(row, dash(e.UpstreamHost), dash(e.Details), dash(e.RequestID), dash(e.TransportFailure))
	}
	return row
}

func logTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func flagText(flags []string) string {
	var parts []string
	for _, f := range flags {
		if fl, ok := accesslog.LookupFlag(f); ok {
			parts = append(parts, f+" ("+fl.Long+")")
		} else {
			parts = append(parts, f)
		}
	}
	return strings.Join(parts, ",")
}

// AccessLogSummary counts requests by status and by flag, and says for
// each flag seen what to check.
type AccessLogSummary struct {
	Requests    int            `json:"requests"`
	Connections int            `json:"connections"`
	Failed      int            `json:"failed"`
	Statuses    map[string]int `json:"statuses"`
	Flags       map[string]int `json:"flags"`
}

// Add counts one entry.
func (s *AccessLogSummary) Add(e *accesslog.Entry) {
	if s.Statuses == nil {
		s.Statuses, s.Flags = map[string]int{}, map[string]int{}
	}
	if e.TCP() {
		s.Connections++
	} else {
		s.Requests++
		s.Statuses[strconv.Itoa(e.Status)]++
	}
	if e.Failed() {
		s.Failed++
	}
	for _, f := range e.Flags {
		s.Flags[f]++
	}
}

// Write prints the summary: totals, statuses, and each flag with its
// meaning and what to check.
func (s *AccessLogSummary) Write(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%d requests, %d TCP connections, %d failed", s.Requests, s.Connections, s.Failed)
	if len(s.Statuses) > 0 {
		b.WriteString("\nstatus: " + counts(s.Statuses))
	}
	if len(s.Flags) > 0 {
		b.WriteString("\nflags:  " + counts(s.Flags))
		for _, f := range slices.Sorted(maps.Keys(s.Flags)) {
			if fl, ok := accesslog.LookupFlag(f); ok {
				fmt.Fprintf(&b, "\n  %s %s: %s\n     check: %s", f, fl.Long, fl.Meaning, fl.Check)
			}
		}
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// counts writes "503 x3, 200 x10", most frequent first.
func counts(m map[string]int) string {
	keys := slices.Sorted(maps.Keys(m))
	sort.SliceStable(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] })
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s x%d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// Explanations writes what --explain found for the failing requests.
func Explanations(w io.Writer, xs []accesslog.Explanation) error {
	if len(xs) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("\nWhy requests failed:\n")
	for _, x := range xs {
		e := x.Example
		what := fmt.Sprintf("%s %s%s", dash(e.Method), dash(e.Authority), e.Path)
		if e.TCP() {
			what = "TCP to " + dash(e.DownstreamLocal)
		}
		fmt.Fprintf(&b, "- %d x %s -> %d %s (cluster %s, route %s)\n", x.Requests, what, e.Status, dash(strings.Join(e.Flags, ",")), dash(e.UpstreamCluster), dash(e.Route))
		for _, f := range x.Findings {
			b.WriteString("    " + f + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
