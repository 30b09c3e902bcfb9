package pilot

import (
	"os"
	"reflect"
	"testing"
)

// Real istiod debug views, recorded by Kiali's tests (see MANIFEST.md).
const kiali = "../../../shared/fixtures/kiali/istiod-debug/"

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(kiali + name)
	if err != nil {
		t.Skip(err)
	}
	return b
}

func TestSyncz(t *testing.T) {
	ss, err := ParseSyncz(read(t, "registry-syncz.json"), "istiod-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 34 {
		t.Fatalf("%d proxies, want 34", len(ss))
	}
	first := ss[0]
	if first.Proxy != "b-client-8b97458bb-tghx9.beta" || first.IstioVersion != "1.14.1" || first.Istiod != "istiod-1" {
		t.Errorf("first: %+v", first)
	}
	for _, typ := range []string{"CDS", "LDS", "EDS", "RDS"} {
		if first.Types[typ] != Synced {
			t.Errorf("%s: %s, sent equals acked", typ, first.Types[typ])
		}
	}
	if first.Types["ECDS"] != NotSent {
		t.Errorf("ECDS: %s, nothing was sent", first.Types["ECDS"])
	}
	stale, err := ParseSyncz([]byte(`[{"proxy":"a.ns","cluster_sent":"n2","cluster_acked":"n1","listener_sent":"x","listener_acked":"x"},{"proxy":"b.ns","cluster_sent":"n","cluster_acked":"n"}]`), "istiod-1")
	if err != nil {
		t.Fatal(err)
	}
	SortStatus(stale)
	if stale[0].Types["CDS"] != Stale || stale[0].InSync() || !stale[1].InSync() {
		t.Errorf("stale: %+v", stale)
	}
	if _, err := ParseSyncz([]byte(`{"not":"a list"}`), ""); err == nil {
		t.Error("a non-list accepted")
	}
}

func TestRegistryzAndConfigz(t *testing.T) {
	svcs, err := ParseRegistryz(read(t, "registry-registryz.json"))
	if err != nil || len(svcs) != 79 {
		t.Fatalf("%d services, %v", len(svcs), err)
	}
	found := false
	for _, s := range svcs {
		if s.Hostname == "*.msn.com" {
			found = s.Registry == "External" && s.MeshExternal && s.Resolution == "Passthrough" && len(s.Ports) == 2
		}
	}
	if !found {
		t.Error("the ServiceEntry *.msn.com is not read right")
	}
	objs, err := ParseConfigz(read(t, "registry-configz.json"))
	if err != nil || len(objs) != 41 {
		t.Fatalf("%d objects, %v", len(objs), err)
	}
	if _, err := ParseConfigz(read(t, "registry-syncz.json")); err == nil {
		t.Error("syncz read as configz")
	}
}

// TestSynczSentTimes reads the per-type sent times of Istio 1.22+ syncz
// (recorded from the real istiod of the e2e stack).
func TestSynczSentTimes(t *testing.T) {
	ss, err := ParseSyncz([]byte(`[{"cluster_id":"Kubernetes","proxy":"sleep.default","proxy_type":"sidecar","istio_version":"1.28.0",
 "cluster_sent":"a","cluster_acked":"a","listener_sent":"b","listener_acked":"b",
 "resources":{"type.googleapis.com/envoy.config.cluster.v3.Cluster":{"sent":"a","acked":"a","sentTime":"2026-11-25T16:17:55.486548186Z"},
  "type.googleapis.com/envoy.config.listener.v3.Listener":{"sent":"b","acked":"b","sentTime":"2026-11-25T16:17:55.496951167Z"}}}]`), "istiod-1")
	if err != nil {
		t.Fatal(err)
	}
	if got := ss[0].Sent["CDS"]; got.Year() != 2026 || got.Minute() != 17 {
		t.Errorf("CDS sent %v", got)
	}
	if _, ok := ss[0].Sent["RDS"]; ok || ss[0].ProxyType != "sidecar" {
		t.Errorf("%+v", ss[0])
	}
}

// A ztunnel in istiod's /debug/syncz (the SyncStatus and ResourceStatus
// of pilot/pkg/xds/debug.go, istio/istio 86c9f01fd735): only its
// resources say anything, for istio.workload.Address and
// istio.security.Authorization.
func TestSynczWithZtunnels(t *testing.T) {
	data := []byte(`[
 {"cluster_id":"Kubernetes","proxy":"ztunnel-qk2pp.istio-system","proxy_type":"ztunnel","istio_version":"1.28.0",
  "resources":{"type.googleapis.com/istio.workload.Address":{"sent":"a1","acked":"a1","sentTime":"2026-11-30T10:00:00Z"},
               "type.googleapis.com/istio.security.Authorization":{"sent":"b2","acked":"b1","sentTime":"2026-11-30T10:00:01Z"}}},
 {"cluster_id":"Kubernetes","proxy":"ztunnel-xljhg.istio-system","proxy_type":"ztunnel",
  "resources":{"type.googleapis.com/istio.workload.Address":{"sent":"a1","acked":"a0","lastError":"bad address"}}},
 {"cluster_id":"Kubernetes","proxy":"waypoint-5cdd6745d5-rc2gg.bookinfo","proxy_type":"waypoint",
  "cluster_sent":"c1","cluster_acked":"c1","listener_sent":"l1","listener_acked":"l1",
  "resources":{"type.googleapis.com/envoy.config.cluster.v3.Cluster":{"sent":"c1","acked":"c1"}}}
]`)
	ss, err := ParseSyncz(data, "istiod-1")
	if err != nil {
		t.Fatal(err)
	}
	want := []map[string]string{
		{"WDS": Synced, "AUTHZ": Stale},
		{"WDS": Error, "AUTHZ": NotSent},
		{"CDS": Synced, "LDS": Synced, "EDS": NotSent, "RDS": NotSent, "ECDS": NotSent},
	}
	for i, w := range want {
		if !reflect.DeepEqual(ss[i].Types, w) {
			t.Errorf("%s: %v, want %v", ss[i].Proxy, ss[i].Types, w)
		}
	}
	if ss[0].InSync() || ss[1].InSync() || !ss[2].InSync() {
		t.Error("a stale or rejected ztunnel type must put the ztunnel out of sync")
	}
}

// istiod's levels in both of its log formats: its default text
// (time<TAB>level<TAB>scope<TAB>message) and --log_as_json.
func TestIsWarning(t *testing.T) {
	for line, want := range map[string]bool{
		"2026-11-30T15:56:53.003239Z\terror\tgatewaycommon\terror rendering templates: no \"waypoint\" template defined\tgateway=demo/waypoint": true,
		"2026-11-30T15:56:42.083895Z\twarn\tads\tADS: \"sleep.default\" timeout":                                                                true,
		"2026-11-30T15:56:42.083895Z\tinfo\tads\tXDS: Pushing Services:1 (no error)":                                                            false,
		`{"level":"warn","time":"2026-11-30T15:56:42Z","scope":"ads","msg":"x"}`:                                                                true,
		`{"level":"info","time":"2026-11-30T15:56:42Z","scope":"ads","msg":"error"}`:                                                            false,
	} {
		if got := IsWarning(line); got != want {
			t.Errorf("%q: %v, want %v", line, got, want)
		}
	}
}
