package ambient

import (
	"strings"
	"testing"
)

// The rules as istio-cni (cni/pkg/util/enablement_selector.go and the
// chart's default enablementSelectors) and istiod
// (pilot/pkg/serviceregistry/ambient/waypoints.go) apply them, istio/istio
// at 86c9f01fd735fb01d8192f5bcaf0d424afb7f14c.

func meta(ns, name string, labels map[string]string) Meta {
	return Meta{Namespace: ns, Name: name, Labels: labels, Annotations: map[string]string{}}
}

func TestEnroll(t *testing.T) {
	ambientNS := map[string]string{DataplaneMode: "ambient"}
	captured := func(p Pod, v string) Pod { p.Annotations = map[string]string{Redirection: v}; return p }
	sidecar := Pod{Meta: meta("a", "p", nil)}
	sidecar.Annotations[SidecarStatus] = `{"containers":["istio-proxy"]}`
	for _, tc := range []struct {
		name          string
		pod           Pod
		ns            map[string]string
		mode, problem string
	}{
		{"namespace label", captured(Pod{Meta: meta("a", "p", nil)}, "enabled"), ambientNS, "ambient", ""},
		{"pod label in a plain namespace", captured(Pod{Meta: meta("a", "p", map[string]string{DataplaneMode: "ambient"})}, "enabled"), nil, "ambient", ""},
		{"pod opts out", Pod{Meta: meta("a", "p", map[string]string{DataplaneMode: "none"})}, ambientNS, "none", ""},
		{"no label", Pod{Meta: meta("a", "p", nil)}, nil, "none", ""},
		{"host network", Pod{Meta: meta("a", "p", nil), HostNetwork: true}, ambientNS, "none", ""},
		{"kube-system, excluded by istio-cni", Pod{Meta: meta("kube-system", "coredns", map[string]string{DataplaneMode: "ambient"})}, ambientNS, "none", ""},
		{"a ztunnel", Pod{Meta: meta("istio-system", "ztunnel-x", map[string]string{"app": "ztunnel"})}, ambientNS, "none", ""},
		{"sidecar wins", sidecar, ambientNS, "sidecar", ""},
		{"enrolled, not captured", Pod{Meta: meta("a", "p", nil), Node: "n1"}, ambientNS, "ambient", "not captured yet"},
		{"enrolled, pending", captured(Pod{Meta: meta("a", "p", nil), Node: "n1"}, "pending"), ambientNS, "ambient", "capture pending"},
		{"unenrolled, still captured", captured(Pod{Meta: meta("a", "p", nil)}, "enabled"), nil, "none", "still captured"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := Enroll(tc.pod, tc.ns)
			if e.Mode != tc.mode || (tc.problem == "") != (e.Problem == "") || tc.problem != "" && !strings.Contains(e.Problem, tc.problem) {
				t.Errorf("got %+v, want mode %s problem %q", e, tc.mode, tc.problem)
			}
			if e.Why == "" {
				t.Error("no reason given")
			}
		})
	}
}

func TestWaypointBinding(t *testing.T) {
	wps := map[string]*Waypoint{
		"a/waypoint": {Meta: meta("a", "waypoint", nil), For: TrafficService, Ready: true},
		"a/all":      {Meta: meta("a", "all", nil), For: TrafficAll, Ready: true},
		"a/pending":  {Meta: meta("a", "pending", nil), For: TrafficService},
		"shared/wp":  {Meta: meta("shared", "wp", nil), For: TrafficWorkload, Ready: true},
	}
	nsWith := func(v string) Meta { return meta("", "a", map[string]string{UseWaypoint: v}) }
	plainNS := meta("", "a", nil)
	for _, tc := range []struct {
		name              string
		use               func() Use
		waypoint, problem string
	}{
		{"service: namespace label", func() Use { return ForService(meta("a", "s", nil), nsWith("waypoint"), wps) }, "a/waypoint", ""},
		{"service: own label wins", func() Use {
			return ForService(meta("a", "s", map[string]string{UseWaypoint: "all"}), nsWith("waypoint"), wps)
		}, "a/all", ""},
		{"service: opted out", func() Use {
			return ForService(meta("a", "s", map[string]string{UseWaypoint: "none"}), nsWith("waypoint"), wps)
		}, "", ""},
		{"service: other namespace", func() Use {
			return ForService(meta("a", "s", map[string]string{UseWaypoint: "wp", UseWaypointNamespace: "shared"}), plainNS, wps)
		}, "shared/wp", "takes workload traffic"},
		{"service: missing", func() Use { return ForService(meta("a", "s", map[string]string{UseWaypoint: "gone"}), plainNS, wps) }, "a/gone", "does not exist"},
		{"service: not ready", func() Use { return ForService(nsMeta("s", UseWaypoint, "pending"), plainNS, wps) }, "a/pending", "not ready"},
		{"service: none", func() Use { return ForService(meta("a", "s", nil), plainNS, wps) }, "", ""},
		{"service: a waypoint's own", func() Use {
			return ForService(meta("a", "waypoint", map[string]string{"gateway.istio.io/managed": "istio.io-mesh-controller"}), nsWith("waypoint"), wps)
		}, "", ""},
		{"workload: namespace's service waypoint does not apply", func() Use { return ForWorkload(meta("a", "p", nil), nsWith("waypoint"), wps) }, "", ""},
		{"workload: namespace's all waypoint applies", func() Use { return ForWorkload(meta("a", "p", nil), nsWith("all"), wps) }, "a/all", ""},
		{"workload: own label on a service waypoint", func() Use { return ForWorkload(nsMeta("p", UseWaypoint, "waypoint"), plainNS, wps) }, "a/waypoint", "not workload traffic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := tc.use()
			if u.Waypoint != tc.waypoint || (tc.problem == "") != (u.Problem == "") || tc.problem != "" && !strings.Contains(u.Problem, tc.problem) {
				t.Errorf("got %+v, want %s problem %q", u, tc.waypoint, tc.problem)
			}
		})
	}
}

func nsMeta(name, k, v string) Meta { return meta("a", name, map[string]string{k: v}) }

func TestTrafficFor(t *testing.T) {
	if got := TrafficFor(nil, nil); got != TrafficService {
		t.Errorf("default %s", got)
	}
	if got := TrafficFor(nil, map[string]string{WaypointFor: "all"}); got != "all" {
		t.Errorf("class %s", got)
	}
	if got := TrafficFor(map[string]string{WaypointFor: "workload"}, map[string]string{WaypointFor: "all"}); got != "workload" {
		t.Errorf("gateway over class %s", got)
	}
}
