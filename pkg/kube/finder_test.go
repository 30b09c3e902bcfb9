package kube_test

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/kube"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/kube/kubefake"
)

func readyPod(name string, created metav1.Time, ready bool, restarts int32) *corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{"app": "a"}, CreationTimestamp: created},
		Status: corev1.PodStatus{Phase: corev1.PodRunning,
			Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: status, LastTransitionTime: created}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "app", RestartCount: restarts}}},
	}
}

// kubectl's pick behind a workload: ready first, then the longest ready,
// then fewer restarts; a workload with only unready pods has none to give.
func TestForObjectPicksAsKubectl(t *testing.T) {
	t0 := metav1.Unix(1_700_000_000, 0)
	t1 := metav1.Unix(1_700_000_600, 0)
	deploy := &unstructured.Unstructured{}
	_ = deploy.UnmarshalJSON([]byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"a","namespace":"ns"},"spec":{"selector":{"matchLabels":{"app":"a"}}}}`))
	for _, tc := range []struct {
		name string
		pods []runtime.Object
		want string
	}{
		{"ready over unready", []runtime.Object{readyPod("a-1", t0, false, 0), readyPod("a-2", t1, true, 0)}, "a-2"},
		{"longer ready", []runtime.Object{readyPod("a-1", t1, true, 0), readyPod("a-2", t0, true, 0)}, "a-2"},
		{"fewer restarts", []runtime.Object{readyPod("a-1", t0, true, 5), readyPod("a-2", t0, true, 1)}, "a-2"},
		{"indistinguishable: by name", []runtime.Object{readyPod("a-2", t0, true, 0), readyPod("a-1", t0, true, 0)}, "a-1"},
		{"none ready", []runtime.Object{readyPod("a-1", t0, false, 0)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &kube.Finder{Pods: kubefake.Core(fake.NewSimpleClientset(tc.pods...)), Object: func(string, string) (*unstructured.Unstructured, error) { return deploy, nil }}
			pod, err := f.ForObject(context.Background(), "ns", "deploy/a")
			if tc.want == "" {
				var none *kube.NoPodError
				if !errors.As(err, &none) || none.Matched != 1 || none.What != "deployment ns/a" {
					t.Fatalf("got %v, %v; want no pod behind deployment ns/a", pod, err)
				}
				return
			}
			if err != nil || pod.Name != tc.want {
				t.Fatalf("got %v, %v; want %s", pod, err, tc.want)
			}
		})
	}
}
