package diff

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
)

const fixtures = "../../../shared/fixtures/"

func load(t *testing.T, path string) *envoyadmin.Dump {
	t.Helper()
	data, err := os.ReadFile(fixtures + path)
	if err != nil {
		t.Skip(err)
	}
	return loadBytes(t, data)
}

func loadBytes(t *testing.T, data []byte) *envoyadmin.Dump {
	t.Helper()
	dumps, err := envoyadmin.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	return dumps[0]
}

// TestIstioctlCompareCases: the pairs istioctl's compare tests use (see
// MANIFEST.md, istio-compare): the same dump matches in every kind; the
// changed one differs in clusters, listeners and routes.
func TestIstioctlCompareCases(t *testing.T) {
	istiod := load(t, "istio/istioctl-golden/compare/configdump.json")
	same := Compare(istiod, load(t, "istio/istioctl-golden/compare/configdump.json"), Options{})
	if !same.Equal() {
		t.Errorf("a dump against itself differs: %+v", same.Changes)
	}
	for _, k := range []string{"clusters", "listeners", "routes"} {
		if n := same.Compared[k]; n[0] == 0 || n[0] != n[1] {
			t.Errorf("%s compared: %v", k, n)
		}
	}
	changed := Compare(istiod, load(t, "istio/istioctl-golden/compare/configdump_diff.json"), Options{})
	kinds := map[string]bool{}
	for _, c := range changed.Changes {
		kinds[c.Kind] = true
		if c.Change == "changed" && len(c.Paths) == 0 {
			t.Errorf("%s %s changed with no path", c.Kind, c.Name)
		}
	}
	for _, k := range []string{"clusters", "listeners", "routes"} {
		if !kinds[k] {
			t.Errorf("%s: no difference found, istioctl says they don't match", k)
		}
	}
}

// TestCamelCaseAndWrapping: Envoy Gateway's dump and egctl's rendering of
// it (camelCase protojson, wrapped) are the same config.
func TestCamelCaseAndWrapping(t *testing.T) {
	a := load(t, "envoy-gateway/egctl-config/in/in.all.json")
	b := load(t, "envoy-gateway/egctl-config/out/out.all.json")
	r := Compare(a, b, Options{Kinds: []string{"listeners", "routes", "clusters"}})
	if !r.Equal() {
		t.Errorf("the same config in two spellings differs: %+v", r.Changes)
	}
}

// TestOrderThatMattersAndOrderThatDoesNot: filter chains and virtual
// hosts may come in any order; routes may not.
func TestOrderThatMattersAndOrderThatDoesNot(t *testing.T) {
	base := `{"configs":[
{"@type":"type.googleapis.com/envoy.admin.v3.ListenersConfigDump","dynamic_listeners":[{"name":"l","active_state":{"version_info":"%s","last_updated":"%s","listener":{"name":"l",
 "filter_chains":[%s]}}}]},
{"@type":"type.googleapis.com/envoy.admin.v3.RoutesConfigDump","dynamic_route_configs":[{"route_config":{"name":"80","virtual_hosts":[%s]}}]}]}`
	chainA := `{"name":"a","filter_chain_match":{"destination_port":80}}`
	chainB := `{"name":"b","filter_chain_match":{"destination_port":81}}`
	vh1 := `{"name":"v1","domains":["a","b"],"routes":[{"name":"r1","match":{"prefix":"/x"}},{"name":"r2","match":{"prefix":"/"}}]}`
	vh1swapped := `{"name":"v1","domains":["b","a"],"routes":[{"name":"r2","match":{"prefix":"/"}},{"name":"r1","match":{"prefix":"/x"}}]}`
	vh2 := `{"name":"v2","domains":["c"],"routes":[]}`
	mk := func(ver, chains, vhs string) *envoyadmin.Dump {
		return loadBytes(t, []byte(fmt.Sprintf(base, ver, "2026-01-0"+ver+"T00:00:00Z", chains, vhs)))
	}
	left := mk("1", chainA+","+chainB, vh1+","+vh2)
	if r := Compare(left, mk("2", chainB+","+chainA, vh2+","+vh1), Options{}); !r.Equal() {
		t.Errorf("reordered chains, hosts and versions should not differ: %+v", r.Changes)
	}
	r := Compare(left, mk("1", chainA+","+chainB, vh1swapped+","+vh2), Options{})
	if r.Equal() || r.Changes[0].Kind != "routes" || !strings.Contains(strings.Join(r.Changes[0].Paths, " "), "virtual_hosts[v1].routes[") {
		t.Errorf("reordered routes must differ, with the path: %+v", r.Changes)
	}
	if strings.Contains(strings.Join(r.Changes[0].Paths, " "), "domains") {
		t.Errorf("reordered domains must not differ: %+v", r.Changes)
	}
	if r := Compare(left, mk("2", chainA+","+chainB, vh1+","+vh2), Options{AllFields: true}); r.Equal() {
		t.Error("--all-fields compares versions too")
	}
	if r := Compare(left, mk("1", chainA, vh1+","+vh2), Options{}); r.Equal() || !strings.Contains(strings.Join(r.Changes[0].Paths, " "), "filter_chains[b]") {
		t.Errorf("a removed chain: %+v", r.Changes)
	}
	b, _ := json.Marshal(r)
	if !strings.Contains(string(b), `"changes"`) {
		t.Errorf("JSON: %s", b)
	}
}

// TestOldIstioDumps: a v2alpha dump of Istio 1.6 compares with itself
// (and its camelCase rendering does too, by TestCamelCaseAndWrapping).
func TestOldIstioDumps(t *testing.T) {
	a := load(t, "istio/istioctl-golden-1.6/configdump/configdump.json")
	r := Compare(a, load(t, "istio/istioctl-golden-1.6/configdump/configdump.json"), Options{})
	if !r.Equal() || r.Compared["listeners"][0] == 0 || r.Compared["clusters"][0] == 0 {
		t.Errorf("a v2 dump against itself: %+v %v", r.Changes, r.Compared)
	}
}
