package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/kube"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/kube/kubefake"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/render"
)

// The live paths without the e2e stack: pod resolution against client-go's
// fake clientset, the admin client against an httptest server standing in
// for Envoy's admin port.

func pod(name string, phase corev1.PodPhase, ready bool, containers ...string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": "frontend"}},
		Status:     corev1.PodStatus{Phase: phase},
	}
	for _, c := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c})
	}
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}
	return p
}

// older makes a pod created an hour before the others.
func older(p *corev1.Pod) *corev1.Pod {
	p.CreationTimestamp = metav1.NewTime(time.Now().Add(-time.Hour))
	return p
}

func fakeSource(target Target, objs ...runtime.Object) (*podSource, *fake.Clientset) {
	client := fake.NewSimpleClientset(objs...)
	finder := &kube.Finder{Pods: kubefake.Core(client), Object: func(ns, typeName string) (*unstructured.Unstructured, error) {
		// The resource builder's part, over the fake clientset: the object
		// as the API server returns it to an unstructured client.
		typ, name, _ := strings.Cut(typeName, "/")
		ctx := context.Background()
		var (
			obj  runtime.Object
			kind schema.GroupVersionKind
			err  error
		)
		switch typ {
		case "pod":
			obj, err = client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
			kind = corev1.SchemeGroupVersion.WithKind("Pod")
		case "deployment":
			obj, err = client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
			kind = appsv1.SchemeGroupVersion.WithKind("Deployment")
		case "statefulset", "sts":
			obj, err = client.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
			kind = appsv1.SchemeGroupVersion.WithKind("StatefulSet")
		case "service":
			obj, err = client.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
			kind = corev1.SchemeGroupVersion.WithKind("Service")
		case "configmap":
			obj, err = client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
			kind = corev1.SchemeGroupVersion.WithKind("ConfigMap")
		default:
			return nil, &kube.UnknownTypeError{Type: typ}
		}
		if err != nil {
			return nil, err
		}
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{Object: m}
		u.SetGroupVersionKind(kind)
		return u, nil
	}}
	return &podSource{cluster: &cluster{cfg: &rest.Config{Host: "https://api.test"}, client: kubefake.Core(client), pods: finder},
		target: target, inNamespace: "default"}, client
}

func TestLocateAgainstTheAPI(t *testing.T) {
	frontend := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "frontend", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "frontend"}}}}
	headless := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "external", Namespace: "default"}}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "frontend", Namespace: "default"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "frontend"}}}
	db := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default"},
		Spec: appsv1.StatefulSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "frontend"}}}}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Namespace: "default"}}
	nativeSidecar := pod("native", corev1.PodRunning, true, "app")
	nativeSidecar.Spec.InitContainers = []corev1.Container{{Name: istioProxy}}
	for _, tc := range []struct {
		name    string
		target  Target
		objs    []runtime.Object
		wantPod string
		wantErr string
		code    int
	}{
		{"pod", Target{Kind: "pod", Name: "a"}, []runtime.Object{pod("a", corev1.PodRunning, true, "app", istioProxy)}, "a", "", 0},
		{"native sidecar", Target{Kind: "pod", Name: "native"}, []runtime.Object{nativeSidecar}, "native", "", 0},
		{"not found", Target{Kind: "pod", Name: "gone"}, nil, "", "pod default/gone not found; list them with 'kubectl get pods -n default'", ExitFailure},
		{"pending", Target{Kind: "pod", Name: "p"}, []runtime.Object{pod("p", corev1.PodPending, false, "app", istioProxy)}, "",
			"pod default/p is Pending, not Running; its proxy cannot be read yet", ExitFailure},
		{"no sidecar", Target{Kind: "pod", Name: "plain"}, []runtime.Object{pod("plain", corev1.PodRunning, true, "app")}, "",
			"pod default/plain has no istio-proxy container; is injection enabled for namespace default", ExitFailure},
		{"deployment: kubectl's pod, the oldest ready", Target{Kind: "deployment", Name: "frontend"}, []runtime.Object{frontend,
			older(pod("frontend-c", corev1.PodRunning, true, istioProxy)), pod("frontend-a", corev1.PodRunning, false, istioProxy),
			pod("frontend-b", corev1.PodRunning, true, istioProxy)}, "frontend-c", "", 0},
		{"deployment: ready pods kubectl cannot tell apart, by name", Target{Kind: "deployment", Name: "frontend"}, []runtime.Object{frontend,
			pod("frontend-c", corev1.PodRunning, true, istioProxy), pod("frontend-b", corev1.PodRunning, true, istioProxy)}, "frontend-b", "", 0},
		{"statefulset", Target{Kind: "sts", Name: "db"}, []runtime.Object{db, pod("db-0", corev1.PodRunning, true, istioProxy)}, "db-0", "", 0},
		{"statefulset, nothing ready", Target{Kind: "statefulset", Name: "db"}, []runtime.Object{db, pod("db-0", corev1.PodPending, false, istioProxy)}, "",
			"no Running and Ready pod behind statefulset default/db in namespace default (1 pods match)", ExitFailure},
		{"statefulset not found", Target{Kind: "statefulset", Name: "nope"}, nil, "", "statefulset default/nope not found", ExitFailure},
		{"a kind that selects no pods", Target{Kind: "configmap", Name: "cm"}, []runtime.Object{cm}, "", "configmap default/cm selects no pods", ExitFailure},
		{"an unknown type", Target{Kind: "frobs", Name: "x"}, nil, "", `frobs/x: the API server has no resource type "frobs"`, ExitUsage},
		{"service", Target{Kind: "service", Name: "frontend"}, []runtime.Object{svc, pod("frontend-a", corev1.PodRunning, true, istioProxy)}, "frontend-a", "", 0},
		{"service without selector", Target{Kind: "service", Name: "external"}, []runtime.Object{headless}, "",
			"service default/external has no selector, so no pods behind it", ExitFailure},
		{"selector, nothing ready", Target{Selector: "app=frontend"}, []runtime.Object{pod("frontend-a", corev1.PodPending, false, istioProxy)}, "",
			"no Running and Ready pod behind selector app=frontend in namespace default (1 pods match)", ExitFailure},
		{"deployment not found", Target{Kind: "deployment", Name: "nope"}, nil, "", "deployment default/nope not found", ExitFailure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := fakeSource(tc.target, tc.objs...)
			at, err := s.locate(context.Background())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || ExitCode(err) != tc.code {
					t.Fatalf("got %v (exit %d), want %q (exit %d)", err, ExitCode(err), tc.wantErr, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if at.pod.Name != tc.wantPod || s.port != istioAdminPort {
				t.Errorf("got pod %s port %d, want %s on %d", at.pod.Name, s.port, tc.wantPod, istioAdminPort)
			}
		})
	}
}

