package cmd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/kube"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/portforward"
)

// istioProxy is the sidecar container Istio injects; its admin port is 15000.
const (
	istioProxy     = "istio-proxy"
	istioAdminPort = 15000
)

// podSource reads a live proxy's admin endpoint through a tunnel.
type podSource struct {
	flags     *kube.Flags
	target    Target
	adminPort int // 0: Istio's sidecar on 15000
	// inNamespace, when set, is the pod's namespace (istiod's, for one),
	// instead of the kube flags' namespace.
	inNamespace string
	// cluster, when set, is the API server to resolve the target on
	// instead of the kube flags' (tests give a fake clientset).
	cluster *cluster
	// pod, when set, is the target already resolved (not looked up again).
	pod *corev1.Pod
	// close ends the transport once connected.
	close func()
	// base is the admin endpoint's URL once connected: the transport's, or
	// (in tests) a server standing in for Envoy's admin port.
	base string
	// Once connected: the pod, its admin port, and the request timeout.
	namespace, name string
	port            int
	timeout         time.Duration
}

// Target is what the user named: a pod, any workload or Service whose
// ready pod to use (TYPE/NAME, as kubectl takes it), or a label selector.
type Target struct {
	Kind     string // pod, deployment, service, another TYPE as given, or "" with Selector
	Name     string
	Selector string
}

// ParseTarget reads POD, TYPE/NAME (any type kubectl knows; pod, deploy and
// svc are named in their long form) or a label selector given with -l.
func ParseTarget(arg, selector string) (Target, error) {
	if selector != "" {
		if arg != "" {
			return Target{}, usageError("give a pod or -l SELECTOR, not both")
		}
		return Target{Selector: selector}, nil
	}
	kind, name, ok := strings.Cut(arg, "/")
	if !ok {
		return Target{Kind: "pod", Name: arg}, nil
	}
	switch kind {
	case "pod", "pods", "po":
		kind = "pod"
	case "deploy", "deployment", "deployments":
		kind = "deployment"
	case "svc", "service", "services":
		kind = "service"
	case "":
		return Target{}, usageError("%s: the type is missing; name a pod or TYPE/NAME (deploy/NAME, sts/NAME, svc/NAME, ...)", arg)
	}
	if name == "" || strings.Contains(name, "/") {
		return Target{}, usageError("%s: name one object, TYPE/NAME", arg)
	}
	return Target{Kind: kind, Name: name}, nil
}

// resolve finds the pod a target names: a pod by name; behind a workload,
// a Service or a selector, the Running and Ready pod kubectl would attach to
// (pkg/kube).
func (s *podSource) resolve(ctx context.Context, c *cluster, ns string) (*corev1.Pod, error) {
	if s.pod != nil {
		return s.pod, nil
	}
	t := s.target
	var (
		pod *corev1.Pod
		err error
	)
	switch {
	case t.Selector != "":
		pod, err = c.pods.ForSelector(ctx, ns, t.Selector)
		if err != nil && !isNoPod(err) {
			return nil, apiError(err, "pods", ns, t.Selector, "list pods")
		}
	case t.Kind == "pod":
		pod, err = c.client.Pod(ctx, ns, t.Name)
		if err != nil {
			return nil, apiError(err, "pod", ns, t.Name, "get pods")
		}
	default:
		pod, err = c.pods.ForObject(ctx, ns, t.Kind+"/"+t.Name)
		if unknown := (*kube.UnknownTypeError)(nil); errors.As(err, &unknown) {
			return nil, usageError("%s/%s: the API server has no resource type %q; name a pod or TYPE/NAME as kubectl takes it (deploy/NAME, sts/NAME, ds/NAME, svc/NAME, ...)", t.Kind, t.Name, t.Kind)
		}
		var none *kube.NoSelectorError
		if errors.As(err, &none) {
			if none.Kind == "Service" {
				return nil, failure("service %s/%s has no selector, so no pods behind it", ns, t.Name)
			}
			return nil, failure("%v", err)
		}
		if disc := (*kube.DiscoveryError)(nil); errors.As(err, &disc) && !isUnreachable(err) {
			return nil, discoveryFailure(disc, t.Kind)
		}
		if err != nil && !isNoPod(err) {
			kind := resourceOf(err, t.Kind)
			return nil, apiError(err, kind, ns, t.Name, "get "+kind+"s")
		}
	}
	if err != nil {
		return nil, failure("%v", err)
	}
	return pod, nil
}

