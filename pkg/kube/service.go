package kube

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// HeadlessError is a Service without a cluster IP: a DNS lookup of it gives
// pod IPs, none of which the Service names alone.
type HeadlessError struct{ Namespace, Name string }

func (e *HeadlessError) Error() string {
	return fmt.Sprintf("Service %s/%s is headless", e.Namespace, e.Name)
}

// ServiceIP is the cluster IP a mesh client's DNS lookup of host gives:
// host is NAME, NAME.NAMESPACE or NAME.NAMESPACE.svc[.DOMAIN]; a bare NAME
// is in namespace. The API's error (not found, forbidden) is returned as
// it is; a headless Service is a *HeadlessError.
func (f *Finder) ServiceIP(ctx context.Context, host, namespace string) (ip, ns, name string, err error) {
	parts := strings.Split(host, ".")
	name, ns = parts[0], namespace
	if len(parts) > 1 && parts[1] != "svc" {
		ns = parts[1]
	}
	svc, err := f.Pods.Service(ctx, ns, name)
	if err != nil {
		return "", ns, name, err
	}
	ip = svc.Spec.ClusterIP
	if ip == "" || ip == corev1.ClusterIPNone {
		return "", ns, name, &HeadlessError{Namespace: ns, Name: name}
	}
	return ip, ns, name, nil
}

// PodByIP is the pod with this IP, in any namespace, or nil when the API
// server knows none (an endpoint outside the cluster).
func (f *Finder) PodByIP(ctx context.Context, ip string) (*corev1.Pod, error) {
	pods, err := f.Pods.Pods(ctx, "", metav1.ListOptions{FieldSelector: "status.podIP=" + ip})
	if err != nil || len(pods.Items) == 0 {
		return nil, err
	}
	return &pods.Items[0], nil
}
