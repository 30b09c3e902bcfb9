//go:build e2e

package e2e

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/pilot"
)

// startRealIstiod applies Istio's CRDs and starts the real istiod
// (pilot-discovery built from the Go module proxy) out of cluster against
// the stack, as the issue prescribes, then stands its pod up in
// istio-system so kubectl mesh reaches its debug port by port-forward like
// any pod's.
func startRealIstiod(t *testing.T, ctx context.Context, s *Stack, k *Kubelet, env ...string) {
	t.Helper()
	out, err := exec.Command("../../hack/e2e/build.sh", "pilot-discovery").Output()
	if err != nil {
		t.Fatalf("hack/e2e/build.sh pilot-discovery: %v", err)
	}
	bin := strings.TrimSpace(string(out))
	if out, err := exec.CommandContext(ctx, "kubectl", "--kubeconfig", s.Kubeconfig, "apply", "--server-side", "-f", filepath.Join(bin, "crd-all.gen.yaml")).CombinedOutput(); err != nil {
		t.Fatalf("apply Istio's CRDs: %v\n%s", err, out)
	}
	client := s.client(t)
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "istio-system"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.DefaultServiceAccounts(ctx, client, "istio-system"); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(bin, "pilot-discovery"), "discovery", "--kubeconfig", s.Kubeconfig,
		"--meshConfig", filepath.Join(s.Dir, "no-mesh-config.yaml"),
		"--httpAddr", "127.0.0.1:8080", "--grpcAddr", "127.0.0.1:15010", "--secureGRPCAddr", "127.0.0.1:15012",
		"--monitoringAddr", "127.0.0.1:15014", "--httpsAddr", "127.0.0.1:15017")
	cmd.Env = append(append(os.Environ(), "POD_NAMESPACE=istio-system", "REVISION=default", "KUBECONFIG="+s.Kubeconfig), env...)
	startLogged(t, s, "istiod.log", cmd)
	ready := eventually(90*time.Second, 500*time.Millisecond, func() bool {
		resp, err := http.Get("http://127.0.0.1:8080/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	if !ready {
		t.Fatalf("istiod not ready after 90s: see %s/istiod.log", s.Dir)
	}
	// istiod's pod: its ports are the loopback ones istiod listens on.
	if _, err := k.RunPod(ctx, "istio-system", "istiod-7c9f8", "127.0.0.1", "192.0.2.50", map[string]string{"app": "istiod", "istio.io/rev": "default"}, "discovery"); err != nil {
		t.Fatal(err)
	}
}

// startLogged starts a process of the stack with its output in the stack's
// directory, killed (with its children) when the test ends.
func startLogged(t *testing.T, s *Stack, logName string, cmd *exec.Cmd) {
	t.Helper()
	log, err := os.Create(filepath.Join(s.Dir, logName))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		log.Close()
	})
}

