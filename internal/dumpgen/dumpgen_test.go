package dumpgen

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

func TestGeneratesTheResourcesOfEachService(t *testing.T) {
	tpl, err := os.ReadFile("../../examples/istio-sidecar.json")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Write(&out, tpl, Options{Services: 20}); err != nil {
		t.Fatal(err)
	}
	dumps, err := envoyadmin.Load(out.Bytes())
	if err != nil {
		t.Fatalf("the generated dump does not load: %v", err)
	}
	d := dumps[0]
	// 20 services: every 5th (4, 9, 14, 19) TCP, the other 16 HTTP; HTTP
	// services 0, 8, 12, 16 have two subsets each. The template has 17
	// listeners, 14 route configs and 21 clusters of its own.
	for kind, want := range map[envoyadmin.Kind]int{
		envoyadmin.KindListener:    17 + 20,
		envoyadmin.KindRouteConfig: 14 + 16,
		envoyadmin.KindCluster:     21 + 20 + 8,
		envoyadmin.KindEndpoints:   20 + 8,
	} {
		if got := len(d.Entries(kind)); got != want {
			t.Errorf("%s: %d, want %d", kind, got, want)
		}
	}
	s := out.String()
	for _, want := range []string{`"name": "10.96.0.19_443"`, `"svc-8.ns-8.svc.cluster.local:8080"`, `"outbound|8080|v2|svc-16.ns-16.svc.cluster.local"`, `"weight": 90`} {
		if !strings.Contains(s, want) {
			t.Errorf("generated dump lacks %s", want)
		}
	}
}

// The other generator: the same options write the same bytes; the dump
// loads with every service's clusters, routes and endpoints, and varies
// what it says it varies.
func TestWriteVaried(t *testing.T) {
	var a, b bytes.Buffer
	if err := WriteVaried(&a, Options{Services: 300}); err != nil {
		t.Fatal(err)
	}
	if err := WriteVaried(&b, Options{Services: 300}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two runs with the same options differ")
	}
	dumps, err := envoyadmin.Load(a.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	cfg := xds.New(dumps[0])
	vhosts := 0
	for _, rc := range cfg.RouteConfigs() {
		vhosts += len(rc.VirtualHosts)
	}
	chains := map[int]bool{}
	for _, l := range cfg.Listeners() {
		chains[len(l.FilterChains)] = true
	}
	if vhosts != 300 || len(cfg.Clusters()) < 300 || len(cfg.Endpoints()) < len(cfg.Clusters()) || len(chains) < 3 {
		t.Errorf("%d virtual hosts, %d clusters, %d endpoints, %d distinct chain counts", vhosts, len(cfg.Clusters()), len(cfg.Endpoints()), len(chains))
	}
}
