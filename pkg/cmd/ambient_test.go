package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	dynfake "k8s.io/client-go/dynamic/fake"
)

func gateway(ns, name, class string, labels map[string]string, address string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
		"metadata": map[string]any{"namespace": ns, "name": name},
		"spec":     map[string]any{"gatewayClassName": class},
	}}
	u.SetLabels(labels)
	if address != "" {
		_ = unstructured.SetNestedSlice(u.Object, []any{map[string]any{"type": "IPAddress", "value": address}}, "status", "addresses")
	}
	return u
}

func dynClient(gws ...*unstructured.Unstructured) *dynfake.FakeDynamicClient {
	c := dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		gatewaysGVR: "GatewayList", gatewayClassesGVR: "GatewayClassList",
	})
	for _, g := range gws { // created, as objects given to the constructor are not listed
		if _, err := c.Resource(gatewaysGVR).Namespace(g.GetNamespace()).Create(context.Background(), g, metav1.CreateOptions{}); err != nil {
			panic(err)
		}
	}
	return c
}

// The bookinfo namespace in ambient mode: a namespace waypoint for its
// services, one pod opted out, one with a sidecar, one not captured yet, a
// Service bound to a waypoint that is not ready.
func TestAmbientOverview(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bookinfo", Labels: map[string]string{
		"istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint"}}}
	captured := map[string]string{"ambient.istio.io/redirection": "enabled"}
	podIn := func(name string, labels, annotations map[string]string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "bookinfo", Name: name, Labels: labels, Annotations: annotations},
			Spec: corev1.PodSpec{NodeName: "worker-1"}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	}
	svc := func(name string, labels map[string]string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "bookinfo", Name: name, Labels: labels}}
	}
	src, _ := fakeSource(Target{}, ns,
		podIn("productpage-1", nil, captured),
		podIn("ratings-1", map[string]string{"istio.io/dataplane-mode": "none"}, nil),
		podIn("legacy-1", nil, map[string]string{"sidecar.istio.io/status": "{}"}),
		podIn("reviews-1", nil, nil),
		podIn("details-1", map[string]string{"istio.io/use-waypoint": "pod-waypoint"}, captured),
		svc("productpage", nil), svc("reviews", map[string]string{"istio.io/use-waypoint": "canary"}),
		svc("ratings", map[string]string{"istio.io/use-waypoint": "none"}))
	dyn := dynClient(
		gateway("bookinfo", "waypoint", "istio-waypoint", nil, "10.96.0.9"),
		gateway("bookinfo", "pod-waypoint", "istio-waypoint", map[string]string{"istio.io/waypoint-for": "workload"}, "10.96.0.10"),
		gateway("bookinfo", "canary", "istio-waypoint", nil, ""),
		gateway("bookinfo", "ingress", "istio", nil, "10.96.0.11"))
	var out, errOut bytes.Buffer
	o := &AmbientOptions{deps: Deps{IOStreams: genericiooptions.IOStreams{Out: &out, ErrOut: &errOut}}, cluster: src.cluster, dyn: dyn,
		namespace: "bookinfo", Output: outJSON}
	v, err := o.view(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	pods := map[string]AmbientPod{}
	for _, p := range v.Pods {
		pods[p.Name] = p
	}
	for name, want := range map[string]struct{ mode, waypoint, problem string }{
		"productpage-1": {"ambient", "", ""}, // the namespace waypoint is for services
		"ratings-1":     {"none", "", ""},
		"legacy-1":      {"sidecar", "", ""},
		"reviews-1":     {"ambient", "", "not captured yet"},
		"details-1":     {"ambient", "bookinfo/pod-waypoint", ""},
	} {
		p := pods[name]
		problems := strings.Join(p.Problems, "; ")
		if p.Mode != want.mode || p.Waypoint != want.waypoint || (want.problem == "") != (problems == "") || !strings.Contains(problems, want.problem) {
			t.Errorf("%s: %+v, want %+v", name, p, want)
		}
	}
	svcs := map[string]AmbientService{}
	for _, s := range v.Services {
		svcs[s.Name] = s
	}
	if s := svcs["productpage"]; s.Waypoint != "bookinfo/waypoint" || len(s.Problems) != 0 || !strings.Contains(s.WaypointWhy, "namespace label") {
		t.Errorf("productpage %+v", s)
	}
	if s := svcs["reviews"]; s.Waypoint != "bookinfo/canary" || len(s.Problems) != 1 || !strings.Contains(s.Problems[0], "not ready") {
		t.Errorf("reviews %+v", s)
	}
	if s := svcs["ratings"]; s.Waypoint != "" || !strings.Contains(s.WaypointWhy, "opted out") {
		t.Errorf("ratings %+v", s)
	}
	if len(v.Waypoints) != 3 {
		t.Errorf("waypoints %+v (the istio-class ingress is not one)", v.Waypoints)
	}
	if err := o.print(v); err != nil {
		t.Fatal(err)
	}
	var back AmbientView
	if err := json.Unmarshal(out.Bytes(), &back); err != nil || len(back.Pods) != 5 {
		t.Errorf("-o json: %v %s", err, out.String())
	}
	out.Reset()
	o.Output = outTable
	if err := o.print(v); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), "warning: pod bookinfo/reviews-1: not captured yet") ||
		!strings.Contains(errOut.String(), "warning: service bookinfo/reviews: waypoint bookinfo/canary is not ready") {
		t.Errorf("warnings:\n%s", errOut.String())
	}
	rows := parseTable(out.String()).rows
	if len(rows) != 5 || rows[0]["POD"] != "details-1" || rows[0]["WAYPOINT"] != "bookinfo/pod-waypoint" {
		t.Errorf("pods table %v", rows)
	}
}

func TestAmbientNamespaceNotFound(t *testing.T) {
	src, _ := fakeSource(Target{})
	o := &AmbientOptions{deps: Deps{IOStreams: genericiooptions.IOStreams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}}, cluster: src.cluster, dyn: dynClient(), namespace: "nope"}
	_, err := o.view(context.Background())
	if err == nil || !strings.Contains(err.Error(), "namespace nope not found") || ExitCode(err) != ExitFailure {
		t.Errorf("got %v", err)
	}
}