// TestRealIstiod reads the real istiod's views, and watches its registry
// and config change as a Service and a VirtualService are applied.
func TestRealIstiod(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s, _, k, _ := startWithKubelet(t, ctx)
	startRealIstiod(t, ctx, s, k)
	bin, mesh := meshRunner(t, ctx, s)

	out, errOut, code := mesh("pilot", "registry")
	if code != 0 || !strings.Contains(out, "kubernetes.default.svc.cluster.local") {
		t.Fatalf("pilot registry from the real istiod: exit %d %s\n%s", code, errOut, out)
	}
	if out, errOut, code := mesh("status", "--check"); code != 0 || !strings.HasPrefix(out, "NAME") {
		t.Errorf("status with no proxy connected: exit %d %s\n%s", code, errOut, out)
	}
	if out, errOut, code := mesh("pilot", "push-status", "-o", "json"); code != 0 || !strings.HasPrefix(strings.TrimSpace(out), "{") {
		t.Errorf("pilot push-status: exit %d %s\n%s", code, errOut, out)
	}

	// Watch the registry while a Service is applied: its row appears.
	watch := startMesh(t, ctx, bin, s.Kubeconfig, "pilot", "registry", "--watch", "--interval", "500ms")
	apply := func(yaml string) {
		c := exec.CommandContext(ctx, "kubectl", "--kubeconfig", s.Kubeconfig, "apply", "-f", "-")
		c.Stdin = strings.NewReader(yaml)
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("kubectl apply: %v\n%s", err, out)
		}
	}
	if !watch.waitOutput("HOSTNAME") {
		t.Fatalf("--watch printed no table:\n%s", watch.Output())
	}
	apply(`apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
`)
	if !watch.waitOutput("+ reviews.default.svc.cluster.local") {
		t.Errorf("the applied Service did not appear as a + row:\n%s", watch.Output())
	}
	watch.interrupt()

	// A VirtualService reaches istiod's config.
	apply(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
`)
	apply(`apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: public, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
`)
	var config string
	if !eventually(30*time.Second, time.Second, func() bool {
		config, _, _ = mesh("pilot", "config")
		return strings.Contains(config, "VirtualService") && strings.Contains(config, "reviews") && strings.Contains(config, "Gateway") && strings.Contains(config, "public")
	}) {
		t.Fatalf("the VirtualService and Gateway never reached istiod's config:\n%s", config)
	}

	// pilot lds|cds POD: what istiod would send a pod, asked over xDS as it.
	if _, err := k.RunPod(ctx, "default", "sleep", "127.0.1.60", "192.0.2.60", map[string]string{"app": "sleep"}, "sleep", "istio-proxy"); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := mesh("pilot", "cds", "sleep"); code != 0 || !strings.Contains(out, "reviews.default.svc.cluster.local") {
		t.Errorf("pilot cds sleep: exit %d %s\n%s", code, errOut, out)
	}
	if out, errOut, code := mesh("pilot", "lds", "sleep", "--port", "9080"); code != 0 || !strings.Contains(out, "9080") {
		t.Errorf("pilot lds sleep: exit %d %s\n%s", code, errOut, out)
	}

	// Sidecar stand-ins: test processes connected to istiod over ADS as two
	// pods' nodes. One acknowledges what it gets and serves it on its admin
	// port; the other never acknowledges.
	startSidecar(t, ctx, "127.0.1.60:15000", pilot.Proxy{Pod: "sleep", Namespace: "default", IP: "192.0.2.60", Labels: map[string]string{"app": "sleep"}}, true)
	if _, err := k.RunPod(ctx, "default", "stuck", "127.0.1.61", "192.0.2.61", map[string]string{"app": "stuck"}, "stuck", "istio-proxy"); err != nil {
		t.Fatal(err)
	}
	startSidecar(t, ctx, "127.0.1.61:15000", pilot.Proxy{Pod: "stuck", Namespace: "default", IP: "192.0.2.61", Labels: map[string]string{"app": "stuck"}}, false)
	var status string
	eventually(30*time.Second, time.Second, func() bool {
		status, _, _ = mesh("status", "--no-headers")
		return strings.Contains(status, "sleep.default") && strings.Contains(status, "stuck.default")
	})
	if !regexp.MustCompile(`SYNCED \d+s`).MatchString(status) {
		t.Errorf("status should say how long ago each type was sent:\n%s", status)
	}
	lines := strings.Split(strings.TrimSpace(status), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "stuck.default") || !strings.Contains(lines[0], "STALE") ||
		!strings.Contains(status, "sleep.default") || !strings.Contains(lines[len(lines)-1], "SYNCED") {
		t.Errorf("status: the stuck proxy should come first, STALE; sleep SYNCED:\n%s", status)
	}
	if _, _, code := mesh("status", "--check"); code != 1 {
		t.Errorf("status --check with a stale proxy: exit %d, want 1", code)
	}
	// The same over istiod's xDS debug type (istio.io/debug/syncz on 15010),
	// as when its HTTP debug endpoints are off.
	// A second istiod pod reachable only on the secure port 15012 (a relay
	// from its loopback address to istiod's): status --xds falls back to it,
	// with a TokenRequest token and istiod's root certificate.
	relay(t, "127.0.1.70:15012", "127.0.0.1:15012")
	if _, err := k.RunPod(ctx, "istio-system", "istiod-secure", "127.0.1.70", "192.0.2.70", map[string]string{"app": "istiod"}, "discovery"); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := mesh("status", "--xds", "--no-headers"); code != 0 || !strings.Contains(out, "istiod-secure") {
		t.Errorf("status --xds through the secure port: exit %d %s\n%s", code, errOut, out)
	}
	if out, errOut, code := mesh("status", "--xds", "--no-headers"); code != 0 || !strings.Contains(out, "sleep.default") || !strings.Contains(out, "stuck.default") {
		t.Errorf("status --xds: exit %d %s\n%s", code, errOut, out)
	} else if first := strings.SplitN(out, "\n", 2)[0]; !strings.HasPrefix(first, "stuck.default") {
		t.Errorf("status --xds: the stuck proxy should come first:\n%s", out)
	}
	// diff POD: istiod's view of sleep against what its stand-in holds,
	// which is what istiod sent it. istiod writes Istio's own filter configs
	// (istio.alpn, stats) by their fields; the stand-in, which cannot decode
	// them, keeps their bytes: those are reported as not compared, never as
	// a match, and everything else matches.
	if out, errOut, code := mesh("diff", "sleep"); code != 1 || !strings.Contains(out, "Clusters Match") || !strings.Contains(out, "Routes Match") {
		t.Errorf("diff sleep: exit %d %s\n%s", code, errOut, out)
	} else {
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "      ") && !strings.Contains(l, "not compared") {
				t.Errorf("diff sleep: a difference other than an undecodable config: %s\n%s", l, out)
			}
		}
	}
	// pilot logs: the real istiod's log, served as its pod's discovery
	// container log by the test kubelet.
	istiodLog, err := os.ReadFile(filepath.Join(s.Dir, "istiod.log"))
	if err != nil {
		t.Fatal(err)
	}
	k.SetLog("istio-system", "istiod-7c9f8", "discovery", string(istiodLog))
	if out, errOut, code := mesh("pilot", "logs", "--all", "--tail", "50"); code != 0 || strings.Count(out, "\n") == 0 || !strings.HasPrefix(out, "istiod-7c9f8 ") {
		t.Errorf("pilot logs --all: exit %d %s\n%s", code, errOut, out)
	}
	if out, _, code := mesh("pilot", "logs"); code != 0 {
		t.Errorf("pilot logs: exit %d", code)
	} else {
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if l != "" && !strings.Contains(strings.ToLower(l), "warn") && !strings.Contains(strings.ToLower(l), "error") {
				t.Errorf("pilot logs shows a line that is neither a warning nor an error: %s", l)
			}
		}
	}
	if out, _, _ := mesh("pilot", "logs", "--all", "--proxy", "sleep.default"); !strings.Contains(out, "sleep.default") {
		t.Errorf("pilot logs --proxy sleep.default: istiod logs the connection of sleep; got\n%s", out)
	}

	// --watch on a proxy's clusters while a Service is applied: istiod
	// pushes, the stand-in takes it, the new cluster appears as a + row.
	watchClusters := startMesh(t, ctx, bin, s.Kubeconfig, "clusters", "sleep", "--watch", "--interval", "500ms")
	if !watchClusters.waitOutput("SERVICE FQDN") {
		t.Fatalf("clusters --watch printed no table:\n%s", watchClusters.Output())
	}
	apply(`apiVersion: v1
kind: Service
metadata: {name: ratings, namespace: default}
spec:
  selector: {app: ratings}
  ports: [{name: http, port: 9080}]
`)
	if !watchClusters.waitOutput("+ ratings.default.svc.cluster.local") {
		t.Errorf("the new Service's cluster did not appear in the proxy's clusters:\n%s", watchClusters.Output())
	}
	watchClusters.interrupt()
	// The same push gave the proxy a virtual host for it in route config 9080.
	if out, ok := meshEventually(mesh, "ratings.default.svc.cluster.local", "routes", "sleep", "--name", "9080"); !ok {
		t.Errorf("the Service's virtual host never reached the proxy's routes:\n%s", out)
	}

	// A pod and its EndpointSlice: the endpoint reaches istiod's shards.
	if _, err := k.RunPod(ctx, "default", "ratings-1", "127.0.1.62", "192.0.2.62", map[string]string{"app": "ratings"}, "ratings", "istio-proxy"); err != nil {
		t.Fatal(err)
	}
	apply(`apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ratings-e2e, namespace: default, labels: {kubernetes.io/service-name: ratings}}
