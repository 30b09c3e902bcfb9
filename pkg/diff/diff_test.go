package diff

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
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

// TestV2ChangesAreFound: the changes that a comparison by type URL missed
// in Envoy v2 dumps (Istio 1.3, envoy.api.v2 inside v2alpha admin
// wrappers): a circuit breaker, a removed envoy.router filter, two domains
// taken from a virtual host.
func TestV2ChangesAreFound(t *testing.T) {
	const file = "istio/config_dump/legacy-v2/productpage-v1-7bbd79f8fd-k6j79.json"
	data, err := os.ReadFile(fixtures + file)
	if err != nil {
		t.Skip(err)
	}
	src := string(data)
	after := func(marker string) int {
		i := strings.Index(src, marker)
		if i < 0 {
			t.Fatalf("the fixture lacks %q", marker)
		}
		return i
	}
	edit := func(from int, re, with string) string {
		loc := regexp.MustCompile(re).FindStringIndex(src[from:])
		if loc == nil {
			t.Fatalf("no %s after byte %d", re, from)
		}
		return src[:from+loc[0]] + with + src[from+loc[1]:]
	}
	for _, tc := range []struct {
		name, changed, kind, path string
	}{
		{"circuit breaker", edit(after(`"dynamic_active_clusters"`), `"max_connections": 102400`, `"max_connections": 102401`), "clusters", "max_connections"},
		{"envoy.router removed", edit(after(`"dynamic_active_listeners"`), `,\s*\{\s*"name": "envoy.router"\s*\}`, ""), "listeners", "http_filters"},
		{"two domains removed", edit(after(`"name": "istio-ingressgateway.istio-system.svc.cluster.local:15020",`),
			`"istio-ingressgateway.istio-system",\s*"istio-ingressgateway.istio-system:15020",\s*`, ""), "routes", "domains"},
	} {
		res := Compare(loadBytes(t, data), loadBytes(t, []byte(tc.changed)), Options{})
		ok := false
		for _, c := range res.Changes {
			ok = ok || c.Kind == tc.kind && c.Change == "changed" && strings.Contains(strings.Join(c.Paths, " "), tc.path)
		}
		if !ok {
			t.Errorf("%s: not found in %s (%s): %+v", tc.name, tc.kind, tc.path, res.Changes)
		}
	}
}

// TestIstiodViewComparesWhatIstiodSends: against istiod's view, static
// resources (from the proxy's bootstrap) are left out unless asked for.
func TestIstiodViewComparesWhatIstiodSends(t *testing.T) {
	proxy := load(t, "istio/config_dump/legacy-v2/productpage-v1-7bbd79f8fd-k6j79.json")
	if FromIstiod(proxy) {
		t.Fatal("a proxy's dump with a bootstrap taken for istiod's")
	}
	// istiod's view: the same dynamic resources, no bootstrap, no statics.
	data, _ := os.ReadFile(fixtures + "istio/config_dump/legacy-v2/productpage-v1-7bbd79f8fd-k6j79.json")
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var kept []any
	for _, c := range doc["configs"].([]any) {
		m := c.(map[string]any)
		if strings.HasSuffix(m["@type"].(string), "BootstrapConfigDump") {
			continue
		}
		for k := range m {
			if strings.HasPrefix(k, "static_") {
				delete(m, k)
			}
		}
		kept = append(kept, m)
	}
	doc["configs"] = kept
	b, _ := json.Marshal(doc)
	istiod := loadBytes(t, b)
	if !FromIstiod(istiod) {
		t.Fatal("istiod's view not recognized")
	}
	if res := Compare(istiod, proxy, Options{LeftIsIntent: true}); !res.Equal() {
		t.Errorf("the proxy's static resources count against istiod's view: %+v", res.Changes)
	}
	res := Compare(istiod, proxy, Options{LeftIsIntent: true, Static: true})
	added := 0
	for _, c := range res.Changes {
		if c.Change == "added" {
			added++
		}
	}
	if added == 0 {
		t.Errorf("--static: the static clusters and listeners are not reported: %+v", res.Changes)
	}
}

// TestUndecodableBytesAreNeverAMatch: a typed config this build cannot
// decode, held as serialized bytes on one side and as fields on the other,
// is reported as not compared; as bytes on both sides it is compared by
// its bytes.
func TestUndecodableBytesAreNeverAMatch(t *testing.T) {
	dump := func(typedConfig string) *envoyadmin.Dump {
		return loadBytes(t, []byte(`{"configs":[{"@type":"type.googleapis.com/envoy.admin.v3.ListenersConfigDump","dynamic_listeners":[{"name":"l",
			"active_state":{"listener":{"@type":"type.googleapis.com/envoy.config.listener.v3.Listener","name":"l",
			"address":{"socket_address":{"address":"0.0.0.0","port_value":80}},
			"listener_filters":[{"name":"x","typed_config":`+typedConfig+`}]}}}]}]}`))
	}
	raw := func(b64 string) string {
		return `{"type_url":"type.googleapis.com/example.unknown.v1.Config","value":"` + b64 + `"}`
	}
	fields := `{"@type":"type.googleapis.com/example.unknown.v1.Config","name":"test"}`
	for _, tc := range []struct {
		a, b, want string // want: "" equal, else a path fragment
	}{
		{raw("CgR0ZXN0"), raw("CgR0ZXN0"), ""},
		{raw("CgR0ZXN0"), raw("CgR0ZXN1"), "@bytes"},
		{raw("CgR0ZXN0"), fields, "not compared"},
		{fields, `{"@type":"type.googleapis.com/example.unknown.v1.Config","name":"tost"}`, "typed_config.name"},
	} {
		res := Compare(dump(tc.a), dump(tc.b), Options{})
		got := ""
		for _, c := range res.Changes {
			got += strings.Join(c.Paths, " ")
		}
		switch {
		case tc.want == "" && !res.Equal():
			t.Errorf("%s vs %s: differ: %s", tc.a, tc.b, got)
		case tc.want != "" && (res.Equal() || !strings.Contains(got, tc.want)):
			t.Errorf("%s vs %s: %q, want a path with %q", tc.a, tc.b, got, tc.want)
		}
	}
}
