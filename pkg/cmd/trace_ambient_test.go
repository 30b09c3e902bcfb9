package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/kube"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/render"
)

const ambientZtunnel = "testdata/ambient/ztunnel-httpbin.json"

// realWaypoint is the Istio 1.21 waypoint dump of ../shared/fixtures. Its
// CDS lacks inbound-vip|8100 although EDS has its endpoint; whole, it
// answers 8100 with NC, as Envoy would. completed adds that cluster (a
// copy of 8000's) so a request can go all the way through.
func realWaypoint(t *testing.T, completed bool) string {
	t.Helper()
	path := fixture("istio/istioctl-golden/proxyconfig-all/config_dump.json")
	if !completed {
		return path
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(readFixture(t, "istio/istioctl-golden/proxyconfig-all/config_dump.json")), &doc); err != nil {
		t.Fatal(err)
	}
	for _, c := range doc["configs"].([]any) {
		cm := c.(map[string]any)
		dyn, ok := cm["dynamic_active_clusters"].([]any)
		if !ok {
			continue
		}
		for _, dc := range dyn {
			cl := dc.(map[string]any)["cluster"].(map[string]any)
			if cl["name"] == "inbound-vip|8000|http|httpbin.default.svc.cluster.local" {
				b, _ := json.Marshal(dc)
				var cp map[string]any
				_ = json.Unmarshal(b, &cp)
				cp["cluster"].(map[string]any)["name"] = "inbound-vip|8100|http|httpbin.default.svc.cluster.local"
				if eds, ok := cp["cluster"].(map[string]any)["eds_cluster_config"].(map[string]any); ok {
					eds["service_name"] = "inbound-vip|8100|http|httpbin.default.svc.cluster.local"
				}
				cm["dynamic_active_clusters"] = append(dyn, cp)
				break
			}
		}
	}
	out := filepath.Join(t.TempDir(), "waypoint.json")
	b, _ := json.Marshal(doc)
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAmbientTraceThroughZtunnelAndWaypoint(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		results []string // per hop
		want    []string // in the output
	}{
		{"service with a waypoint, without its dump: unknown",
			[]string{"--source-ip", "192.168.195.240", "http://httpbin.default:8100/get"}, ExitUnknown,
			[]string{"forwarded", "unknown"}, []string{"give its dump with --waypoint FILE"}},
		{"the real waypoint as it is: NC for 8100",
			[]string{"--source-ip", "192.168.195.240", "--waypoint", "REAL", "http://httpbin.default:8100/get"}, ExitNegative,
			[]string{"forwarded", "no_cluster"}, nil},
		{"through the waypoint to the pod, allowed there as the waypoint",
			[]string{"--source-ip", "192.168.195.240", "--waypoint", "COMPLETED", "http://httpbin.default:8100/get"}, 0,
			[]string{"forwarded", "forwarded", "forwarded"}, []string{"client identity spiffe://cluster.local/ns/default/sa/httpbin-istio-waypoint", "policy default/httpbin-from-waypoint"}},
		{"straight to the pod's IP: no waypoint, denied as sleep",
			[]string{"--source-ip", "192.168.195.240", "http://192.168.195.248:800/get"}, ExitNegative,
			[]string{"forwarded", "denied"}, []string{"no ALLOW policy matches (default/httpbin-from-waypoint)"}},
		{"a client not in ambient mode: passthrough",
			[]string{"--source-ip", "10.9.9.9", "http://10.104.171.68:8000/"}, 0,
			[]string{"passthrough"}, []string{"not captured"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"trace", "--ztunnel", ambientZtunnel, "-o", "json"}
			for _, a := range tc.args {
				switch a {
				case "REAL":
					a = realWaypoint(t, false)
				case "COMPLETED":
					a = realWaypoint(t, true)
				}
				args = append(args, a)
			}
			out, _, err := run(t, "", args...)
			if ExitCode(err) != tc.code {
				t.Fatalf("exit %d (%v), want %d\n%s", ExitCode(err), err, tc.code, out)
			}
			var doc render.TraceDoc
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, h := range doc.Hops {
				got = append(got, h.Result)
			}
			if strings.Join(got, ",") != strings.Join(tc.results, ",") {
				t.Errorf("hops %v, want %v\n%s", got, tc.results, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("no %q in\n%s", w, out)
				}
			}
		})
	}
}

func TestAmbientTraceUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"trace", "--ztunnel", ambientZtunnel, "http://httpbin.default:8100/"}, "give its pod IP with --source-ip"},
		{[]string{"trace", "--waypoint", "x.json", "-f", "y.json", "http://a/"}, "give the ztunnel's dump with --ztunnel too"},
		{[]string{"trace", "--ztunnel", ambientZtunnel, "-f", "y.json", "--source-ip", "1.2.3.4", "http://a/"}, "give neither --from nor -f"},
		{[]string{"trace", "--ztunnel", ambientZtunnel, "--source-ip", "192.168.195.240", "http://nowhere.default:80/"}, "nowhere.default is no service ztunnel knows"},
		{[]string{"trace", "--ztunnel", "../../examples/istio-sidecar.json", "--source-ip", "1.2.3.4", "http://a:80/"}, "not a ztunnel config dump: it is an Envoy config dump"},
	} {
		_, _, err := run(t, "", tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || ExitCode(err) != ExitUsage {
			t.Errorf("%v: %v (exit %d), want %q", tc.args, err, ExitCode(err), tc.want)
		}
	}
}

// The live path: from sleep (ambient, on worker-1) the ztunnel of its
// node, the waypoint pod's Envoy, and the ztunnel of httpbin's node
// (worker-2) are read through their admin ports.
func TestAmbientTraceLive(t *testing.T) {
	serve := func(path string) string {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := adminServer(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(data) })
		return s.base
	}
	ztunnel := serve(ambientZtunnel)
	sleep := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "sleep-7656cf8794-8vbzk",
		Annotations: map[string]string{"ambient.istio.io/redirection": "enabled"}},
		Spec:   corev1.PodSpec{NodeName: "worker-1", Containers: []corev1.Container{{Name: "sleep"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "192.168.195.240"}}
	waypoint := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "httpbin-istio-waypoint-58f646c5ff-dbfkz"},
		Spec:   corev1.PodSpec{NodeName: "worker-1", Containers: []corev1.Container{{Name: "istio-proxy"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "192.168.252.229"}}
	src, _ := fakeSource(Target{}, sleep, waypoint,
		ztunnelPod("ztunnel-a", "worker-1", corev1.PodRunning), ztunnelPod("ztunnel-b", "worker-2", corev1.PodRunning))
	ns := "default"
	flags := kube.NewFlags()
	flags.Namespace = ns
	var out, errOut bytes.Buffer
	deps := Deps{IOStreams: genericiooptions.IOStreams{Out: &out, ErrOut: &errOut}, Now: func() time.Time { return testNow }, KubeFlags: flags}
	for _, tc := range []struct {
		name     string
		waypoint string
		results  string
		code     int
	}{
		{"all the way, allowed", serve(realWaypoint(t, true)), "forwarded,forwarded,forwarded", 0},
		{"no port-forward to the waypoint", "", "forwarded,unknown", ExitUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out.Reset()
			o := &TraceOptions{ProxyOptions: newProxyOptions(deps), Random: -1, From: "sleep-7656cf8794-8vbzk", URL: "http://httpbin.default:8100/get"}
			o.Output = outJSON
			transport := fakeTransport{"istio-system/ztunnel-a": ztunnel, "istio-system/ztunnel-b": ztunnel}
			if tc.waypoint != "" {
				transport["default/httpbin-istio-waypoint-58f646c5ff-dbfkz"] = tc.waypoint
			}
			src.cluster.transport = transport
			o.cluster = src.cluster
			if err := o.Complete(); err != nil {
				t.Fatal(err)
			}
			err := o.Run(context.Background())
			if ExitCode(err) != tc.code {
				t.Fatalf("exit %d (%v)\n%s", ExitCode(err), err, out.String())
			}
			var doc render.TraceDoc
			if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, h := range doc.Hops {
				got = append(got, h.Result)
			}
			if strings.Join(got, ",") != tc.results {
				t.Errorf("hops %v, want %s\n%s", got, tc.results, out.String())
			}
			if tc.code == 0 && (doc.Hops[0].Proxy != "ztunnel ztunnel-a (node worker-1)" || doc.Hops[2].Proxy != "ztunnel ztunnel-b (node worker-2)") {
				t.Errorf("proxies %s, %s", doc.Hops[0].Proxy, doc.Hops[2].Proxy)
			}
		})
	}
}
