package kube_test

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/kube"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/kube/kubefake"
)

// The cluster IP a DNS lookup of each host form gives, as a pod in
// namespace "demo" resolves it.
func TestServiceIP(t *testing.T) {
	svc := func(ns, name, ip string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: corev1.ServiceSpec{ClusterIP: ip}}
	}
	f := &kube.Finder{Pods: kubefake.Core(fake.NewSimpleClientset(svc("demo", "backend", "10.96.0.10"), svc("shop", "backend", "10.96.0.20"),
		svc("demo", "db", corev1.ClusterIPNone), svc("demo", "v6", "fd00:10:96::a")))}
	for _, tc := range []struct {
		host, want, ns string
		headless       bool
		notFound       bool
	}{
		{"backend", "10.96.0.10", "demo", false, false},
		{"backend.shop", "10.96.0.20", "shop", false, false},
		{"backend.shop.svc", "10.96.0.20", "shop", false, false},
		{"backend.shop.svc.cluster.local", "10.96.0.20", "shop", false, false},
		{"backend.svc.cluster.local", "10.96.0.10", "demo", false, false},
		{"v6", "fd00:10:96::a", "demo", false, false},
		{"db", "", "demo", true, false},
		{"nosuch.shop", "", "shop", false, true},
	} {
		ip, ns, _, err := f.ServiceIP(context.Background(), tc.host, "demo")
		var headless *kube.HeadlessError
		switch {
		case tc.headless && !errors.As(err, &headless):
			t.Errorf("%s: %v, want headless", tc.host, err)
		case tc.notFound && !apierrors.IsNotFound(err):
			t.Errorf("%s: %v, want not found", tc.host, err)
		case !tc.headless && !tc.notFound && (err != nil || ip != tc.want):
			t.Errorf("%s: %s, %v; want %s", tc.host, ip, err, tc.want)
		}
		if ns != tc.ns {
			t.Errorf("%s: namespace %s, want %s", tc.host, ns, tc.ns)
		}
	}
}

func TestPodByIPNone(t *testing.T) {
	f := &kube.Finder{Pods: kubefake.Core(fake.NewSimpleClientset())}
	if pod, err := f.PodByIP(context.Background(), "192.0.2.1"); pod != nil || err != nil {
		t.Errorf("got %v, %v; want no pod", pod, err)
	}
}
