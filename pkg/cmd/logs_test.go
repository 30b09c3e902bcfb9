package cmd

import (
	"encoding/json"
	"strings"
	"testing"
)

const accessLog = "../../examples/istio-access.log"

func TestLogsTableAndSummary(t *testing.T) {
	out, _, err := run(t, "", "logs", "-f", accessLog)
	if err != nil {
		t.Fatal(err)
	}
	tab := parseTable(out)
	if len(tab.rows) != 6 {
		t.Fatalf("%d rows, want the 6 access log lines (not the 2 others):\n%s", len(tab.rows), out)
	}
	for _, want := range []string{
		"UH (NoHealthyUpstream)", "NR (NoRouteFound)", "UF (UpstreamConnectionFailure),URX (UpstreamRetryLimitExceeded)",
		"5 requests, 1 TCP connections, 4 failed", "status: 503 x2, 200 x1, 404 x1, 418 x1",
		"UH NoHealthyUpstream: no healthy upstream host", "check: the VirtualService hosts",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if r := tab.rows[4]; r["METHOD"] != "TCP" || r["STATUS"] != "-" || r["UPSTREAM CLUSTER"] != "outbound|5432||database.demo.svc.cluster.local" {
		t.Errorf("TCP row: %v", r)
	}
}

func TestLogsFilters(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string // request IDs or paths, in order
	}{
		{[]string{"--status", "5xx"}, []string{"/api/orders", "/x"}},
		{[]string{"--status", "404,418"}, []string{"/status/418", "/nope"}},
		{[]string{"--flags", "NR"}, []string{"/nope"}},
		{[]string{"--flags", "UpstreamRetryLimitExceeded"}, []string{"-"}},
		{[]string{"--errors"}, []string{"/api/orders", "/x", "/nope", "-"}},
		{[]string{"--authority", "backend.demo.svc.cluster.local"}, []string{"/x", "/healthz"}},
		{[]string{"--authority", "httpbin:8000", "--path", "/status"}, []string{"/status/418"}},
	} {
		out, _, err := run(t, "", append([]string{"logs", "-f", accessLog, "--no-headers"}, tc.args...)...)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		var got []string
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[0], "20") {
				got = append(got, f[3])
			}
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%v: paths %v, want %v\n%s", tc.args, got, tc.want, out)
		}
	}
}

func TestLogsJSONLines(t *testing.T) {
	out, errOut, err := run(t, "", "logs", "-f", accessLog, "-o", "json", "--errors")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d JSON lines, want 4:\n%s", len(lines), out)
	}
	var e struct {
		Status   int      `json:"status"`
		Flags    []string `json:"flags"`
		Duration int64    `json:"duration_ms"`
		Cluster  string   `json:"upstream_cluster"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &e); err != nil || e.Status != 503 || e.Flags[0] != "UC" || e.Duration != 30004 {
		t.Errorf("first line %s: %+v %v", lines[0], e, err)
	}
	if !strings.Contains(errOut, "4 failed") {
		t.Errorf("the summary goes to stderr with -o json, got %q", errOut)
	}
}

func TestLogsExplainJoinsTheConfig(t *testing.T) {
	out, _, err := run(t, "", "logs", "-f", accessLog, "--explain", "--config", "../../examples/istio-sidecar.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`route "default" in virtual host backend.demo.svc.cluster.local:8080 of route config backend.demo.svc.cluster.local:8080: sends to outbound|8080||backend.demo.svc.cluster.local`,
		"cluster outbound|8080||backend.demo.svc.cluster.local: EDS, load balancing LEAST_REQUEST, TLS ISTIO_MUTUAL (auto)",
		`no route matched authority "unknown.example.com"`,
		"cluster outbound|8080||order-service.production.svc.cluster.local is not in the proxy's config now",
		"upstream transport failure: delayed_connect_error:_111",
		"trace of the same request on this config: listener 10.96.173.1_8080, chain -, route backend.demo.svc.cluster.local:8080/default, cluster outbound|8080||backend.demo.svc.cluster.local -> forwarded",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("--explain lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "/status/418 ->") || strings.Contains(out, "/healthz ->") {
		t.Errorf("--explain explains requests that did not fail:\n%s", out)
	}
}

func TestLogsBadUsage(t *testing.T) {
	for _, args := range [][]string{
		{"logs", "-f", accessLog, "--flags", "XX"},
		{"logs", "-f", accessLog, "--status", "5x"},
		{"logs", "-f", accessLog, "--explain"},
		{"logs", "-f", accessLog, "--format", "%START_TIME"},
		{"logs", "-f", accessLog, "-o", "yaml"},
		{"logs", "-f", "no-such.log"},
		{"logs", "somepod", "--config", "x.json"},
	} {
		_, _, err := run(t, "", args...)
		if ExitCode(err) != ExitUsage {
			t.Errorf("%v: exit %d (%v), want 2", args, ExitCode(err), err)
		}
	}
}
