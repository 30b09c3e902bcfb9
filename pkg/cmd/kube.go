package cmd

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/kube"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/pilot"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/portforward"
)

// cluster is the API server the kube flags name, and a client for it.
type cluster struct {
	cfg    *rest.Config
	client kube.Core
	// dyn reads objects of any type (TYPE/NAME targets, Gateway API
	// waypoints); nil for test clusters that need none.
	dyn dynamic.Interface
	// pods finds the pod a target names (kube.NewFinder over the kube
	// flags; tests give one over a fake clientset).
	pods PodFinder
	// transport reaches pods' ports (port-forwards through the API server;
	// tests give servers standing in for the pods).
	transport Transport
}

// PodFinder resolves what a user names to pods, as kubectl does
// (kube.Finder): the pod behind any TYPE/NAME or a selector, a Service's
// address, the pod with an IP.
type PodFinder interface {
	ForObject(ctx context.Context, namespace, typeName string) (*corev1.Pod, error)
	ForSelector(ctx context.Context, namespace, selector string) (*corev1.Pod, error)
	ServiceIP(ctx context.Context, host, namespace string) (ip, ns, name string, err error)
	PodByIP(ctx context.Context, ip string) (*corev1.Pod, error)
}

// Transport reaches a port of a pod: an http://HOST:PORT URL that gets
// there, and how to close it. Every live read (Envoy's and ztunnel's admin
// ports, istiod's debug and xDS ports) goes through one.
type Transport interface {
	Open(ctx context.Context, namespace, pod string, port int) (url string, close func(), err error)
}

// portForwarder is the Transport of a real cluster: a port-forward
// through the API server, as kubectl port-forward opens one.
type portForwarder struct {
	cfg    *rest.Config
	client kube.Core
}

func (p portForwarder) Open(ctx context.Context, namespace, pod string, port int) (string, func(), error) {
	t, err := portforward.Open(ctx, p.cfg, p.client, namespace, pod, port)
	if err != nil {
		return "", nil, err
	}
	return t.URL(), t.Close, nil
}

// hostPort is the HOST:PORT of a transport's URL, for gRPC.
func hostPort(url string) string {
	return strings.TrimPrefix(strings.TrimPrefix(url, "http://"), "https://")
}

// connectCluster reads the kube flags (--kubeconfig, --context, ...).
func connectCluster(flags *kube.Flags) (*cluster, error) {
	if flags == nil {
		return nil, usageError("no kube flags: cannot reach a cluster")
	}
	cfg, err := flags.ToRESTConfig()
	if err != nil {
		return nil, failure("cannot use the kubeconfig: %v", err)
	}
	client, err := kube.NewCore(cfg)
	if err != nil {
		return nil, failure("cannot reach the API server: %v", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, failure("cannot reach the API server: %v", err)
	}
	return &cluster{cfg: cfg, client: client, dyn: dyn, pods: kube.NewFinder(flags, client, dyn), transport: portForwarder{cfg, client}}, nil
}

// unreachable is an API server that did not answer; it says which when
// it knows. Its exit status is 3 (ExitCode's default).
type unreachable struct {
	host string
	err  error
}

func (e *unreachable) Error() string {
	at := ""
	if e.host != "" {
		at = " at " + e.host
	}
	return fmt.Sprintf("cannot reach the API server%s: %v; check --kubeconfig and --context", at, rootCause(e.err))
}

func (e *unreachable) Unwrap() error { return e.err }

// runningIstiod lists the Running istiod instances in namespace (of one
// revision when rev is not ""), or says in one line why there are none.
func (c *cluster) runningIstiod(ctx context.Context, namespace, rev string) ([]pilot.Instance, error) {
	all, err := pilot.Find(ctx, c.client, namespace, rev)
	if isUnreachable(err) {
		return nil, &unreachable{host: c.cfg.Host, err: err}
	}
	if err != nil {
		return nil, apiError(err, "pods", namespace, "app=istiod", "list pods")
	}
	var running []pilot.Instance
	for _, in := range all {
		if in.Running {
			running = append(running, in)
		}
	}
	if len(running) == 0 {
		return nil, failure("no running istiod pod (app=istiod%s) in namespace %s; give --istio-namespace", revisionLabel(rev), namespace)
	}
	return running, nil
}

func revisionLabel(rev string) string {
	if rev == "" {
		return ""
	}
	return ",istio.io/rev=" + rev
}
