//go:build e2e

package e2e

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A JWT in an access log line (a custom format logging the authorization
// header would put it there): it must never reach a snapshot.
const jwtLine = `[2026-02-24T14:23:19.000Z] "GET /admin HTTP/1.1" 401 - via_upstream - "-" 0 0 1 1 "-" "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJqYW5lIn0.c2lnbmF0dXJl" "bb" "backend.demo.svc.cluster.local:8080" "10.244.2.7:8080" outbound|8080||backend.demo.svc.cluster.local 10.244.1.5:40001 10.96.173.1:8080 10.244.1.5:33213 - default`

// TestLogsAndSnapshotLive reads a sidecar's access log through the API
// server (pods/log, served by the test kubelet's /containerLogs), then
// snapshots the mesh, proxy and istiod, and checks every command reads the
// snapshot with the same results as the live pod.
func TestLogsAndSnapshotLive(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	s, client, k, dump := startWithKubelet(t, ctx)
	clusters, err := os.ReadFile("../../examples/istio-clusters.json")
	if err != nil {
		t.Fatal(err)
	}
	startAdmin(t, "127.0.1.20:15000", dump, clusters)
	if _, err := k.RunPod(ctx, "default", "frontend", "127.0.1.20", "192.0.2.20", map[string]string{"app": "frontend"}, "app", "istio-proxy"); err != nil {
		t.Fatal(err)
	}
	accessLog, err := os.ReadFile("../../examples/istio-access.log")
	if err != nil {
		t.Fatal(err)
	}
	k.SetLog("default", "frontend", "istio-proxy", string(accessLog)+jwtLine+"\n")

	// istiod: a pod in istio-system whose debug port serves a real istiod's
	// recorded views, and the example dump as what it holds for frontend.
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "istio-system"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A proxy that holds back an update: istiod holds istioctl's compare
	// dump for it, its Envoy the changed one.
	compareDump, err := os.ReadFile("../../../shared/fixtures/istio/istioctl-golden/compare/configdump.json")
	if err != nil {
		t.Fatal(err)
	}
	staleDump, err := os.ReadFile("../../../shared/fixtures/istio/istioctl-golden/compare/configdump_diff.json")
	if err != nil {
		t.Fatal(err)
	}
	startAdmin(t, "127.0.1.22:15000", staleDump, nil)
	if _, err := k.RunPod(ctx, "default", "stale", "127.0.1.22", "192.0.2.22", map[string]string{"app": "stale"}, "istio-proxy"); err != nil {
		t.Fatal(err)
	}
	if err := s.DefaultServiceAccounts(ctx, client, "istio-system"); err != nil {
		t.Fatal(err)
	}
	const kiali = "../../../shared/fixtures/kiali/istiod-debug/"
	istiod, err := StartIstiod("127.0.1.21:15014", map[string]string{
		"/debug/syncz": kiali + "registry-syncz.json", "/debug/registryz": kiali + "registry-registryz.json",
		"/debug/configz": kiali + "registry-configz.json",
	}, map[string][]byte{"frontend.default": dump, "stale.default": compareDump})
	if err != nil {
		t.Fatal(err)
	}
	defer istiod.Close()
	if _, err := k.RunPod(ctx, "istio-system", "istiod-5d8f9", "127.0.1.21", "192.0.2.21", map[string]string{"app": "istiod"}, "discovery"); err != nil {
		t.Fatal(err)
	}

	bin, mesh := meshRunner(t, ctx, s)

	// logs, live and from the file it came from, agree.
	live, errOut, code := mesh("logs", "frontend")
	if code != 0 {
		t.Fatalf("logs frontend: exit %d: %s", code, errOut)
	}
	if !strings.Contains(live, "UH (NoHealthyUpstream)") || !strings.Contains(live, "6 requests, 1 TCP connections, 4 failed") {
		t.Errorf("logs frontend:\n%s", live)
	}
	tail, _, _ := mesh("logs", "frontend", "--tail", "2", "--no-headers")
	if rows := strings.Count(strings.Split(tail, "\n\n")[0], "\n") + 1; rows != 2 {
		t.Errorf("--tail 2 gave %d rows:\n%s", rows, tail)
	}
	explained, _, code := mesh("logs", "deploy/nosuch", "--explain")
	if code != 3 || explained != "" {
		t.Errorf("logs of a missing deployment: exit %d", code)
	}
	explained, errOut, code = mesh("logs", "frontend", "--errors", "--explain")
	if code != 0 || !strings.Contains(explained, "cluster outbound|8080||backend.demo.svc.cluster.local: EDS") {
		t.Errorf("logs --explain live: exit %d (%s)\n%s", code, errOut, explained)
	}

	// --follow prints what is there, keeps the stream open, and on Ctrl-C
	// still prints the summary.
	follow := startMesh(t, ctx, bin, s.Kubeconfig, "logs", "frontend", "--follow")
	follow.waitOutput("/admin")
	follow.interrupt()
	if got := follow.Output(); !strings.Contains(got, "/admin") || !strings.Contains(got, "4 failed") {
		t.Errorf("logs --follow, then Ctrl-C:\n%s", got)
	}

	// snapshot, then every command on the file as on the pod.
	file := filepath.Join(t.TempDir(), "incident.tar.gz")
	out, errOut, code := mesh("snapshot", "frontend", "-o", file)
	if code != 0 || !strings.Contains(out, "1 proxies, 1 istiod instances") {
		t.Fatalf("snapshot: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "push_status.json not saved") {
		t.Errorf("the view the stand-in lacks should be a warning:\n%s", errOut)
	}
	for _, args := range [][]string{
		{"listeners"}, {"routes"}, {"clusters"}, {"secrets"}, {"bootstrap"}, {"endpoints"}, {"config"},
		{"listeners", "-o", "json"}, {"clusters", "--fqdn", "backend.demo.svc.cluster.local", "-o", "wide"},
		{"logs"}, {"logs", "--errors", "--explain"},
	} {
		live, _, liveCode := mesh(append([]string{args[0], "frontend"}, args[1:]...)...)
		saved, errOut, savedCode := mesh(append([]string{args[0], "-f", file}, args[1:]...)...)
		if liveCode != 0 || savedCode != 0 || live != saved {
			t.Errorf("%v: live (exit %d) and snapshot (exit %d, %s) differ\nlive:\n%s\nsnapshot:\n%s", args, liveCode, savedCode, errOut, live, saved)
		}
		named, _, _ := mesh(append([]string{args[0], "-f", file, "--pod", "default/frontend"}, args[1:]...)...)
		if named != saved {
			t.Errorf("%v: --pod default/frontend reads another proxy", args)
		}
	}

	// -A and -l find the sidecars (not istiod, which has none).
	for args, want := range map[string]string{"-A": "2 proxies, 1 istiod instances", "-l=app=frontend": "1 proxies, 1 istiod instances"} {
		all := filepath.Join(t.TempDir(), "all.tar.gz")
		if out, errOut, code := mesh("snapshot", "-o", all, args); code != 0 || !strings.Contains(out, want) {
			t.Errorf("snapshot %v: exit %d\n%s%s", args, code, out, errOut)
		}
	}

	// istiod's views through its debug port, and from the snapshot.
	if out, errOut, code := mesh("status"); code != 0 || !strings.Contains(out, "b-client-8b97458bb-tghx9.beta") || !strings.Contains(out, "istiod-5d8f9") {
		t.Errorf("status: exit %d %s\n%s", code, errOut, out)
	}
	if live, _, _ := mesh("status"); live != func() string { s, _, _ := mesh("status", "-f", file); return s }() {
		t.Errorf("status live and from the snapshot differ")
	}
	if out, errOut, code := mesh("pilot", "registry"); code != 0 || !strings.Contains(out, "details.default.svc.cluster.local") {
		t.Errorf("pilot registry: exit %d %s\n%s", code, errOut, out)
	}
	if _, errOut, code := mesh("pilot", "push-status"); code != 3 || !strings.Contains(errOut, "no istiod instance answered /debug/push_status") {
		t.Errorf("pilot push-status from an istiod without it: exit %d %q", code, errOut)
	}

	// diff POD: istiod's view of the proxy against the proxy's own.
	if out, errOut, code := mesh("diff", "frontend"); code != 0 || !strings.Contains(out, "Listeners Match") || !strings.Contains(out, "--- istiod") {
		t.Errorf("diff frontend: exit %d %s\n%s", code, errOut, out)
	}
	if out, errOut, code := mesh("diff", "stale"); code != 1 || !strings.Contains(out, "Listeners Don't Match") || !strings.Contains(out, "~ connect_terminate") {
		t.Errorf("diff stale: exit %d %s\n%s", code, errOut, out)
	}
	if out, errOut, code := mesh("diff", "frontend", "-f", file, "--pod", "default/frontend"); code != 0 || !strings.Contains(out, "Routes Match") {
		t.Errorf("diff frontend -f SNAPSHOT: exit %d %s\n%s", code, errOut, out)
	}
	if out, errOut, code := mesh("diff", "frontend", "stale"); code != 1 {
		t.Errorf("diff frontend stale: exit %d %s\n%s", code, errOut, out)
	}

	// What the bundle holds, and what it never holds.
	files := bundleFiles(t, file)
	for _, want := range []string{
		"manifest.json", "proxies/default/frontend/config_dump.json", "proxies/default/frontend/clusters.json",
		"proxies/default/frontend/server_info.json", "proxies/default/frontend/stats.txt", "proxies/default/frontend/access.log",
		"istiod/istiod-5d8f9/syncz.json", "istiod/istiod-5d8f9/registryz.json", "istiod/istiod-5d8f9/configz.json",
		"istiod/istiod-5d8f9/config_dump/default/frontend.json",
	} {
		if _, ok := files[want]; !ok {
			t.Errorf("the snapshot lacks %s", want)
		}
	}
	for name, content := range files {
		for _, secret := range []string{"eyJhbGciOiJSUzI1NiJ9", "BEGIN PRIVATE KEY", "BEGIN RSA PRIVATE KEY"} {
			if strings.Contains(content, secret) {
				t.Errorf("%s in the snapshot holds %q", name, secret)
			}
		}
	}
	if m := files["manifest.json"]; !strings.Contains(m, `"envoyVersion": "ad034036be91ff9f0cd1993e5053dd4f3ee64895/1.34.2/Clean/RELEASE/BoringSSL"`) {
		t.Errorf("manifest:\n%s", m)
	}
}

// bundleFiles reads a .tar.gz into memory, by name.
func bundleFiles(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	files := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files[h.Name] = string(b)
	}
	return files
}
