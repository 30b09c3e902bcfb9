package ztunnel

import (
	"context"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/kube"
)

// Selector picks ztunnel's pods (its DaemonSet labels them app=ztunnel).
const Selector = "app=ztunnel"

// Instance is one ztunnel pod.
type Instance struct {
	Namespace, Pod, Node string
	Running              bool
}

// Find lists ztunnel pods in namespace ("" for every namespace), on node
// when it is not "", Running ones first, then by node and name.
func Find(ctx context.Context, client kube.Core, namespace, node string) ([]Instance, error) {
	opts := metav1.ListOptions{LabelSelector: Selector}
	if node != "" {
		opts.FieldSelector = "spec.nodeName=" + node
	}
	pods, err := client.Pods(ctx, namespace, opts)
	if err != nil {
		return nil, err
	}
	var out []Instance
	for _, p := range pods.Items {
		if node != "" && p.Spec.NodeName != node { // a fake clientset ignores field selectors
			continue
		}
		out = append(out, Instance{Namespace: p.Namespace, Pod: p.Name, Node: p.Spec.NodeName,
			Running: p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil})
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Running != b.Running {
			return a.Running
		}
		if a.Node != b.Node {
			return a.Node < b.Node
		}
		return a.Pod < b.Pod
	})
	return out, nil
}

// IsZtunnel tells whether a pod is one of ztunnel's.
func IsZtunnel(pod *corev1.Pod) bool { return pod.Labels["app"] == "ztunnel" }
