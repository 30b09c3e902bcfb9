package routecheck

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/trace"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// table is a route configuration under differential test: route-check's
// checker on it, and a proxy config whose one listener (port 80) carries it
// inline in an HTTP connection manager, for trace to follow requests into.
type table struct {
	name    string
	checker *Checker
	proxy   *xds.Config
	rc      *xds.RouteConfig
}

// tables are the route configurations of Envoy's router_check corpus and
// the RDS route configurations of the fixtures' Istio, Envoy Gateway and
// gateway dumps.
func tables(t testing.TB) []table {
	var raws []struct{ name, json string }
	add := func(f string, name func(rc *xds.RouteConfig) string) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dumps, err := envoyadmin.Load(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, rc := range xds.New(dumps[0]).RouteConfigs() {
			raws = append(raws, struct{ name, json string }{name(rc), string(rc.Raw.Raw())})
		}
	}
	configs, _ := filepath.Glob(filepath.Join(corpus, "*.yaml"))
	for _, f := range configs {
		if !strings.Contains(f, "golden") {
			add(f, func(*xds.RouteConfig) string { return filepath.Base(f) })
		}
	}
	for _, f := range []string{"../../examples/istio-sidecar.json", "../../examples/envoy-gateway.json", "../../examples/istio-waypoint.json",
		"../../../shared/fixtures/istio/config_dump/istioctl-describe/http_config.json"} {
		add(f, func(rc *xds.RouteConfig) string { return filepath.Base(f) + ":" + rc.Name })
	}
	if len(raws) < 20 {
		t.Fatalf("only %d route tables", len(raws))
	}
	var out []table
	for _, r := range raws {
		// Port 80 plaintext, port 443 terminating TLS (for ssl inputs).
		hcm := `"filters":[{"name":"envoy.filters.network.http_connection_manager","typed_config":{
			"@type":"type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
			"stat_prefix":"test","route_config":` + r.json + `}}]`
		tls := `"transport_socket":{"name":"envoy.transport_sockets.tls","typed_config":{
			"@type":"type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
			"common_tls_context":{"tls_certificate_sds_secret_configs":[{"name":"test-cert"}]}}}`
		dump := `{"configs":[{"@type":"type.googleapis.com/envoy.admin.v3.ListenersConfigDump","static_listeners":[
			{"listener":{"name":"plain","address":{"socket_address":{"address":"0.0.0.0","port_value":80}},"filter_chains":[{` + hcm + `}]}},
			{"listener":{"name":"tls","address":{"socket_address":{"address":"0.0.0.0","port_value":443}},"filter_chains":[{` + hcm + `,` + tls + `}]}}]}]}`
		dumps, err := envoyadmin.Load([]byte(dump))
		if err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		cfg := xds.New(dumps[0])
		inline := cfg.InlineRouteConfigs()
		if len(inline) != 2 {
			t.Fatalf("%s: %d inline route configurations", r.name, len(inline))
		}
		out = append(out, table{name: r.name, checker: NewChecker(inline[0]), proxy: cfg, rc: inline[0]})
	}
	return out
}

// randomInput makes a request likely to reach the table's routes: hosts
// from its domains (and near misses), paths from its matches with tails,
// headers and query parameters its routes match on, with values that match
// and values that do not.
func randomInput(rng *rand.Rand, rc *xds.RouteConfig) Input {
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	var domains, paths, headerNames, headerValues, queries []string
	for _, vh := range rc.VirtualHosts {
		domains = append(domains, vh.Domains...)
		for _, r := range vh.Routes {
			if r.Match == nil {
				continue
			}
			switch p := r.Match.PathSpecifier.(type) {
			case *routev3.RouteMatch_Prefix:
				paths = append(paths, p.Prefix)
			case *routev3.RouteMatch_Path:
				paths = append(paths, p.Path)
			case *routev3.RouteMatch_PathSeparatedPrefix:
				paths = append(paths, p.PathSeparatedPrefix)
			}
			for _, h := range r.Match.GetHeaders() {
				headerNames = append(headerNames, h.GetName())
				for _, v := range []string{h.GetExactMatch(), h.GetPrefixMatch(), h.GetSuffixMatch(), h.GetContainsMatch(),
					h.GetStringMatch().GetExact(), h.GetStringMatch().GetPrefix(), h.GetStringMatch().GetSuffix(), fmt.Sprint(h.GetRangeMatch().GetStart())} {
					if v != "" {
						headerValues = append(headerValues, v)
					}
				}
			}
			for _, q := range r.Match.GetQueryParameters() {
				queries = append(queries, q.GetName()+"="+q.GetStringMatch().GetExact())
			}
		}
	}
	domains = append(domains, "unknown.example", "")
	paths = append(paths, "/", "/x", "")
	headerNames = append(headerNames, "content-type", "x-other", ":method")
	headerValues = append(headerValues, "application/grpc", "true", "GET", "nope", "")
	queries = append(queries, "a=b")

	host := pick(domains)
	switch {
	case host == "":
		host = "example.com"
	case strings.HasPrefix(host, "*"):
		host = "a" + strings.TrimPrefix(host, "*")
	case strings.HasSuffix(host, "*"):
		host = strings.TrimSuffix(host, "*") + "b"
	}
	if rng.IntN(4) == 0 {
		host += ":" + pick([]string{"80", "8080", "443"})
	}
	if rng.IntN(8) == 0 {
		host = strings.ToUpper(host)
	}
	path := pick(paths)
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	path += pick([]string{"", "/", "/sub", "x", "/a/b", "?q=1", "/Ab"})
	if rng.IntN(3) == 0 {
		path += "?" + pick(queries)
	}
	in := Input{Authority: host, Path: path, Method: pick([]string{"GET", "POST", "PUT", "CONNECT", "OPTIONS"}),
		RandomValue: rng.Uint64N(20000), SSL: rng.IntN(3) == 0, Internal: rng.IntN(2) == 0}
	for n := rng.IntN(4); n > 0; n-- {
		in.RequestHeaders = append(in.RequestHeaders, HeaderValue{Key: pick(headerNames), Value: pick(headerValues)})
	}
	return in
}

