package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTraceGolden keeps the whole trace tree of requests on real dumps in
// testdata/trace/*.golden ("go test ./pkg/cmd -run TestTraceGolden -update"
// rewrites them; review the diff).
func TestTraceGolden(t *testing.T) {
	sim := fixture("istio-simulation/TestHTTPGateway")
	for name, args := range map[string][]string{
		"sidecar-http":        {"-f", sidecar, "http://backend.demo.svc.cluster.local:8080/api", "--address", "10.96.173.1"},
		"sidecar-passthrough": {"-f", sidecar, "tcp://203.0.113.9:5555"},
		"sidecar-inbound":     {"-f", sidecar, "--mode", "inbound", "--address", "10.244.1.4", "--port", "8080", "--tls", "mtls", "--protocol", "http"},
		"envoy-gateway":       {"-f", "../../examples/envoy-gateway.json", "http://www.example.com/", "--port", "10080", "--mode", "gateway"},
		// Istio gateways (Pilot-generated): HTTPS with a route, and an
		// HTTP server that redirects to HTTPS.
		"istio-gateway-https":    {"-f", filepath.Join(sim, "httpsRedirect_on_https/config_dump.json"), "https://example.com/", "--mode", "gateway"},
		"istio-gateway-redirect": {"-f", filepath.Join(sim, "httpsRedirect_with_routes/config_dump.json"), "http://example.com/", "--mode", "gateway"},
	} {
		t.Run(name, func(t *testing.T) {
			out, errOut, err := run(t, "", append([]string{"trace"}, args...)...)
			if err != nil && ExitCode(err) != ExitNegative {
				t.Fatalf("%v: %v %s", args, err, errOut)
			}
			path := filepath.Join("testdata", "trace", name+".golden")
			if *update {
				_ = os.MkdirAll(filepath.Dir(path), 0o755)
				if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if out != string(want) {
				t.Errorf("trace %s differs from %s:\n%s", strings.Join(args, " "), path, out)
			}
		})
	}
}
