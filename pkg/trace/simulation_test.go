package trace

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// The Istio simulation dataset: real Pilot-generated config with the
// results Istio's own traffic simulator gives and its tests assert (see
// its README for the schema and the simulator's known limitations).
const simulation = "../../../shared/fixtures/istio-simulation"

type simCall struct {
	Name   string `json:"name"`
	GoTest string `json:"go_test"`
	Call   struct {
		Mode     string              `json:"call_mode"`
		Address  string              `json:"address"`
		Port     uint32              `json:"port"`
		Protocol string              `json:"protocol"`
		TLS      string              `json:"tls"`
		ALPN     string              `json:"alpn"`
		SNI      string              `json:"sni"`
		Host     string              `json:"host_header"`
		Path     string              `json:"path"`
		Headers  map[string][]string `json:"headers"`
	} `json:"call"`
	Expect   *simResult `json:"expect"`
	Asserted []string   `json:"asserted_fields"`
	Actual   simResult  `json:"actual"`
}

type simResult struct {
	Listener    string `json:"listener"`
	FilterChain string `json:"filter_chain"`
	RouteConfig string `json:"route_config"`
	VirtualHost string `json:"virtual_host"`
	Route       string `json:"route"`
	Cluster     string `json:"cluster"`
	Error       string `json:"error"`
}

// results maps the simulator's errors to trace results.
var results = map[string][]string{
	"ErrNoListener":          {NoListener},
	"ErrNoFilterChain":       {NoFilterChain},
	"ErrMultipleFilterChain": {ConfigError},
	"ErrNoVirtualHost":       {NoVirtualHost},
	"ErrNoRoute":             {NoRoute},
	"ErrTLSRedirect":         {Redirect},
	"ErrTLSError":            {TLSError},
	"ErrMTLSError":           {TLSError},
	"ErrProtocolError":       {ProtocolError},
	"":                       {Forwarded, Passthrough, Blackhole, NoCluster, NoHealthyUpstream, DirectResponse, Redirect},
}

func (c *simCall) request() Request {
	r := Request{Mode: Outbound, Address: c.Call.Address, Port: c.Call.Port, Protocol: c.Call.Protocol, TLS: c.Call.TLS,
		SNI: c.Call.SNI, Host: c.Call.Host, Path: c.Call.Path, Method: "GET", Headers: map[string][]string{}}
	if c.Call.Mode == "inbound" {
		r.Mode = Inbound
	}
	if r.Protocol == "" {
		r.Protocol = "tcp" // as the simulator treats it (README)
	}
	if c.Call.ALPN != "" {
		r.ALPN = []string{c.Call.ALPN}
	}
	for k, v := range c.Call.Headers {
		r.Headers[strings.ToLower(k)] = v
	}
	return r
}

func field(h *Hop, name string) string {
	switch name {
	case "listener":
		return h.Listener
	case "filter_chain":
		return h.FilterChain
	case "route_config":
		return h.RouteConfig
	case "virtual_host":
		return h.VirtualHost
	case "route":
		return h.Route
	case "cluster":
		return h.Cluster
	}
	return ""
}

func (r simResult) field(name string) string {
	switch name {
	case "listener":
		return r.Listener
	case "filter_chain":
		return r.FilterChain
	case "route_config":
		return r.RouteConfig
	case "virtual_host":
		return r.VirtualHost
	case "route":
		return r.Route
	case "cluster":
		return r.Cluster
	}
	return r.Error
}

// envoyDiffers names the calls where Istio's simulator knowingly differs
// from Envoy (its README lists the limitations), with what Envoy does.
var envoyDiffers = map[string]struct{ why, chain, cluster string }{
	"TestServiceEntry/overlapping_CIDR_with_SNI__overlapping_CIDR_with_SNI/IP_and_SNI_match:_shorter_IP": {
		"the call is plaintext yet gives an SNI, which the simulator matches against server_names; a plaintext " +
			"connection has no TLS ClientHello, so Envoy's tls_inspector finds no server name, the chain naming " +
			"blah1.somedomain does not match and the default chain takes the connection (Envoy: " +
			"FilterChainMatch.server_names is the TLS SNI)",
		"PassthroughFilterChain", "PassthroughCluster"},
}

// TestIstioSimulation runs every call of the dataset through Trace: every
// field Istio's test asserts must agree, and so must every field the
// simulator filled, except where Envoy's documented behaviour differs.
func TestIstioSimulation(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(simulation, "*", "*", "calls.json"))
	if len(files) == 0 {
		t.Skipf("no simulation dataset at %s", simulation)
	}
	calls, asserted, agreed := 0, 0, 0
	for _, f := range files {
		dir := filepath.Dir(f)
		rel, _ := filepath.Rel(simulation, dir)
		data, err := os.ReadFile(filepath.Join(dir, "config_dump.json"))
		if err != nil {
			t.Fatal(err)
		}
		dumps, err := envoyadmin.Load(data)
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		cfg := xds.New(dumps[0])
		var cs []simCall
		raw, _ := os.ReadFile(f)
		if err := json.Unmarshal(raw, &cs); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, c := range cs {
			calls++
			id := rel + "/" + c.Name
			h := Trace(cfg, c.request())
			if d, ok := envoyDiffers[id]; ok {
				t.Logf("%s: Envoy differs from Istio's simulator: %s", id, d.why)
				if h.FilterChain != d.chain || h.Cluster != d.cluster {
					t.Errorf("%s: chain %q cluster %q, Envoy takes %q to %q", id, h.FilterChain, h.Cluster, d.chain, d.cluster)
				}
				continue
			}
			ok := false
			for _, r := range results[c.Actual.Error] {
				ok = ok || h.Result == r
			}
			if !ok {
				t.Errorf("%s (%s): result %s, the simulator says error %q\n  call %+v\n  notes %v", id, c.GoTest, h.Result, c.Actual.Error, c.Call, h.Notes)
				continue
			}
			if c.Expect != nil {
				for _, name := range c.Asserted {
					if name == "error" {
						continue
					}
					asserted++
					if got := field(h, name); got != c.Expect.field(name) {
						t.Errorf("%s (%s): asserted %s %q, trace gives %q\n  call %+v\n  steps %v\n  notes %v", id, c.GoTest, name, c.Expect.field(name), got, c.Call, h.Steps, h.Notes)
					}
				}
			}
			all := true
			for _, name := range []string{"listener", "filter_chain", "route_config", "virtual_host", "route", "cluster"} {
				if got, want := field(h, name), c.Actual.field(name); got != want {
					all = false
					t.Errorf("%s (%s): %s %q, the simulator %q\n  call %+v\n  notes %v", id, c.GoTest, name, got, want, c.Call, h.Notes)
				}
			}
			if all {
				agreed++
			}
		}
	}
	t.Logf("%d calls, %d asserted fields, %d calls agree with the simulator in every field", calls, asserted, agreed)
}
