package kube

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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
