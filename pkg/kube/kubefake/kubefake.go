// Package kubefake gives kube.Core over client-go's typed clientset, for
// tests that set the API up with client-go's fake clientset. Only tests
// import it: the plugin itself does not link the typed clientset.
package kubefake

import (
	"context"
	"io"
	"net/url"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/kube"
)

// Core is kube.Core over cs.
func Core(cs kubernetes.Interface) kube.Core { return clientset{cs} }

type clientset struct{ cs kubernetes.Interface }

func (c clientset) Pod(ctx context.Context, namespace, name string) (*corev1.Pod, error) {
	return c.cs.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
}

func (c clientset) Pods(ctx context.Context, namespace string, opts metav1.ListOptions) (*corev1.PodList, error) {
	return c.cs.CoreV1().Pods(namespace).List(ctx, opts)
}

func (c clientset) Service(ctx context.Context, namespace, name string) (*corev1.Service, error) {
	return c.cs.CoreV1().Services(namespace).Get(ctx, name, metav1.GetOptions{})
}

func (c clientset) Services(ctx context.Context, namespace string, opts metav1.ListOptions) (*corev1.ServiceList, error) {
	return c.cs.CoreV1().Services(namespace).List(ctx, opts)
}

func (c clientset) Namespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	return c.cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
}

func (c clientset) Namespaces(ctx context.Context, opts metav1.ListOptions) (*corev1.NamespaceList, error) {
	return c.cs.CoreV1().Namespaces().List(ctx, opts)
}

func (c clientset) ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error) {
	return c.cs.CoreV1().ConfigMaps(namespace).Get(ctx, name, metav1.GetOptions{})
}

func (c clientset) CreateToken(ctx context.Context, namespace, sa string, req *authv1.TokenRequest) (*authv1.TokenRequest, error) {
	return c.cs.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, sa, req, metav1.CreateOptions{})
}

func (c clientset) Logs(ctx context.Context, namespace, pod string, opts *corev1.PodLogOptions) (io.ReadCloser, error) {
	return c.cs.CoreV1().Pods(namespace).GetLogs(pod, opts).Stream(ctx)
}

func (c clientset) PortForwardURL(namespace, pod string) *url.URL {
	return c.cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("portforward").URL()
}
