package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
