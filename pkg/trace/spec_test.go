package trace

import (
	"slices"
	"strings"
	"testing"
)

func TestSpecRequest(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec Spec
		want func(r Request) bool
		err  string
	}{
		{"https: TLS with the host as SNI and HTTP/1.1 offered", Spec{URL: "https://reviews.default:9080/x", Random: -1},
			func(r Request) bool {
				return r.TLS == "tls" && r.SNI == "reviews.default" && slices.Equal(r.ALPN, []string{"http/1.1"}) && r.Port == 9080 && r.Path == "/x" && r.Address == ""
			}, ""},
		{"an IP host is the destination and sends no SNI", Spec{URL: "https://10.0.0.7:443/", Random: -1},
			func(r Request) bool { return r.Address == "10.0.0.7" && r.SNI == "" && r.TLS == "tls" }, ""},
		{"an IPv6 host", Spec{URL: "http://[fd00::1]:8080/", Random: -1},
			func(r Request) bool { return r.Address == "fd00::1" && r.Port == 8080 && r.Host == "[fd00::1]:8080" }, ""},
		{"mtls offers Istio's ALPN for the protocol", Spec{URL: "grpc://ratings:9090/", TLS: "mtls", Random: -1},
			func(r Request) bool {
				return slices.Equal(r.ALPN, []string{"istio-h2"}) && r.Protocol == "grpc" && r.SNI == "ratings"
			}, ""},
		{"-H Host overrides the URL's authority; headers kept", Spec{URL: "http://a:80/", Headers: []string{"Host: b.example", "x-user: 1"}, Random: -1},
			func(r Request) bool { return r.Host == "b.example" && slices.Equal(r.Headers["x-user"], []string{"1"}) }, ""},
		{"defaults", Spec{Port: 80, Random: 7},
			func(r Request) bool {
				return r.Protocol == "http" && r.TLS == "plaintext" && r.Path == "/" && r.Mode == Outbound && r.Random != nil && *r.Random == 7
			}, ""},
		{"no port", Spec{Path: "/x", Random: -1}, nil, "give a URL with a port, or --port"},
		{"a URL port by its scheme", Spec{URL: "http://reviews/", Random: -1}, func(r Request) bool { return r.Port == 80 }, ""},
		{"-H Host does not change the SNI of a URL (as curl)", Spec{URL: "https://10.0.0.7/", Headers: []string{"Host: b.example"}, Random: -1},
			func(r Request) bool { return r.SNI == "" && r.Host == "b.example" && r.Port == 443 }, ""},
		{"without a URL, the Host header names the server", Spec{Port: 443, TLS: "tls", Headers: []string{"Host: b.example:443"}, Random: -1},
			func(r Request) bool { return r.SNI == "b.example" }, ""},
		{"ALPN without TLS", Spec{Port: 80, ALPN: []string{"h2"}, Random: -1}, nil, "--alpn is offered in a TLS handshake"},
		{"a client certificate without TLS", Spec{Port: 80, ClientCert: "mesh", Random: -1}, nil, "--client-cert is presented in a TLS handshake"},
		{"an identity that is not a URI", Spec{Port: 80, TLS: "mtls", ClientIdentity: "sleep", Random: -1}, nil, "is not a URI SAN"},
		{"an address that is not an IP", Spec{Port: 80, Address: "reviews", Random: -1}, nil, `--address "reviews" is not an IP address`},
		{"a bad mode", Spec{Port: 80, Mode: "sideways", Random: -1}, nil, "--mode must be"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := tc.spec.Request()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %+v, %v; want an error with %q", r, err, tc.err)
				}
				return
			}
			if err != nil || !tc.want(r) {
				t.Fatalf("got %+v, %v", r, err)
			}
		})
	}
}
