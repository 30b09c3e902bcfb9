//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/pilot"
)

// startZtunnel runs the ztunnel stand-in (hack/e2e/ztunnel-standin, built
// against the istiod's own istio.io/istio): a delta ADS client of the real
// istiod as a ztunnel node, serving what it receives on its admin
// /config_dump in ztunnel's shape, behind a ztunnel pod of the node.
func startZtunnel(t *testing.T, ctx context.Context, s *Stack, k *Kubelet) {
	t.Helper()
	out, err := exec.Command("../../hack/e2e/build.sh", "ztunnel-standin").Output()
	if err != nil {
		t.Fatalf("hack/e2e/build.sh ztunnel-standin: %v", err)
	}
	if _, err := k.RunPod(ctx, "istio-system", "ztunnel-e2e", "127.0.1.82", "192.0.2.82", map[string]string{"app": "ztunnel"}, "istio-proxy"); err != nil {
		t.Fatal(err)
	}
	startLogged(t, s, "ztunnel.log", exec.Command(strings.TrimSpace(string(out)), "--xds", "127.0.0.1:15010", "--admin", "127.0.1.82:15000",
		"--pod", "ztunnel-e2e", "--namespace", "istio-system", "--ip", "192.0.2.82", "--node", k.NodeName))
}

// ambientPod runs a pod istio-cni has captured (the test plays istio-cni:
// it sets ambient.istio.io/redirection as istio-cni does once redirection
// is in place).
func ambientPod(t *testing.T, ctx context.Context, k *Kubelet, c interface {
	Patch(context.Context, string, types.PatchType, []byte, metav1.PatchOptions, ...string) (*corev1.Pod, error)
}, ns, name, sa, loopback, ip string, labels map[string]string) {
	t.Helper()
	if _, err := k.RunPodAs(ctx, ns, name, sa, loopback, ip, labels, name); err != nil {
		t.Fatal(err)
	}
	patch := []byte(`{"metadata":{"annotations":{"ambient.istio.io/redirection":"enabled"}}}`)
	if _, err := c.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestAmbientWithRealIstiod: the real istiod in ambient mode sends a
// ztunnel node real workloads, services and L4 policies; ztunnel views,
// ambient, status and trace read them.
func TestAmbientWithRealIstiod(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	s, client, k, _ := startWithKubelet(t, ctx)
	// The Gateway API's CRDs first: istiod's waypoints are Gateways.
	bin, err := exec.Command("../../hack/e2e/build.sh", "pilot-discovery").Output()
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.CommandContext(ctx, "kubectl", "--kubeconfig", s.Kubeconfig, "apply", "--server-side", "-f",
		filepath.Join(strings.TrimSpace(string(bin)), "gateway-api-crds.yaml")).CombinedOutput(); err != nil {
		t.Fatalf("apply the Gateway API's CRDs: %v\n%s", err, out)
	}
	startRealIstiod(t, ctx, s, k, "PILOT_ENABLE_AMBIENT=true")
	_, mesh := meshRunner(t, ctx, s)
	apply := func(yaml string) {
		c := exec.CommandContext(ctx, "kubectl", "--kubeconfig", s.Kubeconfig, "apply", "-f", "-")
		c.Stdin = strings.NewReader(yaml)
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("kubectl apply: %v\n%s", err, out)
		}
	}
	apply(`apiVersion: v1
kind: Namespace
metadata: {name: demo, labels: {istio.io/dataplane-mode: ambient}}
`)
	if err := s.DefaultServiceAccounts(ctx, client, "demo"); err != nil {
		t.Fatal(err)
	}
	for _, sa := range []string{"sleep", "waypoint"} {
		if _, err := client.CoreV1().ServiceAccounts("demo").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pods := client.CoreV1().Pods("demo")
	ambientPod(t, ctx, k, pods, "demo", "sleep", "sleep", "127.0.1.80", "192.0.2.80", map[string]string{"app": "sleep"})
	ambientPod(t, ctx, k, pods, "demo", "httpbin", "", "127.0.1.81", "192.0.2.81", map[string]string{"app": "httpbin"})
	if _, err := k.RunPod(ctx, "demo", "legacy", "127.0.1.83", "192.0.2.83", map[string]string{"app": "legacy", "istio.io/dataplane-mode": "none"}, "legacy"); err != nil {
		t.Fatal(err)
	}
	apply(`apiVersion: v1
kind: Service
metadata: {name: httpbin, namespace: demo}
spec:
  selector: {app: httpbin}
  ports: [{name: http, port: 8000, targetPort: 80}]
`)
	startZtunnel(t, ctx, s, k)

	// What istiod sent the ztunnel: the pods as workloads, HBONE for the
	// captured ones; the Service with its VIP and endpoint.
	var workloads string
	if !eventually(60*time.Second, time.Second, func() bool {
		workloads, _, _ = mesh("ztunnel", "workloads", "--workload-namespace", "demo", "--no-headers")
		return strings.Contains(workloads, "sleep") && strings.Contains(workloads, "httpbin") && strings.Contains(workloads, "legacy")
	}) {
		t.Fatalf("the ztunnel never received demo's workloads:\n%s\nztunnel.log: %s", workloads, readLog(s, "ztunnel.log"))
	}
	for _, l := range strings.Split(strings.TrimSpace(workloads), "\n") {
		f := strings.Fields(l)
		want := "HBONE"
		if f[1] == "legacy" {
			want = "TCP"
		}
		if f[len(f)-1] != want || f[3] != k.NodeName {
			t.Errorf("workload %s: %s, want protocol %s on node %s", f[1], l, want, k.NodeName)
		}
	}
	svcs, errOut, code := mesh("ztunnel", "services", "--workload-namespace", "demo", "--no-headers")
	if code != 0 || !strings.Contains(svcs, "httpbin") || !strings.Contains(svcs, "1/1") {
		t.Errorf("ztunnel services: exit %d %s\n%s", code, errOut, svcs)
	}
	// ambient: which pods are captured and why.
	if out, errOut, code := mesh("ambient", "-n", "demo", "-o", "json"); code != 0 {
		t.Errorf("ambient: exit %d %s", code, errOut)
	} else {
		var v struct {
			Pods []struct{ Name, Mode, Why, Captured string }
		}
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatal(err)
		}
		modes := map[string]string{}
		for _, p := range v.Pods {
			modes[p.Name] = p.Mode + "/" + p.Captured
		}
		if modes["sleep"] != "ambient/enabled" || modes["httpbin"] != "ambient/enabled" || modes["legacy"] != "none/" {
			t.Errorf("ambient modes %v", modes)
		}
	}
	// status: the ztunnel's WDS and AUTHZ are acknowledged.
	var status string
	if !eventually(30*time.Second, time.Second, func() bool {
		status, _, _ = mesh("status", "--no-headers")
		return strings.Contains(status, "ztunnel-e2e.istio-system") && strings.Contains(status, "SYNCED")
	}) {
		t.Errorf("status shows no synced ztunnel:\n%s", status)
	}

	// No policy: sleep reaches httpbin, straight (no waypoint), over HBONE.
	out, errOut, code := mesh("trace", "--from", "sleep", "-n", "demo", "http://httpbin:8000/get", "-o", "json")
	if code != 0 || !strings.Contains(out, `"192.0.2.81:15008"`) && !strings.Contains(out, "192.0.2.81 port 15008") {
		t.Errorf("trace without a policy: exit %d %s\n%s", code, errOut, out)
	}
	// An L4 policy applied to istiod reaches the ztunnel, and trace obeys it.
	apply(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: httpbin-from-elsewhere, namespace: demo}
spec:
  selector: {matchLabels: {app: httpbin}}
  action: ALLOW
  rules:
  - from: [{source: {namespaces: [elsewhere]}}]
`)
	var policies string
	if !eventually(30*time.Second, time.Second, func() bool {
		policies, _, _ = mesh("ztunnel", "policies", "-o", "wide", "--no-headers")
		return strings.Contains(policies, "httpbin-from-elsewhere")
	}) {
		t.Fatalf("the policy never reached the ztunnel:\n%s", policies)
	}
	if !strings.Contains(policies, "WorkloadSelector") || !strings.Contains(policies, "namespace elsewhere") {
		t.Errorf("policy row: %s", policies)
	}
	out, _, code = mesh("trace", "--from", "sleep", "-n", "demo", "http://httpbin:8000/get")
	if code != 1 || !strings.Contains(out, "denied") || !strings.Contains(out, "demo/httpbin-from-elsewhere") {
		t.Errorf("trace with an ALLOW policy sleep does not meet: exit %d\n%s", code, out)
	}
	apply(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: httpbin-from-demo, namespace: demo}
spec:
  selector: {matchLabels: {app: httpbin}}
  action: ALLOW
  rules:
  - from: [{source: {namespaces: [demo]}}]
    to: [{operation: {ports: ["80"]}}]
`)
	if !eventually(30*time.Second, time.Second, func() bool {
		out, _, code = mesh("trace", "--from", "sleep", "-n", "demo", "http://httpbin:8000/get")
		return code == 0
	}) {
		t.Errorf("trace once sleep's namespace is allowed: exit %d\n%s", code, out)
	} else if !strings.Contains(out, "demo/httpbin-from-demo") {
		t.Errorf("trace does not name the policy that allowed:\n%s", out)
	}

	// A waypoint for httpbin: the Gateway makes istiod generate its config;
	// its pod's Envoy is a stand-in asking istiod over ADS as a waypoint
	// node. The Gateway names its Service (an unmanaged Gateway, as istiod
	// here has no deployment templates to create one). Once httpbin's
	// Service uses it, ztunnel sends sleep's request to it, and trace walks
	// its real config.
	waypointLabels := map[string]string{"gateway.networking.k8s.io/gateway-name": "waypoint", "gateway.istio.io/managed": "istio.io-mesh-controller",
		"istio.io/dataplane-mode": "none"}
	if _, err := k.RunPodAs(ctx, "demo", "waypoint-7b9d", "waypoint", "127.0.1.84", "192.0.2.84", waypointLabels, "istio-proxy"); err != nil {
		t.Fatal(err)
	}
	apply(`apiVersion: v1
kind: Service
metadata: {name: waypoint, namespace: demo, labels: {gateway.istio.io/managed: istio.io-mesh-controller}}
spec:
  selector: {gateway.networking.k8s.io/gateway-name: waypoint}
  ports: [{name: mesh, port: 15008}, {name: status-port, port: 15021}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: demo, labels: {istio.io/waypoint-for: service}}
spec:
  gatewayClassName: istio-waypoint
  addresses: [{type: Hostname, value: waypoint.demo.svc.cluster.local}]
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
`)
	// The EndpointSlices the controller manager would write for both
	// Services: istiod finds the waypoint's instances, and its cluster's
	// endpoints, in them.
	endpointSlice(t, ctx, client, "demo", "waypoint", "waypoint-7b9d", map[string]int32{"mesh": 15008, "status-port": 15021})
	endpointSlice(t, ctx, client, "demo", "httpbin", "httpbin", map[string]int32{"http": 80})
	var wp string
	if !eventually(60*time.Second, time.Second, func() bool {
		wp, _, _ = mesh("ambient", "-n", "demo", "--no-headers")
		return strings.Contains(wp, "waypoint") && strings.Contains(wp, " true ")
	}) {
		gw, _ := exec.CommandContext(ctx, "kubectl", "--kubeconfig", s.Kubeconfig, "get", "gateway", "-n", "demo", "-o", "yaml").CombinedOutput()
		t.Fatalf("the waypoint Gateway never became ready:\n%s\n%s\nistiod.log: %s", wp, gw, readLog(s, "istiod.log"))
	}
	startSidecar(t, ctx, "127.0.1.84:15000", pilot.Proxy{Pod: "waypoint-7b9d", Namespace: "demo", IP: "192.0.2.84", Labels: waypointLabels,
		ServiceAccount: "waypoint", Type: "waypoint"}, true)
	if out, err := exec.CommandContext(ctx, "kubectl", "--kubeconfig", s.Kubeconfig, "label", "service", "httpbin", "-n", "demo", "istio.io/use-waypoint=waypoint").CombinedOutput(); err != nil {
		t.Fatalf("label httpbin: %v\n%s", err, out)
	}
	if !eventually(60*time.Second, time.Second, func() bool {
		svcs, _, _ = mesh("ztunnel", "services", "--workload-namespace", "demo", "--no-headers")
		return strings.Contains(svcs, "httpbin") && strings.Contains(svcs, "waypoint   1/1")
	}) {
		t.Fatalf("ztunnel never learned httpbin's waypoint:\n%s", svcs)
	}
	if !eventually(60*time.Second, time.Second, func() bool {
		out, _, code = mesh("trace", "--from", "sleep", "-n", "demo", "http://httpbin:8000/get", "-o", "json")
		return code == 0 && strings.Count(out, `"proxy":`) == 3
	}) {
		t.Fatalf("trace through the waypoint: exit %d\n%s", code, out)
	}
	var doc struct {
		Hops []struct {
			Proxy, Direction, Listener, Cluster, Result string
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if h := doc.Hops[1]; h.Direction != "waypoint" || h.Proxy != "waypoint-7b9d.demo" || h.Listener != "main_internal" ||
		!strings.Contains(h.Cluster, "httpbin.demo.svc.cluster.local") || h.Result != "forwarded" {
		t.Errorf("the waypoint hop: %+v", h)
	}
	if !strings.Contains(out, "client identity spiffe://cluster.local/ns/demo/sa/waypoint") {
		t.Errorf("the destination ztunnel should see the waypoint's identity:\n%s", out)
	}
	// Only the waypoint may reach httpbin, as Istio advises for a workload
	// behind a waypoint: through it sleep is allowed, straight to the pod's
	// IP (no waypoint on that path) it is denied.
	if out, err := exec.CommandContext(ctx, "kubectl", "--kubeconfig", s.Kubeconfig, "delete", "authorizationpolicy", "-n", "demo", "--all").CombinedOutput(); err != nil {
		t.Fatalf("delete policies: %v\n%s", err, out)
	}
	apply(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: httpbin-via-waypoint, namespace: demo}
spec:
  selector: {matchLabels: {app: httpbin}}
  action: ALLOW
  rules:
  - from: [{source: {principals: [cluster.local/ns/demo/sa/waypoint]}}]
`)
	if !eventually(30*time.Second, time.Second, func() bool {
		policies, _, _ = mesh("ztunnel", "policies", "--no-headers")
		return strings.Contains(policies, "httpbin-via-waypoint") && !strings.Contains(policies, "httpbin-from-demo")
	}) {
		t.Fatalf("the ztunnel never got the new policies:\n%s", policies)
	}
	if out, _, code := mesh("trace", "--from", "sleep", "-n", "demo", "http://httpbin:8000/get"); code != 0 || !strings.Contains(out, "demo/httpbin-via-waypoint") {
		t.Errorf("sleep through the waypoint: exit %d\n%s", code, out)
	}
	if out, _, code := mesh("trace", "--from", "sleep", "-n", "demo", "http://192.0.2.81:80/get"); code != 1 || !strings.Contains(out, "no ALLOW policy matches (demo/httpbin-via-waypoint)") {
		t.Errorf("sleep straight to httpbin's pod: exit %d\n%s", code, out)
	}

	// The snapshot of ambient pods holds their node's ztunnel dump and the
	// waypoint httpbin uses, as a proxy.
	snap := filepath.Join(t.TempDir(), "ambient.tar.gz")
	if out, errOut, code := mesh("snapshot", "sleep", "httpbin", "-n", "demo", "-o", snap); code != 0 || !strings.Contains(out, "1 proxies, 1 ztunnels") {
		t.Errorf("snapshot sleep httpbin: exit %d %s\n%s", code, errOut, out)
	}
	if out, errOut, code := mesh("ztunnel", "policies", "-f", snap, "--no-headers"); code != 0 || !strings.Contains(out, "httpbin-via-waypoint") {
		t.Errorf("ztunnel policies -f snapshot: exit %d %s\n%s", code, errOut, out)
	}
	if out, errOut, code := mesh("listeners", "-f", snap, "--pod", "demo/waypoint-7b9d", "--no-headers"); code != 0 || !strings.Contains(out, "main_internal") {
		t.Errorf("the snapshot's waypoint: exit %d %s\n%s", code, errOut, out)
	}
	// Offline, from the snapshot alone: the same three hops.
	if out, errOut, code := mesh("trace", "--ztunnel", snap, "--waypoint", snap, "--source-ip", "192.0.2.80", "http://httpbin.demo:8000/get", "-o", "json"); code != 0 ||
		strings.Count(out, `"proxy":`) != 3 || !strings.Contains(out, "demo/httpbin-via-waypoint") {
		t.Errorf("trace from the snapshot: exit %d %s\n%s", code, errOut, out)
	}
}

// endpointSlice writes the EndpointSlice of a Service with one ready pod.
func endpointSlice(t *testing.T, ctx context.Context, client kubernetes.Interface, ns, svc, pod string, ports map[string]int32) {
	t.Helper()
	p, err := client.CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ready, proto := true, corev1.ProtocolTCP
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: svc + "-e2e", Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{p.Status.PodIP}, Conditions: discoveryv1.EndpointConditions{Ready: &ready},
			NodeName: &p.Spec.NodeName, TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: p.Name, UID: p.UID}}},
	}
	for name, port := range ports {
		slice.Ports = append(slice.Ports, discoveryv1.EndpointPort{Name: &name, Port: &port, Protocol: &proto})
	}
	if _, err := client.DiscoveryV1().EndpointSlices(ns).Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func readLog(s *Stack, name string) string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, name))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