// A refusal by RBAC names the verb the role lacks; an API server that does
// not answer is exit 3 naming its address.
func TestLocateForbiddenAndUnreachable(t *testing.T) {
	s, client := fakeSource(Target{Kind: "pod", Name: "a"})
	client.PrependReactor("get", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "a", errors.New("RBAC"))
	})
	_, err := s.locate(context.Background())
	if err == nil || !strings.Contains(err.Error(), "not allowed to read pod default/a: your RBAC role needs 'get pods' in namespace default") {
		t.Errorf("forbidden: %v", err)
	}

	s, client = fakeSource(Target{Selector: "app=x"})
	client.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", errors.New("RBAC"))
	})
	if _, err = s.locate(context.Background()); err == nil || !strings.Contains(err.Error(), "needs 'list pods'") {
		t.Errorf("forbidden list: %v", err)
	}

	// TYPE/NAME where the API server refuses its discovery: said as that,
	// not as a refused read of the object.
	s, _ = fakeSource(Target{Kind: "deployment", Name: "web"})
	s.cluster.pods.(*kube.Finder).Object = func(string, string) (*unstructured.Unstructured, error) {
		return nil, &kube.DiscoveryError{Path: "/api", Err: apierrors.NewForbidden(schema.GroupResource{}, "", errors.New("RBAC"))}
	}
	if _, err = s.locate(context.Background()); err == nil || ExitCode(err) != ExitFailure ||
		!strings.Contains(err.Error(), `not allowed to read the API server's discovery (/api), needed to look up the type "deployment"`) {
		t.Errorf("forbidden discovery: %v", err)
	}
}

// fakeTransport reaches pods' ports at servers standing in for them, by
// NAMESPACE/POD; a pod without one is refused as a port-forward would be.
type fakeTransport map[string]string

func (f fakeTransport) Open(_ context.Context, ns, pod string, port int) (string, func(), error) {
	if u, ok := f[ns+"/"+pod]; ok {
		return u, func() {}, nil
	}
	return "", nil, fmt.Errorf("error upgrading connection: pod %s/%s port %d: no stand-in", ns, pod, port)
}

// adminServer stands in for Envoy's admin port; it records the paths asked.
func adminServer(t *testing.T, h http.HandlerFunc) (*podSource, *[]string) {
	t.Helper()
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.RequestURI())
		mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return &podSource{base: srv.URL, namespace: "default", name: "frontend-a", port: istioAdminPort}, &paths
}

