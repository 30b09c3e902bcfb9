//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// TestControlPlaneAnswersKubectl starts the real etcd and kube-apiserver and
// checks the real kubectl talks to them with the generated kubeconfig.
func TestControlPlaneAnswersKubectl(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := startStack(t, ctx)

	out, err := exec.CommandContext(ctx, "kubectl", "--kubeconfig", s.Kubeconfig, "version", "-o", "yaml").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "gitVersion: v1.37.2") {
		t.Fatalf("kubectl version: %v\n%s", err, out)
	}
	out, err = exec.CommandContext(ctx, "kubectl", "--kubeconfig", s.Kubeconfig, "get", "namespaces", "-o", "name").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "namespace/kube-system") || !strings.Contains(string(out), "namespace/default") {
		t.Fatalf("kubectl get namespaces: %v\n%s", err, out)
	}
}

// TestPortForwardReachesAStandInAdminEndpoint runs the real port-forward
// protocol end to end: kubectl -> kube-apiserver -> test kubelet (Kubernetes'
// streaming code) -> the loopback stand-in of a pod's Envoy admin port,
// which serves a real recorded dump.
func TestPortForwardReachesAStandInAdminEndpoint(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, _, k, dump := startWithKubelet(t, ctx)
	startAdmin(t, "127.0.1.1:15000", dump, nil)
	if _, err := k.RunPod(ctx, "default", "sidecar", "127.0.1.1", "192.0.2.10", map[string]string{"app": "frontend"}, "app", "istio-proxy"); err != nil {
		t.Fatal(err)
	}

	pf := exec.CommandContext(ctx, "kubectl", "--kubeconfig", s.Kubeconfig, "port-forward", "pod/sidecar", ":15000")
	stdout, _ := pf.StdoutPipe()
	var stderr strings.Builder
	pf.Stderr = &stderr
	if err := pf.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pf.Process.Kill(); _ = pf.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("kubectl port-forward: %v: %s", err, stderr.String())
	}
	// "Forwarding from 127.0.0.1:PORT -> 15000"
	local := strings.Fields(line)[2]
	for i := 0; i < 2; i++ { // several requests over one tunnel
		resp, err := http.Get("http://" + local + "/config_dump")
		if err != nil {
			t.Fatalf("GET through the tunnel: %v (%s)", err, stderr.String())
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Equal(got, dump) {
			t.Fatalf("request %d: got %d bytes through the tunnel, want the %d-byte dump", i, len(got), len(dump))
		}
	}
}

// startWithKubelet starts the stack with the test kubelet and the default
// namespace's ServiceAccount, and returns the example sidecar dump that
// stand-in admin endpoints serve.
func startWithKubelet(t *testing.T, ctx context.Context) (*Stack, kubernetes.Interface, *Kubelet, []byte) {
	t.Helper()
	s := startStack(t, ctx)
	client := s.client(t)
	k, err := s.StartKubelet(ctx, client)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Stop)
	if err := s.DefaultServiceAccounts(ctx, client, "default"); err != nil {
		t.Fatal(err)
	}
	dump, err := os.ReadFile("../../examples/istio-sidecar.json")
	if err != nil {
		t.Fatal(err)
	}
	return s, client, k, dump
}

// meshRunner builds kubectl-mesh into a directory and returns it with a
// function running "kubectl mesh ARGS..." through the real kubectl, with
// that directory on PATH and the stack's kubeconfig: stdout, stderr and
// the exit status.
func meshRunner(t *testing.T, ctx context.Context, s *Stack) (string, func(args ...string) (string, string, int)) {
	t.Helper()
	bin := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", bin+"/kubectl-mesh", "../../cmd/kubectl-mesh").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin, func(args ...string) (string, string, int) {
		cmd := exec.CommandContext(ctx, "kubectl", append([]string{"mesh"}, args...)...)
		cmd.Env = meshEnv(bin, s.Kubeconfig)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return stdout.String(), stderr.String(), code
	}
}

