package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	diskcached "k8s.io/client-go/discovery/cached/disk"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	clienttesting "k8s.io/client-go/testing"
)

// served is a cluster's discovery: core, built-in groups with several
// versions, Istio's and the Gateway API's CRDs (both serve "gateways"),
// events in two groups, and custom resources whose short names collide
// with built-in names.
func served() []*metav1.APIResourceList {
	r := func(name, singular, kind string, namespaced bool, short ...string) metav1.APIResource {
		return metav1.APIResource{Name: name, SingularName: singular, Kind: kind, Namespaced: namespaced, ShortNames: short, Verbs: []string{"get", "list"}}
	}
	return []*metav1.APIResourceList{
		{GroupVersion: "v1", APIResources: []metav1.APIResource{
			r("pods", "pod", "Pod", true, "po"), r("pods/log", "", "Pod", true), r("services", "service", "Service", true, "svc"),
			r("nodes", "node", "Node", false, "no"), r("namespaces", "namespace", "Namespace", false, "ns"),
			r("configmaps", "configmap", "ConfigMap", true, "cm"), r("events", "event", "Event", true, "ev"),
			r("endpoints", "endpoints", "Endpoints", true, "ep"), r("replicationcontrollers", "replicationcontroller", "ReplicationController", true, "rc"),
			r("componentstatuses", "", "ComponentStatus", false, "cs"),
		}},
		{GroupVersion: "apps/v1", APIResources: []metav1.APIResource{
			r("deployments", "deployment", "Deployment", true, "deploy"), r("statefulsets", "statefulset", "StatefulSet", true, "sts"),
			r("daemonsets", "daemonset", "DaemonSet", true, "ds"), r("replicasets", "replicaset", "ReplicaSet", true, "rs"),
			r("deployments/scale", "", "Scale", true),
		}},
		{GroupVersion: "events.k8s.io/v1", APIResources: []metav1.APIResource{r("events", "event", "Event", true, "ev")}},
		{GroupVersion: "autoscaling/v2", APIResources: []metav1.APIResource{r("horizontalpodautoscalers", "horizontalpodautoscaler", "HorizontalPodAutoscaler", true, "hpa")}},
		{GroupVersion: "autoscaling/v1", APIResources: []metav1.APIResource{r("horizontalpodautoscalers", "horizontalpodautoscaler", "HorizontalPodAutoscaler", true, "hpa")}},
		{GroupVersion: "batch/v1", APIResources: []metav1.APIResource{r("jobs", "job", "Job", true), r("cronjobs", "cronjob", "CronJob", true, "cj")}},
		{GroupVersion: "networking.istio.io/v1", APIResources: []metav1.APIResource{
			r("virtualservices", "virtualservice", "VirtualService", true, "vs"), r("destinationrules", "destinationrule", "DestinationRule", true, "dr"),
			r("gateways", "gateway", "Gateway", true, "gw"), r("serviceentries", "serviceentry", "ServiceEntry", true, "se"),
		}},
		{GroupVersion: "networking.istio.io/v1beta1", APIResources: []metav1.APIResource{
			r("virtualservices", "virtualservice", "VirtualService", true, "vs"), r("gateways", "gateway", "Gateway", true, "gw"),
			r("workloadgroups", "workloadgroup", "WorkloadGroup", true, "wg"),
		}},
		{GroupVersion: "gateway.networking.k8s.io/v1", APIResources: []metav1.APIResource{
			r("gateways", "gateway", "Gateway", true, "gtw"), r("httproutes", "httproute", "HTTPRoute", true),
		}},
		{GroupVersion: "argoproj.io/v1alpha1", APIResources: []metav1.APIResource{r("rollouts", "rollout", "Rollout", true, "ro")}},
		{GroupVersion: "example.com/v1", APIResources: []metav1.APIResource{
			r("pollers", "poller", "Poller", true, "po", "svc"), r("deploys", "deploy", "Deploy", true, "dep"), r("frontends", "", "Frontend", false, "fe"),
		}},
	}
}