// resolvePod finds the pod a target names on c (connected from the kube
// flags when nil), in namespace ns or else the flags' namespace; it
// returns the cluster it used.
func resolvePod(ctx context.Context, c *cluster, flags *kube.Flags, ns string, t Target) (*corev1.Pod, *cluster, error) {
	if c == nil {
		var err error
		if c, err = connectCluster(flags); err != nil {
			return nil, nil, err
		}
	}
	if ns == "" {
		var err error
		if ns, _, err = flags.ToRawKubeConfigLoader().Namespace(); err != nil {
			return nil, nil, failure("cannot tell the namespace: %v", err)
		}
	}
	pod, err := (&podSource{flags: flags, target: t}).resolve(ctx, c, ns)
	if isUnreachable(err) {
		return nil, nil, &unreachable{host: c.cfg.Host, err: err}
	}
	if err != nil {
		return nil, nil, err
	}
	return pod, c, nil
}

func isNoPod(err error) bool {
	var none *kube.NoPodError
	return errors.As(err, &none)
}

// resourceOf is the kind an API error names, singular ("deployment" for
// deployments.apps), or fallback.
func resourceOf(err error, fallback string) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		if d := status.Status().Details; d != nil && d.Kind != "" {
			return strings.TrimSuffix(d.Kind, "s")
		}
	}
	return fallback
}

// apiError turns an API error on one object into the line a user needs.
func apiError(err error, kind, ns, name, verb string) error {
	switch {
	case apierrors.IsNotFound(err):
		return failure("%s %s/%s not found; list them with 'kubectl get %s -n %s'", kind, ns, name, strings.TrimSuffix(kind, "s")+"s", ns)
	case apierrors.IsForbidden(err):
		return failure("not allowed to read %s %s/%s: your RBAC role needs '%s' in namespace %s", kind, ns, name, verb, ns)
	case isUnreachable(err):
		return &unreachable{err: err}
	}
	return failure("cannot read %s %s/%s: %v", kind, ns, name, err)
}

// discoveryFailure says why TYPE could not be looked up: the API server's
// discovery (a pod needs none) was refused or failed.
func discoveryFailure(e *kube.DiscoveryError, typ string) error {
	if apierrors.IsForbidden(e.Err) {
		return failure("not allowed to read the API server's discovery (%s), needed to look up the type %q: your RBAC role needs 'get' on the non-resource URLs /api and /apis (Kubernetes' system:discovery role grants it), or name the pod itself", e.Path, typ)
	}
	return failure("cannot read the API server's discovery (%s), needed to look up the type %q: %v; name the pod itself, or check the API server", e.Path, typ, e.Err)
}

func failure(format string, args ...any) error {
	return &ExitError{Code: ExitFailure, Err: fmt.Errorf(format, args...)}
}

// located is a pod a target resolved to, with what reaches it.
type located struct {
	cfg       *rest.Config
	client    kube.Core
	pods      PodFinder
	transport Transport
	pod       *corev1.Pod
}

// locate resolves the target to a Running pod with a proxy, without
// opening anything to it yet.
func (s *podSource) locate(ctx context.Context) (*located, error) {
	c := s.cluster
	if c == nil {
		var err error
		if c, err = connectCluster(s.flags); err != nil {
			return nil, err
		}
	}
	cfg, client := c.cfg, c.client
	s.timeout = cfg.Timeout
	ns := s.inNamespace
	if ns == "" {
		var err error
		if ns, _, err = s.flags.ToRawKubeConfigLoader().Namespace(); err != nil {
			return nil, failure("cannot tell the namespace: %v", err)
		}
	}
	pod, err := s.resolve(ctx, c, ns)
	if isUnreachable(err) {
		return nil, &unreachable{host: cfg.Host, err: err}
	}
	if err != nil {
		return nil, err
	}
	s.namespace, s.name = ns, pod.Name
	if pod.Status.Phase != corev1.PodRunning {
		return nil, failure("pod %s/%s is %s, not Running; its proxy cannot be read yet", ns, s.name, pod.Status.Phase)
	}
	s.port = s.adminPort
	if s.port == 0 {
		if !hasContainer(pod, istioProxy) {
			return nil, failure("pod %s/%s has no %s container; is injection enabled for namespace %s "+
				"(kubectl get namespace %s --show-labels)? For another Envoy give --admin-port", ns, s.name, istioProxy, ns, ns)
		}
		s.port = istioAdminPort
	}
	if s.cluster == nil {
		s.cluster = c // later reads (--watch) reuse it
	}
	return &located{cfg: cfg, client: client, pods: c.pods, transport: c.transport, pod: pod}, nil
}

