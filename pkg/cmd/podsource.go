package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/portforward"
)

// istioProxy is the sidecar container Istio injects; its admin port is 15000.
const (
	istioProxy     = "istio-proxy"
	istioAdminPort = 15000
)

// podSource reads a live proxy's admin endpoint through a tunnel.
type podSource struct {
	flags     *genericclioptions.ConfigFlags
	name      string // the pod
	adminPort int    // 0: Istio's sidecar on 15000
	tunnel    *portforward.Tunnel
}

func failure(format string, args ...any) error {
	return &ExitError{Code: ExitFailure, Err: fmt.Errorf(format, args...)}
}

func (s *podSource) Dump(ctx context.Context, kinds ...envoyadmin.Kind) (*envoyadmin.Dump, error) {
	cfg, err := s.flags.ToRESTConfig()
	if err != nil {
		return nil, failure("cannot use the kubeconfig: %v", err)
	}
	ns, _, err := s.flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, failure("cannot tell the namespace: %v", err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, failure("cannot reach the API server: %v", err)
	}
	pod, err := client.CoreV1().Pods(ns).Get(ctx, s.name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, failure("pod %s/%s not found; list them with 'kubectl get pods -n %s'", ns, s.name, ns)
	case apierrors.IsForbidden(err):
		return nil, failure("not allowed to get pod %s/%s: your RBAC role needs 'get pods' in namespace %s", ns, s.name, ns)
	case isUnreachable(err):
		return nil, failure("cannot reach the API server at %s: %v; check --kubeconfig and --context", cfg.Host, rootCause(err))
	case err != nil:
		return nil, failure("cannot get pod %s/%s: %v", ns, s.name, err)
	}
	if pod.Status.Phase != corev1.PodRunning {
		return nil, failure("pod %s/%s is %s, not Running; its proxy cannot be read yet", ns, s.name, pod.Status.Phase)
	}
	port := s.adminPort
	if port == 0 {
		if !hasContainer(pod, istioProxy) {
			return nil, failure("pod %s/%s has no %s container; is injection enabled for namespace %s "+
				"(kubectl get namespace %s --show-labels)? For another Envoy give --admin-port", ns, s.name, istioProxy, ns, ns)
		}
		port = istioAdminPort
	}
	s.tunnel, err = portforward.Open(ctx, cfg, client, ns, s.name, port)
	if err != nil {
		if strings.Contains(err.Error(), "forbidden") || strings.Contains(err.Error(), "Forbidden") {
			return nil, failure("not allowed to port-forward to pod %s/%s: your RBAC role needs 'create pods/portforward' in namespace %s", ns, s.name, ns)
		}
		return nil, failure("%v", err)
	}
	path := "/config_dump"
	if wantsAny(kinds, envoyadmin.KindEndpoints, envoyadmin.KindClusterStatus) {
		path = "/clusters?format=json" // live health, as Envoy sees it now
		if wantsAny(kinds, envoyadmin.KindListener) {
			path = "/config_dump?include_eds"
		}
	}
	if cfg.Timeout > 0 { // --request-timeout
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Timeout)
		defer cancel()
	}
	data, err := s.get(ctx, path)
	if err != nil {
		return nil, failure("read %s from pod %s/%s port %d: %v", path, ns, s.name, port, err)
	}
	dumps, err := envoyadmin.Load(data)
	if err != nil {
		return nil, fmt.Errorf("pod %s/%s: %w", ns, s.name, err)
	}
	return dumps[0], nil
}

func (s *podSource) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.tunnel.URL()+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("admin answered %s", resp.Status)
	}
	return io.ReadAll(resp.Body)
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

func wantsAny(kinds []envoyadmin.Kind, want ...envoyadmin.Kind) bool {
	for _, k := range kinds {
		for _, w := range want {
			if k == w {
				return true
			}
		}
	}
	return false
}

func (s *podSource) Evict() {}

func (s *podSource) Close() {
	if s.tunnel != nil {
		s.tunnel.Close()
	}
}