// typesToTry is every way kubectl's TYPE can name each served resource
// (plural, singular, kind, short names; with group, partial group and
// version; in other cases) and some it cannot.
func typesToTry(lists []*metav1.APIResourceList) []string {
	seen := map[string]bool{}
	var out []string
	add := func(s ...string) {
		for _, t := range s {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	for _, l := range lists {
		gv, _ := schema.ParseGroupVersion(l.GroupVersion)
		for _, r := range l.APIResources {
			names := append([]string{r.Name, r.SingularName, r.Kind, strings.ToLower(r.Kind), strings.ToUpper(r.Name)}, r.ShortNames...)
			for _, n := range names {
				if n == "" {
					continue
				}
				add(n)
				if gv.Group != "" {
					add(n+"."+gv.Group, n+"."+gv.Version+"."+gv.Group, n+"."+gv.Group[:len(gv.Group)/2], n+".v9."+gv.Group)
				} else {
					add(n + ".v1")
				}
			}
		}
	}
	return append(out, "frobs", "deployments.nosuch", "deploy.apps.extra", "Pod.v1.", ".apps", "po.example", "svc.exa", "autoscal")
}

// TestMapperIsClientGos: on the same discovery, every TYPE maps to the
// resource and scope client-go's restmapper (with its short name
// expander, as kubectl builds it) maps it to, or fails as it fails.
func TestMapperIsClientGos(t *testing.T) {
	lists := served()
	dc := &fakediscovery.FakeDiscovery{Fake: &clienttesting.Fake{}}
	dc.Resources = lists
	// The groups in the order served (the fake's ServerGroups lists them
	// in map order, and the order decides between groups serving the
	// same name), the first version preferred.
	var groups []*restmapper.APIGroupResources
	for _, g := range groupsOf(lists) {
		ag := &restmapper.APIGroupResources{Group: metav1.APIGroup{Name: g.Name}, VersionedResources: g.Resources}
		for _, v := range g.Versions {
			ag.Group.Versions = append(ag.Group.Versions, metav1.GroupVersionForDiscovery{GroupVersion: schema.GroupVersion{Group: g.Name, Version: v}.String(), Version: v})
		}
		ag.Group.PreferredVersion = ag.Group.Versions[0]
		groups = append(groups, ag)
	}
	theirs := restmapper.NewShortcutExpander(restmapper.NewDiscoveryRESTMapper(groups), dc, nil)
	mine := newMapper(groupsOf(lists))
	tried, mapped := 0, 0
	for _, typ := range typesToTry(lists) {
		want, wantErr := mappingFor(theirs, typ)
		got, gotErr := mappingFor(mine, typ)
		tried++
		var wantUnknown, gotUnknown *UnknownTypeError
		switch {
		case (wantErr == nil) != (gotErr == nil) || errors.As(wantErr, &wantUnknown) != errors.As(gotErr, &gotUnknown):
			t.Errorf("%s: got %v (%v), client-go's %v (%v)", typ, describe(got), gotErr, describe(want), wantErr)
		case wantErr == nil && (got.Resource != want.Resource || got.Scope.Name() != want.Scope.Name() || got.GroupVersionKind != want.GroupVersionKind):
			t.Errorf("%s: got %v, client-go's %v", typ, describe(got), describe(want))
		case wantErr == nil:
			mapped++
		}
	}
	if tried < 300 || mapped < 150 {
		t.Fatalf("tried %d types, %d mapped: the comparison covers too little", tried, mapped)
	}
}

func describe(m *meta.RESTMapping) string {
	if m == nil {
		return "nothing"
	}
	return fmt.Sprintf("%s (%s, %s)", m.Resource, m.GroupVersionKind, m.Scope.Name())
}

// groupsOf files resource lists by group, versions in the order given
// (the first preferred), groups in the order first seen.
func groupsOf(lists []*metav1.APIResourceList) []apiGroup {
	var groups []apiGroup
	index := map[string]int{}
	for _, l := range lists {
		gv, _ := schema.ParseGroupVersion(l.GroupVersion)
		i, ok := index[gv.Group]
		if !ok {
			i = len(groups)
			index[gv.Group] = i
			groups = append(groups, apiGroup{Name: gv.Group, Resources: map[string][]metav1.APIResource{}})
		}
		groups[i].Versions = append(groups[i].Versions, gv.Version)
		groups[i].Resources[gv.Version] = l.APIResources
	}
	return groups
}

// discoveryServer serves lists as an API server does: aggregated
// discovery when asked for it and aggregated is true, else the legacy
// documents; it counts requests.
func discoveryServer(t *testing.T, lists []*metav1.APIResourceList, aggregated bool, requests *int) *httptest.Server {
	groups := groupsOf(lists)
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*requests++
		w.Header().Set("Content-Type", "application/json")
		core := r.URL.Path == "/api"
		if aggregated && strings.Contains(r.Header.Get("Accept"), "as=APIGroupDiscoveryList") && (core || r.URL.Path == "/apis") {
			var items []any
			for _, g := range groups {
				if (g.Name == "") != core {
					continue
				}
				var versions []any
				for _, v := range g.Versions {
					var rs []any
					for _, res := range g.Resources[v] {
						if strings.Contains(res.Name, "/") {
							continue // aggregated discovery lists subresources under their resource
						}
						scope := "Cluster"
						if res.Namespaced {
							scope = "Namespaced"
						}
						rs = append(rs, map[string]any{"resource": res.Name, "responseKind": map[string]string{"group": g.Name, "version": v, "kind": res.Kind},
							"scope": scope, "singularResource": res.SingularName, "shortNames": res.ShortNames, "verbs": res.Verbs})
					}
					versions = append(versions, map[string]any{"version": v, "resources": rs, "freshness": "Current"})
				}
				items = append(items, map[string]any{"metadata": map[string]string{"name": g.Name}, "versions": versions})
			}
			w.Header().Set("Content-Type", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
			_ = json.NewEncoder(w).Encode(map[string]any{"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "items": items})
			return
		}
		switch {
		case r.URL.Path == "/api":
			_ = json.NewEncoder(w).Encode(metav1.APIVersions{TypeMeta: metav1.TypeMeta{Kind: "APIVersions"}, Versions: []string{"v1"}})
		case r.URL.Path == "/apis":
			l := metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}}
			for _, g := range groups[1:] {
				ag := metav1.APIGroup{Name: g.Name, PreferredVersion: metav1.GroupVersionForDiscovery{GroupVersion: g.Name + "/" + g.Versions[0], Version: g.Versions[0]}}
				for _, v := range g.Versions {
					ag.Versions = append(ag.Versions, metav1.GroupVersionForDiscovery{GroupVersion: g.Name + "/" + v, Version: v})
				}
				l.Groups = append(l.Groups, ag)
			}
			_ = json.NewEncoder(w).Encode(l)
		default:
			gv := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/apis/"), "/api/")
			for _, l := range lists {
				if l.GroupVersion == gv {
					_ = json.NewEncoder(w).Encode(metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"},
						GroupVersion: l.GroupVersion, APIResources: l.APIResources})
					return
				}
			}
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`)
		}
	}))
}

// TestDiscoveryReadsWhatTheServerServes: aggregated (two requests) and
// legacy discovery (a request per group version) give the mapping of the
// resource lists served; kubectl's disk cache, written by client-go's own
// cached discovery client, gives it too, without a request; a type the
// cache lacks is asked of the server.
func TestDiscoveryReadsWhatTheServerServes(t *testing.T) {
	lists := served()
	want := newMapper(groupsOf(lists))
	types := typesToTry(lists)
	check := func(t *testing.T, name string, got meta.RESTMapper) {
		for _, typ := range types {
			w, werr := mappingFor(want, typ)
			g, gerr := mappingFor(got, typ)
			if (werr == nil) != (gerr == nil) || werr == nil && (g.Resource != w.Resource || g.Scope.Name() != w.Scope.Name()) {
				t.Errorf("%s, %s: got %v (%v), want %v (%v)", name, typ, describe(g), gerr, describe(w), werr)
			}
		}
	}
	for _, aggregated := range []bool{true, false} {
		requests := 0
		srv := discoveryServer(t, lists, aggregated, &requests)
		groups, err := discoverLive(context.Background(), &rest.Config{Host: srv.URL})
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		check(t, fmt.Sprintf("aggregated %v", aggregated), newMapper(groups))
		if wantRequests := 2; aggregated && requests != wantRequests || !aggregated && requests != 2+len(lists) {
			t.Errorf("aggregated %v: %d requests", aggregated, requests)
		}
	}

	// kubectl's cache, as client-go writes it.
	requests := 0
	srv := discoveryServer(t, lists, false, &requests)
	defer srv.Close()
	cache := t.TempDir()
	dir := discoveryCacheDir(filepath.Join(cache, "discovery"), srv.URL)
	kubectl, err := diskcached.NewCachedDiscoveryClientForConfig(&rest.Config{Host: srv.URL}, dir, filepath.Join(cache, "http"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := kubectl.ServerGroupsAndResources(); err != nil {
		t.Fatal(err)
	}
	groups, ok := readDiscoveryCache(dir)
	if !ok {
		t.Fatalf("kubectl's cache in %s not read", dir)
	}
	check(t, "kubectl's cache", newMapper(groups))
	requests = 0
	d := &discoveryMapper{cfg: &rest.Config{Host: srv.URL}, cacheDir: dir}
	if _, err := mappingFor(d, "deploy"); err != nil || requests != 0 {
		t.Errorf("deploy from the cache: %v, %d requests to the server", err, requests)
	}
	// A type the cache has not seen: the server is asked again.
	if _, err := mappingFor(d, "frobs"); !errors.As(err, new(*UnknownTypeError)) || requests == 0 {
		t.Errorf("frobs: %v after %d requests; want the server asked, and an unknown type", err, requests)
	}
}

// TestDiscoveryRefusedIsSaid: a server refusing discovery gives a
// DiscoveryError naming the document, carrying the API's Forbidden.
func TestDiscoveryRefusedIsSaid(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403}`)
	}))
	defer srv.Close()
	_, err := mappingFor(&discoveryMapper{cfg: &rest.Config{Host: srv.URL}}, "deploy")
	var disc *DiscoveryError
	if !errors.As(err, &disc) || disc.Path != "/api" || !apierrors.IsForbidden(err) {
		t.Fatalf("got %v; want a refused discovery of /api", err)
	}
}