const tinyDump = `{"configs":[{"@type":"type.googleapis.com/envoy.admin.v3.ListenersConfigDump","dynamic_listeners":[{"name":"l","active_state":{"listener":{"@type":"type.googleapis.com/envoy.config.listener.v3.Listener","name":"l","address":{"socket_address":{"address":"0.0.0.0","port_value":80}}}}}]}]}`

func TestAdminClient(t *testing.T) {
	t.Run("an Envoy without the mask's field names: the whole dump", func(t *testing.T) {
		s, paths := adminServer(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Has("mask") {
				http.Error(w, "FieldMask paths invalid", http.StatusBadRequest)
				return
			}
			_, _ = w.Write([]byte(tinyDump))
		})
		d, err := s.Dump(context.Background(), envoyadmin.KindListener)
		if err != nil {
			t.Fatal(err)
		}
		if len(*paths) != 2 || !strings.HasPrefix((*paths)[0], "/config_dump?mask=") || (*paths)[1] != "/config_dump" {
			t.Errorf("asked %q, want the masked dump then the whole one", *paths)
		}
		if d == nil {
			t.Error("no dump")
		}
	})
	t.Run("another refusal is not retried", func(t *testing.T) {
		s, paths := adminServer(t, func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "no", http.StatusServiceUnavailable)
		})
		_, err := s.Dump(context.Background(), envoyadmin.KindListener)
		if err == nil || !strings.Contains(err.Error(), "pod default/frontend-a: GET /config_dump?mask=") ||
			!strings.Contains(err.Error(), "admin answered 503") || ExitCode(err) != ExitFailure || len(*paths) != 1 {
			t.Errorf("got %v (exit %d) after %q", err, ExitCode(err), *paths)
		}
	})
	t.Run("the port refuses: the tunnel closes the connection", func(t *testing.T) {
		s, _ := adminServer(t, func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		})
		_, err := s.Dump(context.Background(), envoyadmin.KindListener)
		if err == nil || !strings.Contains(err.Error(), "nothing answered on the Envoy admin port 15000; is the proxy running?") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("the port resets the connection", func(t *testing.T) {
		s, _ := adminServer(t, func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			if tcp, ok := conn.(*net.TCPConn); ok {
				_ = tcp.SetLinger(0) // close with RST
			}
			conn.Close()
		})
		_, err := s.Dump(context.Background(), envoyadmin.KindListener)
		if err == nil || !strings.Contains(err.Error(), "nothing answered on the Envoy admin port 15000; is the proxy running?") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		release := make(chan struct{})
		s, _ := adminServer(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
		defer close(release)
		s.timeout = 50 * time.Millisecond
		_, err := s.Dump(context.Background(), envoyadmin.KindListener)
		if err == nil || !strings.Contains(err.Error(), "did not answer /config_dump?mask=") || !strings.Contains(err.Error(), "within --request-timeout 50ms") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("not a dump", func(t *testing.T) {
		s, _ := adminServer(t, func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("<html>login</html>"))
		})
		_, err := s.Dump(context.Background(), envoyadmin.KindListener)
		if err == nil || !strings.HasPrefix(err.Error(), "pod default/frontend-a: ") || ExitCode(err) == 0 {
			t.Errorf("got %v", err)
		}
	})
}

