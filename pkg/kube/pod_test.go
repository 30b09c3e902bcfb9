package kube

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

// The selectors of the kinds kubectl attaches to, and of a custom resource
// (an Argo Rollout, whose spec.selector is a label selector as a
// Deployment's), read from the objects as the API server returns them.
func TestPodSelector(t *testing.T) {
	for _, tc := range []struct {
		name, obj, want, err string
	}{
		{"deployment", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"selector":{"matchLabels":{"app":"frontend"}}}}`, "app=frontend", ""},
		{"statefulset with expressions", `{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"s"},"spec":{"selector":{"matchLabels":{"app":"db"},"matchExpressions":[{"key":"tier","operator":"In","values":["a","b"]}]}}}`, "app=db,tier in (a,b)", ""},
		{"service", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"svc"},"spec":{"selector":{"app":"frontend","version":"v1"}}}`, "app=frontend,version=v1", ""},
		{"replication controller", `{"apiVersion":"v1","kind":"ReplicationController","metadata":{"name":"rc"},"spec":{"selector":{"app":"old"}}}`, "app=old", ""},
		{"job", `{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"j"},"spec":{"selector":{"matchLabels":{"batch.kubernetes.io/controller-uid":"u1"}}}}`, "batch.kubernetes.io/controller-uid=u1", ""},
		{"argo rollout", `{"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","metadata":{"name":"r"},"spec":{"selector":{"matchLabels":{"app":"canary"}}}}`, "app=canary", ""},
		{"service without selector", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"ext"},"spec":{"type":"ExternalName"}}`, "", "no spec.selector"},
		{"empty label selector", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"selector":{"matchLabels":{}}}}`, "", "empty"},
		{"configmap", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":"b"}}`, "", "no spec.selector"},
		{"bad operator", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"selector":{"matchExpressions":[{"key":"a","operator":"Near"}]}}}`, "", "spec.selector"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := &unstructured.Unstructured{}
			if err := u.UnmarshalJSON([]byte(tc.obj)); err != nil {
				t.Fatal(err)
			}
			sel, err := podSelector(u)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, %v; want an error with %q", sel, err, tc.err)
				}
				return
			}
			if err != nil || sel.String() != tc.want {
				t.Fatalf("got %v, %v; want %s", sel, err, tc.want)
			}
		})
	}
}

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
			f := &Finder{Pods: fake.NewSimpleClientset(tc.pods...), Object: func(string, string) (*unstructured.Unstructured, error) { return deploy, nil }}
			pod, err := f.ForObject(context.Background(), "ns", "deploy/a")
			if tc.want == "" {
				var none *NoPodError
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