addressType: IPv4
ports: [{name: http, port: 9080, protocol: TCP}]
endpoints:
- addresses: [192.0.2.62]
  conditions: {ready: true}
  targetRef: {kind: Pod, namespace: default, name: ratings-1}
`)
	if out, ok := meshEventually(mesh, "192.0.2.62", "pilot", "endpoints", "-o", "json"); !ok {
		t.Errorf("the EndpointSlice's address never reached istiod's endpoint shards:\n%s", out)
	}
	// ... and istiod pushes it to the proxy: its /clusters shows the host.
	if out, ok := meshEventually(mesh, "192.0.2.62:9080", "endpoints", "sleep", "--cluster", "outbound|9080||ratings.default.svc.cluster.local"); !ok {
		t.Errorf("the endpoint never reached the proxy:\n%s", out)
	}

	// Authorization: a policy for ratings applied to the real istiod reaches
	// the ratings pod's inbound listener as an RBAC filter, and trace decides
	// with it, naming the policy.
	startSidecar(t, ctx, "127.0.1.62:15000", pilot.Proxy{Pod: "ratings-1", Namespace: "default", IP: "192.0.2.62", Labels: map[string]string{"app": "ratings"}}, true)
	apply(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ratings-viewer, namespace: default}
spec:
  selector: {matchLabels: {app: ratings}}
  action: ALLOW
  rules:
  - from: [{source: {principals: [cluster.local/ns/default/sa/sleep]}}]
    to: [{operation: {methods: [GET]}}]
`)
	inbound := func(identity, method string) []string {
		return []string{"trace", "--from", "ratings-1", "--mode", "inbound", "--address", "192.0.2.62", "--port", "9080", "--tls", "mtls",
			"--protocol", "http", "-X", method, "--client-identity", identity, "-o", "json"}
	}
	if out, ok := meshEventually(mesh, `"decision": "deny"`, inbound("spiffe://cluster.local/ns/default/sa/other", "GET")...); !ok {
		t.Errorf("the AuthorizationPolicy never denied another identity in a trace of ratings' inbound side:\n%s", out)
	}
	if out, errOut, code := mesh(inbound("spiffe://cluster.local/ns/default/sa/sleep", "GET")...); code != 0 ||
		!strings.Contains(out, `"result": "forwarded"`) || !strings.Contains(out, "ns[default]-policy[ratings-viewer]-rule[0]") {
		t.Errorf("trace of an allowed GET from sleep: exit %d %s\n%s", code, errOut, out)
	}
	if out, errOut, code := mesh(inbound("spiffe://cluster.local/ns/default/sa/sleep", "POST")...); code != 1 ||
		!strings.Contains(out, `"result": "denied"`) || !strings.Contains(out, `"response_flag": "RBAC"`) {
		t.Errorf("trace of a POST the policy does not allow: exit %d %s\n%s", code, errOut, out)
	}

	// The proxy that never acknowledged holds nothing of what istiod intends.
	if out, errOut, code := mesh("diff", "stuck"); code != 1 || !strings.Contains(out, "Clusters Don't Match") {
		t.Errorf("diff stuck: exit %d %s\n%s", code, errOut, out)
	}
}