// The live sidecar trace without the e2e stack: from frontend, the URL's
// host is looked up as a Service (its ClusterIP), the outbound hop is
// traced on frontend's config with the health its /clusters reports, and
// the endpoint the cluster picks is followed into its pod (found by IP),
// whose inbound side is traced over Istio mTLS as frontend's identity.
func TestTraceLiveFollowsIntoTheDestinationPod(t *testing.T) {
	dump, err := os.ReadFile("../../examples/istio-sidecar.json")
	if err != nil {
		t.Fatal(err)
	}
	clusters := `{"cluster_statuses":[{"name":"outbound|8080||backend.demo.svc.cluster.local","host_statuses":[
	  {"address":{"socket_address":{"address":"10.244.1.7","port_value":8080}},"health_status":{"eds_health_status":"UNHEALTHY"}},
	  {"address":{"socket_address":{"address":"10.244.1.9","port_value":8080}},"health_status":{"eds_health_status":"HEALTHY"}}]}]}`
	admin := func() (string, *[]string) {
		s, paths := adminServer(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/clusters" {
				_, _ = w.Write([]byte(clusters))
				return
			}
			_, _ = w.Write(dump)
		})
		return s.base, paths
	}
	front, _ := admin()
	back, backPaths := admin()
	sidecar := func(name, ip string) *corev1.Pod {
		p := pod(name, corev1.PodRunning, true, "app", istioProxy)
		p.Namespace, p.Status.PodIP, p.Spec.ServiceAccountName = "demo", ip, name
		return p
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "backend", Namespace: "demo"}, Spec: corev1.ServiceSpec{ClusterIP: "10.96.173.1"}}
	src, _ := fakeSource(Target{}, sidecar("frontend", "10.244.1.4"), sidecar("backend-5f7", "10.244.1.9"), sidecar("backend-old", "10.244.1.7"), svc)
	src.cluster.transport = fakeTransport{"demo/frontend": front, "demo/backend-5f7": back}
	ns := "demo"
	flags := kube.NewFlags()
	flags.Namespace = ns
	var out bytes.Buffer
	deps := Deps{IOStreams: genericiooptions.IOStreams{Out: &out, ErrOut: &bytes.Buffer{}}, Now: func() time.Time { return testNow }, KubeFlags: flags}
	o := &TraceOptions{ProxyOptions: newProxyOptions(deps), Random: -1, From: "frontend", URL: "http://backend.demo.svc.cluster.local:8080/api"}
	o.Output, o.cluster = outJSON, src.cluster
	if err := o.Complete(); err != nil {
		t.Fatal(err)
	}
	if err := o.Run(context.Background()); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	var doc render.TraceDoc
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Request.Address != "10.96.173.1" || len(doc.Hops) != 2 {
		t.Fatalf("address %s, %d hops\n%s", doc.Request.Address, len(doc.Hops), out.String())
	}
	in := doc.Hops[1]
	if in.Proxy != "backend-5f7.demo" || in.Direction != "inbound" || in.Result != "forwarded" {
		t.Errorf("the inbound hop: %s %s %s", in.Proxy, in.Direction, in.Result)
	}
	// The unhealthy endpoint's pod is not followed; the healthy one's
	// config is read as a whole section set, its /clusters for health.
	if !strings.Contains(strings.Join(*backPaths, " "), "/clusters?format=json") {
		t.Errorf("backend's admin asked %v", *backPaths)
	}
}

// Through the commands themselves (cobra, flags, Options), with the
// cluster of Deps: a listing of a live pod, and a ztunnel view of its node.
func TestCommandsReadLivePodsThroughDeps(t *testing.T) {
	dump, err := os.ReadFile("../../examples/istio-sidecar.json")
	if err != nil {
		t.Fatal(err)
	}
	envoy, paths := adminServer(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(dump) })
	zdump, err := os.ReadFile("../../examples/ztunnel-config-dump.json")
	if err != nil {
		t.Fatal(err)
	}
	zt, _ := adminServer(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(zdump) })
	frontend := pod("frontend", corev1.PodRunning, true, "app", istioProxy)
	frontend.Spec.NodeName = "ambient-worker2"
	src, _ := fakeSource(Target{}, frontend, ztunnelPod("ztunnel-qk2pp", "ambient-worker2", corev1.PodRunning))
	src.cluster.transport = fakeTransport{"default/frontend": envoy.base, "istio-system/ztunnel-qk2pp": zt.base}
	ns := "default"
	flags := kube.NewFlags()
	flags.Namespace = ns
	runLive := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		root := NewRootCmdWith(Deps{IOStreams: genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
			Now: func() time.Time { return testNow }, KubeFlags: flags, cluster: src.cluster})
		root.SetArgs(args)
		err := root.Execute()
		return out.String(), err
	}
	live, err := runLive("listeners", "frontend")
	if err != nil {
		t.Fatal(err)
	}
	file, _, _ := run(t, "", "listeners", "-f", "../../examples/istio-sidecar.json")
	if live != file {
		t.Errorf("live listeners differ from the file's:\n%s\nfile:\n%s", live, file)
	}
	if len(*paths) != 1 || !strings.HasPrefix((*paths)[0], "/config_dump?mask=") {
		t.Errorf("asked %v", *paths)
	}
	// Its node's ztunnel is read; a pod narrows workloads to itself (here
	// none: frontend is no workload of the dump), not services.
	out, err := runLive("ztunnel", "services", "frontend", "--workload-namespace", "bookinfo", "--no-headers")
	if err != nil || strings.Count(out, "\n") != 6 || !strings.Contains(out, "bookinfo   productpage") {
		t.Errorf("ztunnel services frontend: %v\n%s", err, out)
	}
	if out, err := runLive("ztunnel", "workloads", "frontend"); err != nil || out != "" {
		t.Errorf("ztunnel workloads frontend: %v\n%s", err, out)
	}
}
