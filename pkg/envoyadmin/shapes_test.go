package envoyadmin

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

// resourcesOf collects the raw resources of each kind of a real dump.
func resourcesOf(t *testing.T, path string) map[Kind][]json.RawMessage {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Skip(err)
	}
	dumps, err := Load(data)
	if err != nil {
		t.Fatal(err)
	}
	out := map[Kind][]json.RawMessage{}
	for _, k := range []Kind{KindListener, KindCluster, KindRouteConfig, KindEndpoints, KindSecret} {
		for _, e := range dumps[0].Entries(k) {
			if e.Resource.Exists() && e.State != StateWarming {
				out[k] = append(out[k], json.RawMessage(e.Resource.Raw()))
			}
		}
	}
	return out
}

func counts(t *testing.T, data []byte) map[Kind]int {
	t.Helper()
	dumps, err := Load(data)
	if err != nil {
		t.Fatalf("%v\n%.300s", err, data)
	}
	if len(dumps) != 1 {
		t.Fatalf("%d proxies, want one", len(dumps))
	}
	out := map[Kind]int{}
	for _, k := range []Kind{KindListener, KindCluster, KindRouteConfig, KindEndpoints, KindSecret} {
		out[k] = len(dumps[0].Entries(k))
	}
	return out
}

// TestResourceCollections: the real sidecar's resources, reshaped into each
// collection real tools write, read back as one proxy with every resource.
func TestResourceCollections(t *testing.T) {
	res := resourcesOf(t, "../../examples/istio-sidecar.json")
	want := map[Kind]int{}
	for k, rs := range res {
		want[k] = len(rs)
	}
	typeURL := map[Kind]string{
		KindListener: "type.googleapis.com/envoy.config.listener.v3.Listener", KindCluster: "type.googleapis.com/envoy.config.cluster.v3.Cluster",
		KindRouteConfig: "type.googleapis.com/envoy.config.route.v3.RouteConfiguration", KindEndpoints: "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
		KindSecret: "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
	}
	marshal := func(v any) []byte { b, _ := json.Marshal(v); return b }
	byWord := map[string]any{"listeners": res[KindListener], "Clusters": res[KindCluster], "routes": res[KindRouteConfig],
		"endpoints": res[KindEndpoints], "secrets": res[KindSecret]}
	kuma := map[string]any{}
	var all, set []json.RawMessage
	for k, rs := range res {
		named := map[string]json.RawMessage{}
		for i, r := range rs {
			var name struct {
				Name        string `json:"name"`
				ClusterName string `json:"cluster_name"`
			}
			_ = json.Unmarshal(r, &name)
			named[name.Name+name.ClusterName+"#"+string(rune('a'+i%26))+string(rune('a'+i/26))] = r
			all = append(all, r)
			set = append(set, marshal(map[string]any{"name": "x", "resource": r}))
		}
		kuma[typeURL[k]] = named
	}
	for name, data := range map[string][]byte{
		"an object keyed by kind":    marshal(byWord),
		"Kuma's inspect output":      marshal(map[string]any{"xds": kuma}),
		"a list of every kind":       marshal(all),
		"a generator's resource set": marshal(map[string]any{"resources": set}),
	} {
		if got := counts(t, data); !mapsEqual(got, want) {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
	// A producer's other output beside the kinds (kgateway's Statuses) is
	// read past and said; a key holding a proxy's own dump makes a wrapper.
	withStatuses := map[string]any{"Statuses": map[string]any{"gateways": map[string]any{"default/gw": map[string]any{}}}}
	for k, v := range byWord {
		withStatuses[k] = v
	}
	dumps, err := Load(marshal(withStatuses))
	if err != nil || len(dumps) != 1 {
		t.Fatalf("kinds with Statuses beside them: %d proxies, %v", len(dumps), err)
	}
	if got := counts(t, marshal(withStatuses)); !mapsEqual(got, want) {
		t.Errorf("kinds with Statuses beside them: %v, want %v", got, want)
	}
	if strings.Join(dumps[0].IgnoredKeys, ",") != "Statuses" {
		t.Errorf("read past %v, want Statuses", dumps[0].IgnoredKeys)
	}
	wrapper := map[string]any{"listeners": res[KindListener], "gateway-b": map[string]any{"clusters": res[KindCluster]}}
	if dumps, err := Load(marshal(wrapper)); err != nil || len(dumps) != 2 {
		t.Errorf("a key holding another proxy's resources: %d proxies, %v; want a wrapper of 2", len(dumps), err)
	}
	resp := marshal(map[string]any{"versionInfo": "1", "typeUrl": typeURL[KindCluster], "resources": res[KindCluster], "nonce": "1"})
	if got := counts(t, resp); got[KindCluster] != want[KindCluster] {
		t.Errorf("a DiscoveryResponse: %d clusters, want %d", got[KindCluster], want[KindCluster])
	}
	// A route configuration without virtual hosts, and a bare Secret, in a list.
	odd := []byte(`[{"name":"80","validate_clusters":false},{"name":"default","tls_certificate":{"certificate_chain":{"filename":"/etc/certs/cert-chain.pem"}}}]`)
	if got := counts(t, odd); got[KindRouteConfig] != 1 || got[KindSecret] != 1 {
		t.Errorf("route config without virtual hosts and a secret: %v", got)
	}
}

func mapsEqual(a, b map[Kind]int) bool {
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

// TestConfigsKeyedByKind: Envoy before 1.8 wrote "configs" as a map from
// kind to section; Istio 1.3's v2alpha dump, so reshaped, reads the same.
func TestConfigsKeyedByKind(t *testing.T) {
	data, err := os.ReadFile("../../../shared/fixtures/istio/config_dump/legacy-v2/productpage-v1-7bbd79f8fd-k6j79.json")
	if err != nil {
		t.Skip(err)
	}
	var doc struct {
		Configs []map[string]any `json:"configs"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	keyed := map[string]any{}
	for _, c := range doc.Configs {
		typ, _ := c["@type"].(string)
		name := strings.TrimSuffix(typ[strings.LastIndex(typ, ".")+1:], "ConfigDump")
		keyed[strings.ToLower(name)] = c
	}
	old, _ := json.Marshal(map[string]any{"configs": keyed})
	if got, want := counts(t, old), counts(t, data); !mapsEqual(got, want) {
		t.Errorf("configs keyed by kind: %v, the list form has %v", got, want)
	}
}

// TestNotADumpIsNamed: inputs that are not dumps say what they are.
func TestNotADumpIsNamed(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"NAME     DOMAINS     MATCH     VIRTUAL SERVICE\n80       *           /*        -\n", "text table"},
		{"ADDRESS   PORT   MATCH   DESTINATION\n0.0.0.0   80     ALL     Route: 80\n", "text table"},
		{"apiVersion: v1\nkind: Service\nmetadata:\n  name: reviews\n", "Kubernetes manifest (Service reviews)"},
		{`{"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": "r"}}`, "Kubernetes manifest (VirtualService r)"},
		{"foo: bar\n", "holds no Envoy config"},
	} {
		_, err := Load([]byte(tc.in))
		if !errors.Is(err, ErrNotDump) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.in, err, tc.want)
		}
	}
}
