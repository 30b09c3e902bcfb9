package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestIstiodViewsFromFiles(t *testing.T) {
	k := func(name string) string { return fixture("kiali/istiod-debug/" + name) }
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"status", "-f", k("registry-syncz.json")}, []string{"NAME", "CDS", "b-client-8b97458bb-tghx9.beta", "SYNCED", "NOT SENT"}},
		{[]string{"status", "-f", k("registry-syncz.json"), "--check", "-o", "json"}, []string{`"proxy": "b-client-8b97458bb-tghx9.beta"`, `"CDS": "SYNCED"`}},
		{[]string{"pilot", "registry", "-f", k("registry-registryz.json"), "-o", "wide"}, []string{"*.msn.com", "External", "Passthrough"}},
		{[]string{"pilot", "config", "-f", k("registry-configz.json")}, []string{"DestinationRule", "travel-agency", "mysqldb"}},
		{[]string{"pilot", "endpoints", "-f", k("registry-endpointz.json")}, []string{"SVC"}},
		{[]string{"pilot", "config", "-f", k("services-configz.json"), "-o", "yaml"}, []string{"kind: "}},
	} {
		out, errOut, err := run(t, "", tc.args...)
		if err != nil {
			t.Errorf("%v: %v %s", tc.args, err, errOut)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", tc.args, w, firstLines(out, 8))
			}
		}
	}
	// A proxy whose last CDS push is unacknowledged: stale, listed first, --check fails.
	stale := filepath.Join(t.TempDir(), "syncz.json")
	_ = os.WriteFile(stale, []byte(`[{"proxy":"ok.ns","cluster_sent":"a","cluster_acked":"a"},{"proxy":"slow.ns","cluster_sent":"b","cluster_acked":"a"}]`), 0o644)
	// The shapes istiod writes (pilot/pkg/xds/debug.go, model.PushContext.StatusJSON).
	pushStatus := filepath.Join(t.TempDir(), "push_status.json")
	_ = os.WriteFile(pushStatus, []byte(`{"pilot_eds_no_instances":{"outbound|80||a.ns.svc.cluster.local":{}},"endpoint_no_pod":{"10.0.0.1":{"proxy":"a.ns","message":"no pod"}}}`), 0o644)
	shardz := filepath.Join(t.TempDir(), "endpointShardz.json")
	_ = os.WriteFile(shardz, []byte(`{"a.ns.svc.cluster.local":{"ns":{"Shards":{"Kubernetes/Kubernetes":[]},"ServiceAccounts":{}}}}`), 0o644)
	conns := filepath.Join(t.TempDir(), "connections.json")
	_ = os.WriteFile(conns, []byte(`{"totalClients":1,"clients":[{"connectionId":"sidecar~10.0.0.1~a.ns~ns.svc.cluster.local-1","address":"10.0.0.1:4242"}]}`), 0o644)
	other := filepath.Join(t.TempDir(), "other.json")
	_ = os.WriteFile(other, []byte(`{"a":1,"b":[2]}`), 0o644)
	for _, args := range [][]string{{"pilot", "push-status", "-f", pushStatus}, {"pilot", "endpoints", "-f", shardz}, {"pilot", "connections", "-f", conns}} {
		if out, errOut, err := run(t, "", args...); err != nil || out == "" {
			t.Errorf("%v: %v %s", args, err, errOut)
		}
	}
	out, _, err := run(t, "", "status", "-f", stale, "--check", "--no-headers")
	if ExitCode(err) != ExitNegative || !strings.HasPrefix(out, "slow.ns") || !strings.Contains(out, "STALE") {
		t.Errorf("stale proxy: exit %d\n%s", ExitCode(err), out)
	}
	for _, args := range [][]string{
		{"status", "-f", k("registry-registryz.json")},
		{"pilot", "config", "-f", k("registry-syncz.json")},
		{"status", "-f", "nope.json"},
		{"status", "-o", "dot", "-f", stale},
		// Views read as generic tables must still be the view: a proxy's
		// dump, another view of istiod's or any other JSON is exit 2.
		{"pilot", "push-status", "-f", "../../examples/istio-sidecar.json"},
		{"pilot", "push-status", "-f", k("registry-endpointz.json")},
		{"pilot", "push-status", "-f", other},
		{"pilot", "endpoints", "-f", other},
		{"pilot", "endpoints", "-f", pushStatus},
		{"pilot", "connections", "-f", other},
		{"pilot", "connections", "-f", pushStatus},
	} {
		if _, _, err := run(t, "", args...); ExitCode(err) != ExitUsage {
			t.Errorf("%v: exit %d (%v), want 2", args, ExitCode(err), err)
		}
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

func TestPilotLogsFilter(t *testing.T) {
	o := &PilotLogsOptions{}
	for line, want := range map[string]bool{
		"2026-11-25T15:00:00.000000Z\twarn\tads\tADS: \"sleep.default\" nack: invalid listener": true,
		"2026-11-25T15:00:00.000000Z\terror\tmodel\tfailed to convert VirtualService reviews":   true,
		"2026-11-25T15:00:00.000000Z\tinfo\tads\tPush debounce stable":                          false,
		`{"level":"warn","msg":"x"}`: true,
	} {
		if got := o.keep(line); got != want {
			t.Errorf("keep(%q) = %v", line, got)
		}
	}
	o = &PilotLogsOptions{All: true, Proxy: "sleep.default", Resource: "listener"}
	if !o.keep("\tinfo\tads\tADS: \"sleep.default\" nack: invalid listener") || o.keep("\tinfo\tads\tADS: \"other.default\" listener") {
		t.Error("--proxy and --resource")
	}
}

// TestUnreachableClusterIsOneLine: every command that talks to a cluster
// says in one line that it cannot reach it, with status 3.
func TestUnreachableClusterIsOneLine(t *testing.T) {
	server := []string{"--server", "https://127.0.0.1:1", "--insecure-skip-tls-verify", "--request-timeout", "5s"}
	for _, args := range [][]string{
		{"status"}, {"status", "--xds"}, {"pilot", "registry"}, {"pilot", "logs"}, {"pilot", "lds", "x"},
		{"diff", "x"}, {"trace", "--from", "x", "http://y/"}, {"logs", "x"}, {"snapshot", "-A", "-o", filepath.Join(t.TempDir(), "s.tar.gz")},
		{"listeners", "x"},
	} {
		_, _, err := run(t, "", append(args, server...)...)
		if ExitCode(err) != ExitFailure || !strings.Contains(err.Error(), "cannot reach the API server") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: %v (exit %d)", args, err, ExitCode(err))
		}
	}
}
