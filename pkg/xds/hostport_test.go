package xds

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
)

// addresses collects every Address-shaped object (one with a
// socket_address, pipe or envoy_internal_address member) of v.
func addresses(v jsonscan.Value, out *[]jsonscan.Value) {
	switch v.Kind() {
	case jsonscan.Object:
		_ = v.Fields(func(key []byte, m jsonscan.Value) bool {
			for _, k := range []string{"socket_address", "pipe", "envoy_internal_address"} {
				if jsonscan.KeyIs(key, k) {
					*out = append(*out, v)
				}
			}
			addresses(m, out)
			return true
		})
	case jsonscan.Array:
		_ = v.Items(func(_ int, e jsonscan.Value) bool {
			addresses(e, out)
			return true
		})
	}
}

// TestHostPortIsJoinHostPort: the one-allocation address of the endpoint
// listings, picked or read in one pass, is what socketAddress and
// joinHostPort make of the same address, for every address in the fixtures and in hand-made odd ones
// (IPv6, escapes, named ports, ports as strings, zero, huge or missing
// ports, schemes, pipes, internal addresses, camelCase keys).
func TestHostPortIsJoinHostPort(t *testing.T) {
	var all []jsonscan.Value
	_ = filepath.WalkDir("../../../shared/fixtures", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil || len(data) > 32<<20 {
			return nil
		}
		if v, err := jsonscan.Parse(data); err == nil {
			addresses(v, &all)
		}
		return nil
	})
	fromFixtures := len(all)
	for _, odd := range []string{
		`{"socket_address": {"address": "10.0.0.1", "port_value": 8080}}`,
		`{"socketAddress": {"address": "10.0.0.1", "portValue": 8080}}`,
		`{"socket_address": {"address": "fd00::1", "port_value": 443}}`,
		`{"socket_address": {"address": "::", "port_value": 15001}}`,
		`{"socket_address": {"address": "a\"b", "port_value": 1}}`,
		`{"socket_address": {"address": "h\u00e9", "port_value": 1}}`,
		`{"socket_address": {"address": "10.0.0.1", "port_value": "8080"}}`,
		`{"socket_address": {"address": "10.0.0.1", "port_value": 0}}`,
		`{"socket_address": {"address": "10.0.0.1"}}`,
		`{"socket_address": {"address": "10.0.0.1", "port_value": 4294967297}}`,
		`{"socket_address": {"address": "10.0.0.1", "port_value": -1}}`,
		`{"socket_address": {"address": "10.0.0.1", "named_port": "http"}}`,
		`{"socket_address": {"address": "10.0.0.1", "port_value": 80, "named_port": "http"}}`,
		`{"socket_address": {"address": "unix://x", "port_value": 80}}`,
		`{"socket_address": {"address": 7, "port_value": 80}}`,
		`{"socket_address": {"address": null, "port_value": 80}}`,
		`{"socket_address": {"address": "", "port_value": 80}}`,
		`{"socket_address": {"port_value": 80}}`,
		`{"socket_address": {}}`,
		`{"pipe": {"path": "/var/run/a.sock"}}`,
		`{"envoy_internal_address": {"server_listener_name": "connect_originate", "endpoint_id": "10.0.0.1:80"}}`,
		`{"envoy_internal_address": {"server_listener_name": "inner"}}`,
	} {
		all = append(all, jsonscan.MustLiteral(odd))
	}
	for _, odd := range []string{
		`{"socket_address": {"address": "10.0.0.1", "port_value": 80, "address": "10.0.0.2"}, "socket_address": null}`,
		`{"socketAddress": null, "pipe": {"path": "/a"}}`,
		`{"socket_address": "x", "pipe": {"path": "/a"}}`,
		`{"pipe": {"path": "/a"}, "socket_address": {"address": "10.0.0.1", "portValue": 80}}`,
		`{"socket_address": [1], "envoyInternalAddress": {"serverListenerName": "l"}}`,
		`[]`, `null`, `"10.0.0.1:80"`,
	} {
		all = append(all, jsonscan.MustLiteral(odd))
	}
	for _, a := range all {
		want := joinHostPort(socketAddress(a))
		if got := hostPort(a); got != want {
			t.Errorf("%s: %q, want %q", a.Raw(), got, want)
		}
		// And read in one pass, as the endpoint listings read it.
		r := a.Reader()
		if got := hostPortOf(readAddressFields(&r)); got != want || r.Err() != nil {
			t.Errorf("%s read in one pass: %q (%v), want %q", a.Raw(), got, r.Err(), want)
		}
	}
	if fromFixtures < 500 {
		t.Errorf("only %d addresses in the fixtures", fromFixtures)
	}
}

// TestHealthStatusIsStr: the health word of an EDS host is the value as
// written (unquoted), HEALTHY when absent or empty, for every word Envoy
// has and odd values.
func TestHealthStatusIsStr(t *testing.T) {
	for _, lit := range []string{`"HEALTHY"`, `"UNHEALTHY"`, `"DRAINING"`, `"TIMEOUT"`, `"DEGRADED"`, `"UNKNOWN"`,
		`""`, `null`, `1`, `"healthy"`, `"DRAIN\u0049NG"`, `"OTHER"`, `true`} {
		v := jsonscan.MustLiteral(lit)
		want := v.Str()
		if want == "" {
			want = "HEALTHY"
		}
		if got := healthStatus(v); got != want {
			t.Errorf("%s: %q, want %q", lit, got, want)
		}
	}
	if got := healthStatus(jsonscan.Value{}); got != "HEALTHY" {
		t.Errorf("absent: %q, want HEALTHY", got)
	}
}
