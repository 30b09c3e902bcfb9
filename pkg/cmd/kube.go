package cmd

import (
	"context"
	"fmt"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/kube"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/pilot"
)

// cluster is the API server the kube flags name, and a client for it.
type cluster struct {
	cfg    *rest.Config
	client kubernetes.Interface
	// pods finds the pod a target names (kube.NewFinder over the kube
	// flags; tests give fixed objects).
	pods *kube.Finder
}

// connectCluster reads the kube flags (--kubeconfig, --context, ...).
func connectCluster(flags *genericclioptions.ConfigFlags) (*cluster, error) {
	if flags == nil {
		return nil, usageError("no kube flags: cannot reach a cluster")
	}
	cfg, err := flags.ToRESTConfig()
	if err != nil {
		return nil, failure("cannot use the kubeconfig: %v", err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, failure("cannot reach the API server: %v", err)
	}
	return &cluster{cfg: cfg, client: client, pods: kube.NewFinder(flags, client)}, nil
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
