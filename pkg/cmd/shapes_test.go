package cmd

import (
	"strings"
	"testing"
)

// TestListenerKindsBeyondTCP: Envoy Gateway's own translator goldens: a UDP
// proxy listener shows its protocol and where datagrams go; an HTTP/3
// listener its QUIC transport's TLS and certificate.
func TestListenerKindsBeyondTCP(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []string
	}{
		{"udp-route.listeners.yaml", []string{"10080/UDP", "UDP proxy: udp-route-dest", "UDP"}},
		{"http3.listeners.yaml", []string{"10443/UDP", "QUIC TLS cert=envoy-gateway-tls-secret-1", "10443 ", "TLS cert=envoy-gateway-tls-secret-1"}},
	} {
		out, errOut, err := run(t, "", "listeners", "-f", "../xds/testdata/envoy-gateway/"+tc.file, "-o", "wide")
		if err != nil {
			t.Fatalf("%s: %v %s", tc.file, err, errOut)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: no %q in\n%s", tc.file, w, out)
			}
		}
	}
}
