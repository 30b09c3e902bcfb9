package kube_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/kube"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/kube/kubefake"
)

// apiStandIn answers core/v1 requests with objects of the kind the path
// asks for, and records each request as the API server sees it.
type apiStandIn struct {
	mu   sync.Mutex
	seen []string
}

func (a *apiStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	b := []byte(fmt.Sprintf("%q", body)) // protobuf, byte for byte
	var canon any
	if json.Unmarshal(body, &canon) == nil {
		b, _ = json.Marshal(canon) // JSON, compared as JSON
	}
	a.mu.Lock()
	a.seen = append(a.seen, fmt.Sprintf("%s %s?%s accept=%q type=%q body=%s", r.Method, r.URL.Path, r.URL.RawQuery,
		r.Header.Get("Accept"), r.Header.Get("Content-Type"), b))
	a.mu.Unlock()
	p := r.URL.Path
	w.Header().Set("Content-Type", "application/json")
	switch {
	case strings.Contains(p, "/nosuch"):
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"pods \"nosuch\" not found","reason":"NotFound","details":{"name":"nosuch","kind":"pods"},"code":404}`)
	case strings.HasSuffix(p, "/log"):
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "line 1\nline 2\n")
	case strings.HasSuffix(p, "/token"):
		fmt.Fprint(w, `{"kind":"TokenRequest","apiVersion":"authentication.k8s.io/v1","spec":{"audiences":["istio-ca"]},"status":{"token":"t0k","expirationTimestamp":"2026-11-30T20:00:00Z"}}`)
	case strings.HasSuffix(p, "/pods"):
		fmt.Fprint(w, `{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7"},"items":[{"metadata":{"name":"a","namespace":"demo","labels":{"app":"a"}},"status":{"phase":"Running","podIP":"10.0.0.1"}}]}`)
	case strings.Contains(p, "/pods/"):
		fmt.Fprint(w, `{"kind":"Pod","apiVersion":"v1","metadata":{"name":"a","namespace":"demo"},"spec":{"containers":[{"name":"istio-proxy","ports":[{"containerPort":15090}]}]},"status":{"phase":"Running","podIP":"10.0.0.1"}}`)
	case strings.HasSuffix(p, "/services"):
		fmt.Fprint(w, `{"kind":"ServiceList","apiVersion":"v1","metadata":{},"items":[{"metadata":{"name":"backend","namespace":"demo"},"spec":{"clusterIP":"10.96.0.10"}}]}`)
	case strings.Contains(p, "/services/"):
		fmt.Fprint(w, `{"kind":"Service","apiVersion":"v1","metadata":{"name":"backend","namespace":"demo"},"spec":{"clusterIP":"10.96.0.10","ports":[{"port":80}]}}`)
	case strings.HasSuffix(p, "/namespaces"):
		fmt.Fprint(w, `{"kind":"NamespaceList","apiVersion":"v1","metadata":{},"items":[{"metadata":{"name":"demo","labels":{"istio.io/dataplane-mode":"ambient"}}}]}`)
	case strings.Contains(p, "/namespaces/") && strings.Count(p, "/") == 4:
		fmt.Fprint(w, `{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"demo","labels":{"istio-injection":"enabled"}}}`)
	case strings.Contains(p, "/configmaps/"):
		fmt.Fprint(w, `{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"istio-ca-root-cert","namespace":"istio-system"},"data":{"root-cert.pem":"PEM"}}`)
	default:
		w.WriteHeader(http.StatusNotImplemented)
	}
}

func (a *apiStandIn) take() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.seen
	a.seen = nil
	return s
}

// TestCoreIsClientGosTypedClient: each call of kube.Core sends the API
// server what client-go's typed core/v1 client sends for it (method, path,
// query, content type, body) and reads back the same object, errors
// included.
func TestCoreIsClientGosTypedClient(t *testing.T) {
	api := &apiStandIn{}
	srv := httptest.NewServer(api)
	defer srv.Close()
	cfg := &rest.Config{Host: srv.URL, UserAgent: "test"}
	mine, err := kube.NewCore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	theirs := kubefake.Core(cs) // the adapter over the real typed clientset
	ctx := context.Background()
	expiry := int64(600)
	calls := map[string]func(c kube.Core) (any, error){
		"pod":         func(c kube.Core) (any, error) { return c.Pod(ctx, "demo", "a") },
		"missing pod": func(c kube.Core) (any, error) { return c.Pod(ctx, "demo", "nosuch") },
		"pods": func(c kube.Core) (any, error) {
			return c.Pods(ctx, "demo", metav1.ListOptions{LabelSelector: "app=a,v in (1,2)", FieldSelector: "status.phase=Running"})
		},
		"pods everywhere": func(c kube.Core) (any, error) {
			return c.Pods(ctx, "", metav1.ListOptions{FieldSelector: "status.podIP=10.0.0.1"})
		},
		"service":    func(c kube.Core) (any, error) { return c.Service(ctx, "demo", "backend") },
		"services":   func(c kube.Core) (any, error) { return c.Services(ctx, "demo", metav1.ListOptions{}) },
		"namespace":  func(c kube.Core) (any, error) { return c.Namespace(ctx, "demo") },
		"namespaces": func(c kube.Core) (any, error) { return c.Namespaces(ctx, metav1.ListOptions{}) },
		"config map": func(c kube.Core) (any, error) { return c.ConfigMap(ctx, "istio-system", "istio-ca-root-cert") },
		"token": func(c kube.Core) (any, error) {
			return c.CreateToken(ctx, "istio-system", "default", &authv1.TokenRequest{
				Spec: authv1.TokenRequestSpec{Audiences: []string{"istio-ca"}, ExpirationSeconds: &expiry}})
		},
		"logs": func(c kube.Core) (any, error) {
			since := int64(30)
			r, err := c.Logs(ctx, "demo", "a", &corev1.PodLogOptions{Container: "istio-proxy", Follow: true, SinceSeconds: &since, Timestamps: true})
			if err != nil {
				return nil, err
			}
			defer r.Close()
			b, err := io.ReadAll(r)
			return string(b), err
		},
		"port-forward": func(c kube.Core) (any, error) { return c.PortForwardURL("demo", "a").String(), nil },
	}
	for name, call := range calls {
		got, gotErr := call(mine)
		gotSeen := api.take()
		want, wantErr := call(theirs)
		wantSeen := api.take()
		if !reflect.DeepEqual(gotSeen, wantSeen) {
			t.Errorf("%s: sent\n%q\nclient-go's typed client sent\n%q", name, gotSeen, wantSeen)
		}
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || apierrors.IsNotFound(gotErr) != apierrors.IsNotFound(wantErr) {
			t.Errorf("%s: error %v, client-go's %v", name, gotErr, wantErr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: read %+v, client-go's typed client %+v", name, got, want)
		}
	}
	if _, err := mine.Pod(ctx, "demo", "nosuch"); !apierrors.IsNotFound(err) {
		t.Errorf("missing pod: %v, want NotFound", err)
	}
	if p, err := mine.Pod(ctx, "demo", "a"); err != nil || p.Status.PodIP != "10.0.0.1" || p.Spec.Containers[0].Name != "istio-proxy" {
		t.Errorf("pod: %+v, %v", p, err)
	}
}