// traced is what trace decides for the same request through the listener.
func traced(tb table, in Input) Decision {
	req := Request(in)
	req.Address, req.Port = "10.0.0.1", 80
	if in.SSL {
		req.Port, req.SNI = 443, "test.example"
	}
	for _, h := range in.RequestHeaders {
		if strings.HasPrefix(h.Key, ":") { // pseudo-headers come from the request line
			delete(req.Headers, strings.ToLower(h.Key))
		}
	}
	hop := trace.Trace(tb.proxy, req)
	d := Decision{VirtualHost: hop.VirtualHost, Route: hop.Route, Cluster: hop.Cluster, Location: hop.Location}
	if hop.Result == trace.Redirect || hop.Result == trace.DirectResponse {
		d.Status = hop.Status
		d.Cluster = ""
	}
	routed := false
	for _, st := range hop.Steps {
		routed = routed || st.Stage == "route"
	}
	if routed && hop.Result != trace.Redirect && hop.Result != trace.DirectResponse {
		d.Path, d.Host = in.Path, in.Authority
		for _, r := range hop.Rewrites {
			if p, ok := strings.CutPrefix(r, "path rewritten to "); ok {
				d.Path = p
			}
			if h, ok := strings.CutPrefix(r, "Host rewritten to "); ok && !strings.HasPrefix(h, "the upstream host") {
				d.Host = h
			}
		}
	}
	return d
}

// decided is route-check's decision in the same terms.
func decided(tb table, in Input) Decision { return tb.checker.Decide(in) }

// agree runs one input through both and reports a difference.
func agree(t *testing.T, tb table, in Input) {
	got, want := traced(tb, in), decided(tb, in)
	if got != want {
		js, _ := json.Marshal(in)
		t.Fatalf("%s: trace and route-check disagree on %s\n trace:       %+v\n route-check: %+v", tb.name, js, got, want)
	}
}

// TestTraceAgreesWithRouteCheck: random requests against every route table
// of Envoy's corpus and of the fixtures' dumps; trace (through a listener)
// and route-check choose the same virtual host, route, cluster, rewrites
// and redirect.
func TestTraceAgreesWithRouteCheck(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	runs, routed := 0, 0
	reached := map[string]bool{}
	for _, tb := range tables(t) {
		for range 400 {
			in := randomInput(rng, tb.rc)
			agree(t, tb, in)
			d := decided(tb, in)
			runs++
			if d.Route != "" || d.Cluster != "" || d.Status != 0 {
				routed++
				reached[tb.name+"|"+d.VirtualHost+"|"+d.Route+"|"+d.Cluster+"|"+d.Location] = true
			}
		}
	}
	// The requests must exercise the tables, not miss them all.
	if routed*2 < runs || len(reached) < 100 {
		t.Errorf("%d of %d requests routed, %d distinct outcomes: the generator misses the tables", routed, runs, len(reached))
	}
	t.Logf("%d requests, %d routed, %d distinct outcomes", runs, routed, len(reached))
}

// FuzzTraceAgreesWithRouteCheck is the same with the fuzzer choosing the
// random stream: go test -fuzz FuzzTraceAgreesWithRouteCheck ./pkg/routecheck
func FuzzTraceAgreesWithRouteCheck(f *testing.F) {
	all := tables(f)
	f.Add(uint64(1), uint64(2))
	f.Add(uint64(42), uint64(7))
	f.Fuzz(func(t *testing.T, a, b uint64) {
		rng := rand.New(rand.NewPCG(a, b))
		tb := all[rng.IntN(len(all))]
		agree(t, tb, randomInput(rng, tb.rc))
	})
}
