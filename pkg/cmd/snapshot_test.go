package cmd

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/snapshot"
)

// writeBundle makes a snapshot of two proxies from the example files, as
// the snapshot command lays one out.
func writeBundle(t *testing.T) string {
	t.Helper()
	read := func(p string) []byte {
		b, err := os.ReadFile(filepath.Join("../../examples", p))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var buf bytes.Buffer
	w := snapshot.NewWriter(&buf, testNow)
	m := &snapshot.Manifest{Version: 1, Tool: "kubectl-mesh test"}
	for _, p := range []snapshot.Proxy{{Namespace: "demo", Pod: "frontend-1"}, {Namespace: "eg", Pod: "gateway-1"}} {
		files := map[string][]byte{snapshot.ConfigDump: read("istio-sidecar.json"), snapshot.Clusters: read("istio-clusters.json"), snapshot.AccessLog: read("istio-access.log")}
		if p.Pod == "gateway-1" {
			files = map[string][]byte{snapshot.ConfigDump: read("envoy-gateway.json")}
			p.Errors = map[string]string{snapshot.Clusters: "refused"}
		}
		for name, data := range files {
			if err := w.Add(p.Dir()+"/"+name, data); err != nil {
				t.Fatal(err)
			}
			p.Files = append(p.Files, name)
		}
		m.Proxies = append(m.Proxies, p)
	}
	return closeBundle(t, w, &buf, m)
}

// closeBundle ends a bundle written to buf and saves it to a file.
func closeBundle(t *testing.T, w *snapshot.Writer, buf *bytes.Buffer, m *snapshot.Manifest) string {
	t.Helper()
	if err := w.Close(m); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "snap.tar.gz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCommandsReadSnapshots: a bundle reads like the files it holds, the
// proxy named with --pod; endpoints come from /clusters as a live read's do.
func TestCommandsReadSnapshots(t *testing.T) {
	bundle := writeBundle(t)
	for _, tc := range []struct {
		args []string
		file string
	}{
		{[]string{"listeners"}, "istio-sidecar.json"},
		{[]string{"routes", "-o", "wide"}, "istio-sidecar.json"},
		{[]string{"clusters", "-o", "json"}, "istio-sidecar.json"},
		{[]string{"endpoints"}, "istio-clusters.json"},
		{[]string{"logs"}, "istio-access.log"},
		{[]string{"trace", "http://backend.demo.svc.cluster.local:8080/", "--address", "10.96.173.1", "-o", "json"}, "istio-sidecar.json"},
		{[]string{"logs", "--explain"}, ""},
	} {
		got, errOut, err := run(t, "", append([]string{tc.args[0], "-f", bundle, "--pod", "demo/frontend-1"}, tc.args[1:]...)...)
		if err != nil {
			t.Errorf("%v on the snapshot: %v %s", tc.args, err, errOut)
			continue
		}
		if tc.file == "" {
			want, _, _ := run(t, "", append([]string{tc.args[0], "-f", "../../examples/istio-access.log", "--config", "../../examples/istio-sidecar.json"}, tc.args[1:]...)...)
			if got != want {
				t.Errorf("%v: the snapshot's explanation differs from the files':\n%s\nwant:\n%s", tc.args, got, want)
			}
			continue
		}
		want, _, _ := run(t, "", append([]string{tc.args[0], "-f", "../../examples/" + tc.file}, tc.args[1:]...)...)
		if got != want {
			t.Errorf("%v: the snapshot reads differently from %s", tc.args, tc.file)
		}
	}
	if out, _, err := run(t, "", "routes", "-f", bundle, "--pod", "gateway-1"); err != nil || !strings.Contains(out, "default-eg-http") {
		t.Errorf("a pod name alone picks the proxy: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"listeners", "-f", bundle}, "holds 2 proxies (demo/frontend-1, eg/gateway-1): choose one with --pod"},
		{[]string{"listeners", "-f", bundle, "--pod", "nosuch"}, `no proxy "nosuch"`},
		{[]string{"endpoints", "-f", bundle, "--pod", "eg/gateway-1"}, "no clusters.json of eg/gateway-1 (clusters.json: refused)"},
		{[]string{"logs", "-f", bundle, "--pod", "eg/gateway-1"}, "no log of eg/gateway-1"},
	} {
		_, _, err := run(t, "", tc.args...)
		if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v (exit %d), want %q", tc.args, err, ExitCode(err), tc.want)
		}
	}
}

func TestSnapshotUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"snapshot", "pod1"}, "-o FILE.tar.gz"},
		{[]string{"snapshot", "pod1", "-o", "x.zip"}, "a snapshot is a .tar.gz"},
		{[]string{"snapshot", "-o", "x.tar.gz"}, "name the proxies"},
		{[]string{"snapshot", "pod1", "-A", "-o", "x.tar.gz"}, "name the proxies"},
		{[]string{"snapshot", "deploy/", "-o", "x.tar.gz"}, "name one object, TYPE/NAME"},
	} {
		_, _, err := run(t, "", tc.args...)
		if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want status 2 and %q", tc.args, err, tc.want)
		}
	}
}