// startAdmin starts an admin stand-in for the length of the test.
func startAdmin(t *testing.T, addr string, dump, clusters []byte) *AdminStandIn {
	t.Helper()
	a, err := StartAdmin(addr, dump, clusters)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

func startStack(t *testing.T, ctx context.Context) *Stack {
	t.Helper()
	dir, err := os.MkdirTemp("", "mesh-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start(ctx, dir)
	if err != nil {
		t.Fatalf("start the stack: %v", err)
	}
	t.Cleanup(func() {
		s.Stop()
		if !t.Failed() {
			os.RemoveAll(dir)
		}
	})
	return s
}

// sectionBytes is the size in a dump of the configs entry a listing shows.
func sectionBytes(t *testing.T, dump []byte, kind string) int {
	t.Helper()
	types := map[string]string{"listeners": "ListenersConfigDump", "routes": "RoutesConfigDump", "clusters": "ClustersConfigDump",
		"secrets": "SecretsConfigDump", "bootstrap": "BootstrapConfigDump"}
	var doc struct {
		Configs []json.RawMessage `json:"configs"`
	}
	if err := json.Unmarshal(dump, &doc); err != nil {
		t.Fatal(err)
	}
	for _, c := range doc.Configs {
		if bytes.Contains(c[:min(len(c), 200)], []byte("."+types[kind]+`"`)) {
			return len(c)
		}
	}
	t.Fatalf("the dump has no %s", types[kind])
	return 0
}

func (s *Stack) client(t *testing.T) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestMeshReadsALivePodThroughKubectl runs kubectl mesh as a user does,
// through kubectl's plugin mechanism, against a pod of the stack: the live
// listing equals the listing of the same dump read from a file. It also
// checks the failures a user meets: a missing pod, a pod without a sidecar.
func TestMeshReadsALivePodThroughKubectl(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, client, k, dump := startWithKubelet(t, ctx)
	// Recorded /clusters?format=json of an Istio sidecar (see ../shared/fixtures/MANIFEST.md).
	const clustersFile = "../../../shared/fixtures/istio/istioctl-golden-1.6/clusters/clusters.json"
	clusters, err := os.ReadFile(clustersFile)
	if err != nil {
		t.Fatal(err)
	}
	admin := startAdmin(t, "127.0.1.2:15000", dump, clusters)
	if _, err := k.RunPod(ctx, "default", "frontend", "127.0.1.2", "192.0.2.11", map[string]string{"app": "frontend"}, "app", "istio-proxy"); err != nil {
		t.Fatal(err)
	}
	if err := s.FrontendWorkload(ctx, client, "default", "frontend", map[string]string{"app": "frontend"}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.RunPod(ctx, "default", "plain", "127.0.1.3", "192.0.2.12", nil, "app"); err != nil {
		t.Fatal(err)
	}
	// A sidecar whose admin port nothing listens on, and a pod not started yet.
	if _, err := k.RunPod(ctx, "default", "down", "127.0.1.4", "192.0.2.13", nil, "app", "istio-proxy"); err != nil {
		t.Fatal(err)
	}
	// A sidecar that accepts connections and never answers, for --request-timeout.
	hang, err := net.Listen("tcp", "127.0.1.6:15000")
	if err != nil {
		t.Fatal(err)
	}
	defer hang.Close()
	go func() {
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	if _, err := k.RunPod(ctx, "default", "hang", "127.0.1.6", "192.0.2.15", nil, "istio-proxy"); err != nil {
		t.Fatal(err)
	}
	pending := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "pending", Namespace: "default"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "istio-proxy", Image: "stand-in"}}}}
	if _, err := client.CoreV1().Pods("default").Create(ctx, pending, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	bin, mesh := meshRunner(t, ctx, s)

	for _, kind := range []string{"listeners", "routes", "clusters", "secrets", "bootstrap"} {
		live, errOut, code := mesh(kind, "frontend")
		if code != 0 {
			t.Fatalf("kubectl mesh %s frontend: exit %d: %s", kind, code, errOut)
		}
		file, _, _ := mesh(kind, "-f", "../../examples/istio-sidecar.json")
		if live != file || live == "" {
			t.Errorf("%s: live output differs from the file's\nlive:\n%s\nfile:\n%s", kind, live, file)
		}
		// Only the section the command shows was asked for, and no more
		// bytes came than that section holds in the dump.
		reqs := admin.Requests()
		if last := reqs[len(reqs)-1]; !strings.HasPrefix(last, "/config_dump?mask=") {
			t.Errorf("%s fetched %s, not one section", kind, last)
		}
		if got, most := admin.LastSent(), sectionBytes(t, dump, kind)+200; got > most || got == 0 {
			t.Errorf("%s fetched %d bytes; its section of the %d-byte dump holds %d", kind, got, len(dump), most-200)
		}
	}
	if out, _, code := mesh("listeners", "pod/frontend", "-n", "default", "--port", "15006", "--no-headers"); code != 0 || !strings.Contains(out, "InboundPassthroughCluster") {
		t.Errorf("pod/NAME with -n and a filter: exit %d\n%s", code, out)
	}
	for _, tc := range [][2]string{{"endpoints", clustersFile}, {"config", "../../examples/istio-sidecar.json"}} {
		live, errOut, code := mesh(tc[0], "frontend")
		file, _, _ := mesh(tc[0], "-f", tc[1])
		if code != 0 || live != file || live == "" {
			t.Errorf("%s live: exit %d (%s); output differs from -f %s", tc[0], code, errOut, tc[1])
		}
	}
	// A mask no section of this dump can take is a 400 from Envoy: the
	// command falls back to the whole dump, then says it holds none (exit 0,
	// as kubectl says "No resources found").
	if _, errOut, code := mesh("ecds", "frontend"); code != 0 || !strings.Contains(errOut, "No resources found: the input has no ECDS filter configs") {
		t.Errorf("ecds on a dump without ECDS: exit %d, %q", code, errOut)
	}
	if reqs := admin.Requests(); len(reqs) < 2 || !strings.HasPrefix(reqs[len(reqs)-2], "/config_dump?mask=ecds_filters") || reqs[len(reqs)-1] != "/config_dump" {
		t.Errorf("ecds requests: %v; want the mask, then the whole dump", reqs[max(0, len(reqs)-2):])
	}
	raw, errOut, code := mesh("admin", "deploy/frontend", "/config_dump")
	if code != 0 || raw != string(dump) {
		t.Errorf("admin deploy/frontend /config_dump: exit %d (%s), %d bytes; want the %d-byte dump", code, errOut, len(raw), len(dump))
	}
	if _, errOut, code := mesh("admin", "frontend", "/no/such/path"); code != 3 || !strings.Contains(errOut, "admin answered 404") {
		t.Errorf("admin on a missing path: exit %d, %q", code, errOut)
	}
	// Without a path: the tunnel stays open until Ctrl-C, then its port is closed.
	tun := exec.CommandContext(ctx, "kubectl", "mesh", "admin", "frontend")
	tun.Env = meshEnv(bin, s.Kubeconfig)
	tunOut, _ := tun.StdoutPipe()
	if err := tun.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(tunOut).ReadString('\n')
	if err != nil || !strings.Contains(line, "at http://127.0.0.1:") {
		t.Fatalf("admin tunnel: %v %q", err, line)
	}
	url := strings.Fields(line)[5]
	if resp, err := http.Get(url + "/config_dump"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET through the admin tunnel: %v", err)
	} else {
		resp.Body.Close()
	}
	_ = tun.Process.Signal(os.Interrupt) // kubectl passes it on to the plugin's process group
	if err := tun.Wait(); err != nil {
		t.Errorf("admin tunnel after Ctrl-C: %v", err)
	}
	if conn, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "http://"), time.Second); err == nil {
		conn.Close()
		t.Errorf("the tunnel's port %s still accepts connections after Ctrl-C", url)
	}
	want, _, _ := mesh("clusters", "frontend")
	for _, target := range [][]string{{"deploy/frontend"}, {"svc/frontend"}, {"-l", "app=frontend"},
		{"sts/frontend"}, {"statefulsets.apps/frontend"}, {"daemonset/frontend"}} {
		got, errOut, code := mesh(append([]string{"clusters"}, target...)...)
		if code != 0 || got != want {
			t.Errorf("clusters %v: exit %d (%s); want the frontend pod's clusters", target, code, errOut)
		}
	}
	limited, err := s.UserKubeconfig(ctx, client, "limited", "default", []string{"get", "list"}, "pods")
	if err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := mesh("listeners", "frobs/x"); code != 2 || !strings.Contains(errOut, `the API server has no resource type "frobs"`) {
		t.Errorf("listeners frobs/x: exit %d, stderr %q; want status 2 naming the unknown type", code, errOut)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"listeners", "nosuchpod"}, "pod default/nosuchpod not found"},
		{[]string{"listeners", "sts/nosuch"}, "statefulset default/nosuch not found"},
		{[]string{"listeners", "plain"}, "has no istio-proxy container; is injection enabled"},
		{[]string{"listeners", "deploy/nosuch"}, "deployment default/nosuch not found"},
		{[]string{"listeners", "pending"}, "pod default/pending is Pending, not Running"},
		{[]string{"listeners", "hang", "--request-timeout", "2s"}, "pod default/hang: the Envoy admin port 15000 did not answer"},
		{[]string{"listeners", "down"}, "pod default/down: nothing answered on the Envoy admin port 15000; is the proxy running?"},
		{[]string{"listeners", "-l", "app=nothing"}, "no Running and Ready pod behind selector app=nothing"},
		{[]string{"listeners", "frontend", "--kubeconfig", limited}, "needs get and create on pods/portforward"},
		{[]string{"listeners", "frontend", "--server", "https://127.0.0.1:1", "--insecure-skip-tls-verify"}, "cannot reach the API server at https://127.0.0.1:1"},
	} {
		_, errOut, code := mesh(tc.args...)
		if code != 3 || !strings.Contains(errOut, tc.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want status 3 and one line with %q", tc.args, code, errOut, tc.want)
		}
	}

	// trace --from a live pod: the same answer as on the file, and the URL's
	// host looked up as a Service.
	live, errOut, code := mesh("trace", "--from", "deploy/frontend", "http://backend.demo.svc.cluster.local:8080/api", "--address", "10.96.173.1", "-o", "json")
	file, _, _ := mesh("trace", "-f", "../../examples/istio-sidecar.json", "http://backend.demo.svc.cluster.local:8080/api", "--address", "10.96.173.1", "-o", "json")
	// The same choices as on the file; the outcome differs: live, the
	// endpoints' health comes from the pod's /clusters (here a recording of
	// another mesh, which has no backend endpoints), so the request would
	// find no healthy upstream.
	if code != 1 || !strings.Contains(live, `"result": "no_healthy_upstream"`) || !strings.Contains(live, `"proxy": "frontend.default"`) {
		t.Errorf("trace --from deploy/frontend: exit %d %s\n%s", code, errOut, live)
	}
	choices := func(s string) string {
		var keep []string
		for _, l := range strings.Split(s, "\n") {
			for _, k := range []string{`"listener":`, `"filter_chain":`, `"route_config":`, `"virtual_host":`, `"route":`, `"cluster":`} {
				if strings.HasPrefix(strings.TrimSpace(l), k) {
					keep = append(keep, l)
				}
			}
		}
		return strings.Join(keep, "\n")
	}
	if choices(live) != choices(file) || choices(live) == "" {
		t.Errorf("trace live and on the file choose differently:\nlive:\n%s\nfile:\n%s", live, file)
	}
	svc, err := client.CoreV1().Services("default").Get(ctx, "frontend", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out, errOut, _ := mesh("trace", "--from", "frontend", "http://frontend:8080/", "-o", "json")
	if !strings.Contains(out, `"address": "`+svc.Spec.ClusterIP+`"`) {
		t.Errorf("trace --from frontend http://frontend:8080/ did not go to the Service's ClusterIP %s: %s\n%s", svc.Spec.ClusterIP, errOut, out)
	}

	// deploy/rbac.yaml is all a user needs: applied with the real kubectl and
	// bound to a user with no other rights, every kind of target works.
	if out, err := exec.CommandContext(ctx, "kubectl", "--kubeconfig", s.Kubeconfig, "apply", "-f", "../../deploy/rbac.yaml").CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply deploy/rbac.yaml: %v\n%s", err, out)
	}
	if out, err := exec.CommandContext(ctx, "kubectl", "--kubeconfig", s.Kubeconfig, "create", "rolebinding", "mesh-debug",
		"--clusterrole=kubectl-mesh", "--user=jane", "-n", "default").CombinedOutput(); err != nil {
		t.Fatalf("kubectl create rolebinding: %v\n%s", err, out)
	}
	jane, err := s.Kubeconfig4(ctx, "jane")
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range [][]string{{"frontend"}, {"deploy/frontend"}, {"svc/frontend"}, {"-l", "app=frontend"}, {"sts/frontend"}} {
		got, errOut, code := mesh(append([]string{"clusters", "--kubeconfig", jane}, target...)...)
		if code != 0 || got != want {
			t.Errorf("clusters %v as a user with deploy/rbac.yaml: exit %d (%s)", target, code, errOut)
		}
	}
	// ambient reads the namespace, its pods and services with that role too.
	if out, errOut, code := mesh("ambient", "--kubeconfig", jane, "-n", "default", "--no-headers"); code != 0 || !strings.Contains(out, "frontend") {
		t.Errorf("ambient -n default as a user with deploy/rbac.yaml: exit %d (%s)\n%s", code, errOut, out)
	}

	// kubectl completes the plugin's arguments through kubectl_complete-mesh:
	// the pods with a sidecar, then deploy/ and svc/ names.
	if err := os.Symlink("kubectl-mesh", bin+"/kubectl_complete-mesh"); err != nil {
		t.Fatal(err)
	}
	complete := func(args ...string) []string {
		cmd := exec.CommandContext(ctx, "kubectl", append([]string{"__complete", "mesh"}, args...)...)
		cmd.Env = meshEnv(bin, jane)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("kubectl __complete mesh %v: %v", args, err)
		}
		var words []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if !strings.HasPrefix(l, ":") {
				words = append(words, l)
			}
		}
		return words
	}
	if got := strings.Join(complete("listeners", ""), " "); got != "down frontend hang deploy/ svc/" {
		t.Errorf("pods completed: %q, want the running pods with a sidecar (not plain, not pending), then deploy/ and svc/", got)
	}
	if got := strings.Join(complete("routes", "deploy/"), " "); got != "deploy/frontend" {
		t.Errorf("deployments completed: %q", got)
	}
	if got := strings.Join(complete("routes", "svc/fr"), " "); got != "svc/frontend" {
		t.Errorf("services completed: %q", got)
	}
	// --namespace completes from the cluster's namespaces (the admin may list them).
	cmd := exec.CommandContext(ctx, "kubectl", "__complete", "mesh", "routes", "-n", "")
	cmd.Env = meshEnv(bin, s.Kubeconfig)
	if out, err := cmd.Output(); err != nil || !strings.Contains(string(out), "\nkube-system\n") {
		t.Errorf("namespaces completed: %v\n%s", err, out)
	}
}
