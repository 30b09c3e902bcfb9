package kube

import (
	"context"
	"io"
	"net/url"
	"sync"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
)

// Core is the part of the core/v1 API the plugin uses: it reads pods,
// services, namespaces and one config map, streams pod logs, asks for a
// service account token and opens port-forwards. NewCore gives it on a
// REST client of its own rather than client-go's typed clientset, whose
// scheme (k8s.io/client-go/kubernetes/scheme) registers every API group
// of Kubernetes when the plugin starts, for every command, and with
// client-go's discovery costs about 9 MB of memory at each start.
type Core interface {
	Pod(ctx context.Context, namespace, name string) (*corev1.Pod, error)
	Pods(ctx context.Context, namespace string, opts metav1.ListOptions) (*corev1.PodList, error)
	Service(ctx context.Context, namespace, name string) (*corev1.Service, error)
	Services(ctx context.Context, namespace string, opts metav1.ListOptions) (*corev1.ServiceList, error)
	Namespace(ctx context.Context, name string) (*corev1.Namespace, error)
	Namespaces(ctx context.Context, opts metav1.ListOptions) (*corev1.NamespaceList, error)
	ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error)
	// CreateToken asks for a token of a service account (the
	// serviceaccounts/token subresource).
	CreateToken(ctx context.Context, namespace, serviceAccount string, req *authv1.TokenRequest) (*authv1.TokenRequest, error)
	// Logs streams a pod's log (the pods/log subresource).
	Logs(ctx context.Context, namespace, pod string, opts *corev1.PodLogOptions) (io.ReadCloser, error)
	// PortForwardURL is the pods/portforward subresource of a pod.
	PortForwardURL(namespace, pod string) *url.URL
}

// coreScheme knows the kinds Core sends and reads: core/v1 (with
// meta/v1's options and Status) and authentication/v1's TokenRequest.
// It is made on first use, not at start.
var coreScheme = sync.OnceValues(func() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := corev1.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := authv1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
})

// NewCore is Core on the API server cfg names, set up as client-go's
// typed core/v1 client sets itself up: kubectl's user agent unless cfg has
// one, cfg's rate limits, and protobuf preferred (JSON accepted) unless cfg
// names a content type.
func NewCore(cfg *rest.Config) (Core, error) {
	s, err := coreScheme()
	if err != nil {
		return nil, err
	}
	c := rest.CopyConfig(cfg)
	c.APIPath = "/api"
	c.GroupVersion = &corev1.SchemeGroupVersion
	c.NegotiatedSerializer = serializer.NewCodecFactory(s).WithoutConversion()
	if c.UserAgent == "" {
		c.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	rc, err := rest.RESTClientFor(c)
	if err != nil {
		return nil, err
	}
	return &restCore{rc: rc, params: runtime.NewParameterCodec(s)}, nil
}

type restCore struct {
	rc     *rest.RESTClient
	params runtime.ParameterCodec
}

func (c *restCore) get(ctx context.Context, resource, namespace, name string, into runtime.Object) error {
	return c.rc.Get().UseProtobufAsDefault().NamespaceIfScoped(namespace, namespace != "").Resource(resource).Name(name).Do(ctx).Into(into)
}

func (c *restCore) list(ctx context.Context, resource, namespace string, opts metav1.ListOptions, into runtime.Object) error {
	return c.rc.Get().UseProtobufAsDefault().NamespaceIfScoped(namespace, namespace != "").Resource(resource).VersionedParams(&opts, c.params).Do(ctx).Into(into)
}

func (c *restCore) Pod(ctx context.Context, namespace, name string) (*corev1.Pod, error) {
	out := &corev1.Pod{}
	return out, c.get(ctx, "pods", namespace, name, out)
}

func (c *restCore) Pods(ctx context.Context, namespace string, opts metav1.ListOptions) (*corev1.PodList, error) {
	out := &corev1.PodList{}
	return out, c.list(ctx, "pods", namespace, opts, out)
}

func (c *restCore) Service(ctx context.Context, namespace, name string) (*corev1.Service, error) {
	out := &corev1.Service{}
	return out, c.get(ctx, "services", namespace, name, out)
}

func (c *restCore) Services(ctx context.Context, namespace string, opts metav1.ListOptions) (*corev1.ServiceList, error) {
	out := &corev1.ServiceList{}
	return out, c.list(ctx, "services", namespace, opts, out)
}

func (c *restCore) Namespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	out := &corev1.Namespace{}
	return out, c.get(ctx, "namespaces", "", name, out)
}

func (c *restCore) Namespaces(ctx context.Context, opts metav1.ListOptions) (*corev1.NamespaceList, error) {
	out := &corev1.NamespaceList{}
	return out, c.list(ctx, "namespaces", "", opts, out)
}

func (c *restCore) ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error) {
	out := &corev1.ConfigMap{}
	return out, c.get(ctx, "configmaps", namespace, name, out)
}

func (c *restCore) CreateToken(ctx context.Context, namespace, serviceAccount string, req *authv1.TokenRequest) (*authv1.TokenRequest, error) {
	out := &authv1.TokenRequest{}
	return out, c.rc.Post().UseProtobufAsDefault().Namespace(namespace).Resource("serviceaccounts").Name(serviceAccount).
		SubResource("token").Body(req).Do(ctx).Into(out)
}

func (c *restCore) Logs(ctx context.Context, namespace, pod string, opts *corev1.PodLogOptions) (io.ReadCloser, error) {
	return c.rc.Get().Namespace(namespace).Resource("pods").Name(pod).SubResource("log").
		VersionedParams(opts, c.params).Stream(ctx)
}

func (c *restCore) PortForwardURL(namespace, pod string) *url.URL {
	return c.rc.Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("portforward").URL()
}
