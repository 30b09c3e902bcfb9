package ztunnel

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const fixtures = "../../../shared/fixtures"

func read(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// older is istioctl's test dump: the map-keyed shape of ztunnel before 1.22.
func older(t testing.TB) []byte {
	return read(t, filepath.Join(fixtures, "istio/istioctl-golden/ztunnel/dump.json"))
}

func TestBothShapesLoad(t *testing.T) {
	for _, tc := range []struct {
		name                                     string
		data                                     []byte
		workloads, services, policies, certs, up int
	}{
		{"older (maps)", older(t), 27, 19, 2, 4, 6},
		{"newer (lists)", read(t, "testdata/newer-shape.json"), 4, 4, 2, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Load(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			got := []int{len(d.Workloads), len(d.Services), len(d.Policies), len(d.Certificates), len(d.States)}
			want := []int{tc.workloads, tc.services, tc.policies, tc.certs, tc.up}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("workloads, services, policies, certificates, states = %v, want %v", got, want)
			}
		})
	}
}

// The same content as a map or as a list gives the same rows: ztunnel
// changed the shape, not the facts.
func TestMapAndListShapesGiveTheSameRows(t *testing.T) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(older(t), &top); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"workloads", "services"} {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(top[k], &m); err != nil {
			t.Fatal(err)
		}
		var list []json.RawMessage
		for _, v := range m {
			list = append(list, v) // map order: random
		}
		top[k], _ = json.Marshal(list)
	}
	relisted, _ := json.Marshal(top)
	a, err := Load(older(t))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load(relisted)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.WorkloadRows(Filter{}), b.WorkloadRows(Filter{})) {
		t.Error("workload rows differ between the map and list shapes")
	}
	if !reflect.DeepEqual(a.ServiceRows(Filter{}), b.ServiceRows(Filter{})) {
		t.Error("service rows differ between the map and list shapes")
	}
}