// startSidecar plays a pod's Envoy: an ADS stream to the real istiod as
// the pod's node, acknowledging (or not) what it gets, and an admin
// endpoint serving what it received as /config_dump.
func startSidecar(t *testing.T, ctx context.Context, adminAddr string, p pilot.Proxy, ack bool) {
	t.Helper()
	ads, err := pilot.DialADS(ctx, "127.0.0.1:15010", p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ads.Close)
	var dump []byte
	if ack {
		cfg, err := ads.FetchAll()
		if err != nil {
			t.Fatalf("%s: %v", p.Pod, err)
		}
		if dump, err = cfg.ConfigDump(); err != nil {
			t.Fatal(err)
		}
		admin := startAdmin(t, adminAddr, dump, clustersJSON(cfg))
		// Keep following pushes, as Envoy does, and serve the latest.
		go func() {
			_ = ads.Follow(cfg, func(c *pilot.Config) {
				if d, err := c.ConfigDump(); err == nil {
					admin.SetDump(d, clustersJSON(c))
				}
			})
		}()
		return
	} else {
		if err := ads.Request(pilot.ClusterType, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := ads.Receive(); err != nil {
			t.Fatal(err)
		}
		dump = []byte(`{"configs":[]}`)
	}
	startAdmin(t, adminAddr, dump, nil)
}

// relay forwards TCP connections from listen to target until the test ends.
func relay(t *testing.T, listen, target string) {
	t.Helper()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				u, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer u.Close()
				go func() { _, _ = io.Copy(u, c) }()
				_, _ = io.Copy(c, u)
			}()
		}
	}()
}