// connect resolves the target and opens a tunnel to its admin port.
func (s *podSource) connect(ctx context.Context) error {
	if s.base != "" {
		return nil
	}
	at, err := s.locate(ctx)
	if err != nil {
		return err
	}
	s.base, s.close, err = at.transport.Open(ctx, s.namespace, s.name, s.port)
	if err != nil {
		if forbidden := (*portforward.ForbiddenError)(nil); errors.As(err, &forbidden) {
			return failure("not allowed to port-forward to pod %s/%s: your RBAC role needs get and create on pods/portforward in namespace %s (see deploy/rbac.yaml)", s.namespace, s.name, s.namespace)
		}
		return failure("%v", err)
	}
	return nil
}

func (s *podSource) Dump(ctx context.Context, kinds ...envoyadmin.Kind) (*envoyadmin.Dump, error) {
	if err := s.connect(ctx); err != nil {
		return nil, err
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	data, err := s.admin().FetchConfig(ctx, kinds...)
	if err != nil {
		return nil, s.adminError(err)
	}
	dumps, err := envoyadmin.Load(data)
	if err != nil {
		return nil, fmt.Errorf("pod %s/%s: %w", s.namespace, s.name, err)
	}
	return dumps[0], nil
}

func (s *podSource) admin() *envoyadmin.Client { return &envoyadmin.Client{Base: s.base} }

// withTimeout bounds one admin read by --request-timeout.
func (s *podSource) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.timeout > 0 {
		return context.WithTimeout(ctx, s.timeout)
	}
	return ctx, func() {}
}

// Get makes a GET request to the admin endpoint through the tunnel,
// honouring --request-timeout.
func (s *podSource) Get(ctx context.Context, path string) ([]byte, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	data, err := s.admin().Get(ctx, path)
	if err != nil {
		return nil, s.adminError(err)
	}
	return data, nil
}

// adminError is the line a failed admin read deserves.
func (s *podSource) adminError(err error) error {
	path := ""
	var req *envoyadmin.RequestError
	if errors.As(err, &req) {
		path, err = req.Path, req.Err
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return failure("pod %s/%s: the Envoy admin port %d did not answer %s within --request-timeout %s", s.namespace, s.name, s.port, path, s.timeout)
	case errors.Is(err, envoyadmin.ErrNoAnswer):
		// The tunnel closes the connection when the pod's port refuses it.
		return failure("pod %s/%s: nothing answered on the Envoy admin port %d; is the proxy running? "+
			"See 'kubectl logs -n %s %s -c %s', or give --admin-port for another Envoy", s.namespace, s.name, s.port, s.namespace, s.name, istioProxy)
	}
	return &ExitError{Code: ExitFailure, Err: fmt.Errorf("pod %s/%s: GET %s on the Envoy admin port %d: %w", s.namespace, s.name, path, s.port, err)}
}

// isUnreachable tells a connection failure from an answer of the API server.
func isUnreachable(err error) bool {
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &oe) || (errors.As(err, &ne) && ne.Timeout())
}

func rootCause(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

func hasContainer(pod *corev1.Pod, name string) bool {
	for _, c := range pod.Spec.Containers {
		if c.Name == name {
			return true
		}
	}
	for _, c := range pod.Spec.InitContainers { // native sidecars
		if c.Name == name {
			return true
		}
	}
	return false
}

func (s *podSource) Evict() {}

func (s *podSource) Close() {
	if s.close != nil {
		s.close()
		s.close, s.base = nil, "" // a later Dump (--watch) opens a new one
	}
}