func TestNewerShapeFacts(t *testing.T) {
	d, err := Load(read(t, "testdata/newer-shape.json"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != "1.28.0" || d.Staged["default/ratings.default.svc.cluster.local"] != 1 {
		t.Errorf("version %q, staged %v", d.Version, d.Staged)
	}
	if !reflect.DeepEqual(d.Static, map[string]int{"workloads": 2, "services": 2, "policies": 1}) {
		t.Errorf("static %v", d.Static)
	}
	rows := d.WorkloadRows(Filter{Workload: "reviews-v1-5b5d6494f4-c7z5w.default"})
	if len(rows) != 1 || rows[0].Waypoint != "waypoint" || rows[0].Protocol != "HBONE" {
		t.Errorf("a waypoint named by hostname: %+v", rows)
	}
	svcs := d.ServiceRows(Filter{})
	if svcs[2].Name != "reviews" || svcs[2].Waypoint != "waypoint" || svcs[2].LoadBalancer != "Failover Network>Locality" {
		t.Errorf("reviews: %+v", svcs[2])
	}
	pols := d.PolicyRows(Filter{})
	if pols[0].Rules != "not port 9999" || pols[1].Rules != "principal cluster.local/ns/default/sa/sleep or namespace book* and port 9080" {
		t.Errorf("rules: %q, %q", pols[0].Rules, pols[1].Rules)
	}
	certs := d.CertRows(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	if len(certs) != 2 || certs[0].Type != "Leaf" || !certs[0].Valid || certs[1].Type != "Root" {
		t.Errorf("certificates: %+v", certs)
	}
	if certs := d.CertRows(time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)); certs[0].Valid {
		t.Error("a leaf past its expiry is valid")
	}
}

func TestNotAZtunnelDumpSaysWhatItIs(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"configs":[]}`, "an Envoy config dump"},
		{`{"cluster_statuses":[]}`, "Envoy's /clusters"},
		{`{"apiVersion":"v1","kind":"Pod"}`, "a Kubernetes object"},
		{`{"foo":1}`, "it has foo"},
		{`[1,2]`, "not a ztunnel config dump"},
		{`null`, "empty"},
		{`{"workloads": 3}`, "workloads is neither a list nor a map"},
		{`{"workloads": [{"workloadIps": "10.0.0.1"}]}`, "workloadIps is a JSON string where ztunnel writes a list"},
		{`{"policies": [{"rules": [[[{"principals": [{"Regex": "x"}]}]]]}]}`, "unknown string match"},
		{`{"workloads": [{"waypoint": {"destination": 7}}]}`, "neither an address nor a hostname"},
	} {
		_, err := Load([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", tc.in, err, tc.want)
		}
	}
	if _, err := Load([]byte(`{"configs":[]}`)); !errors.Is(err, ErrNotZtunnel) {
		t.Errorf("%v is not ErrNotZtunnel", err)
	}
}

func TestYAMLDumpReads(t *testing.T) {
	d, err := Load(read(t, "testdata/localhost.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Workloads) != 2 || len(d.Services) != 2 || len(d.Policies) != 1 {
		t.Errorf("%d workloads, %d services, %d policies", len(d.Workloads), len(d.Services), len(d.Policies))
	}
}

// Every prefix of a real dump is an error or a dump, never a panic.
func TestTruncatedDumpsFailCleanly(t *testing.T) {
	data := older(t)
	for n := 0; n < len(data); n += 97 {
		_, _ = Load(data[:n])
	}
}

func FuzzLoad(f *testing.F) {
	// Small seeds: the engine crawls on the 38 kB dumps.
	f.Add([]byte(`{"workloads":{"/10.0.0.1":{"workloadIps":["10.0.0.1"],"waypoint":{"destination":"/10.96.0.9","port":15008},"protocol":"HBONE","uid":"u","name":"a","namespace":"n","status":"Healthy"}},` +
		`"services":{"/10.96.0.9":{"name":"w","namespace":"n","hostname":"w.n","vips":["/10.96.0.9"],"ports":{"15008":15008},"endpoints":{"u":{"workloadUid":"u","port":{"15008":15008}}}}},` +
		`"policies":[{"name":"p","namespace":"n","scope":"Namespace","action":"Allow","rules":[[[{"principals":[{"Exact":"x"}],"notDestinationPorts":[1]}]]]}],` +
		`"certificates":[{"identity":"i","state":"Available","certChain":[{"serialNumber":"12","validFrom":"2026-01-01T00:00:00Z","expirationTime":"2027-01-01T00:00:00Z"}]}],` +
		`"workloadState":{"u":{"connections":{"inbound":[{"src":"10.0.0.2:1","originalDst":null,"actualDst":"10.0.0.1:80","protocol":"HBONE"}],"outbound":[]},"info":{"name":"a","namespace":"n","serviceAccount":"s"}}}}`))
	f.Add([]byte(`{"workloads":[{"workloadIps":[],"waypoint":{"destination":{"namespace":"n","hostname":"w.n"},"hboneMtlsPort":15008},"namespace":"n"}],"services":[],"stagedServices":{"n/x":{"u":{}}},"staticConfig":{"workloads":[{}]}}`))
	f.Add([]byte("workloads:\n- name: a\n  namespace: n\n  workloadIps: [10.0.0.1]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Load(data)
		if err != nil {
			return
		}
		d.WorkloadRows(Filter{})
		d.ServiceRows(Filter{})
		d.PolicyRows(Filter{})
		d.CertRows(time.Now())
		d.ConnectionRows(Filter{}, false)
	})
}

// istioctl's dump: details in bookinfo uses the namespace waypoint, whose
// pod is namespace-istio-waypoint-d94944bf6-z89g2.
func TestWaypointsOfAWorkload(t *testing.T) {
	d, err := Load(older(t))
	if err != nil {
		t.Fatal(err)
	}
	w := d.WorkloadNamed("bookinfo", "details-v1-698d88b-dqrbr")
	if w == nil {
		t.Fatal("no details workload")
	}
	wps := d.Waypoints(w)
	if len(wps) != 1 || wps[0].Name != "namespace-istio-waypoint" {
		t.Fatalf("waypoints %v", wps)
	}
	pods := d.Backends(wps[0])
	if len(pods) != 1 || pods[0].Name != "namespace-istio-waypoint-d94944bf6-z89g2" {
		t.Errorf("waypoint pods %v", pods)
	}
	if wps := d.Waypoints(d.WorkloadNamed("default", "sleep-7656cf8794-lxcmx")); len(wps) != 0 {
		t.Errorf("sleep has no waypoint, got %v", wps)
	}
}
