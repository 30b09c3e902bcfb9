package cmd

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/pilot"
)

// adsSource is what istiod would send a pod's sidecar: asked over xDS
// (istiod's plaintext port 15010, through the cluster's transport) as that
// pod's node, the way its Envoy asks (pilot.ConfigAsProxy).
type adsSource struct {
	proxy     *podSource
	namespace string
}

func (s *adsSource) Dump(ctx context.Context, _ ...envoyadmin.Kind) (*envoyadmin.Dump, error) {
	at, err := s.proxy.locate(ctx)
	if err != nil {
		return nil, err
	}
	instances, err := (&cluster{cfg: at.cfg, client: at.client, transport: at.transport}).runningIstiod(ctx, s.namespace, at.pod.Labels["istio.io/rev"])
	if err != nil {
		return nil, err
	}
	in := instances[0]
	url, closeTransport, err := at.transport.Open(ctx, in.Namespace, in.Pod, pilot.GRPCPort)
	if err != nil {
		return nil, failure("port-forward to istiod %s/%s:%d: %v", in.Namespace, in.Pod, pilot.GRPCPort, err)
	}
	defer closeTransport()
	timeout := s.proxy.timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	p := pilot.Proxy{Pod: at.pod.Name, Namespace: at.pod.Namespace, IP: at.pod.Status.PodIP, Labels: at.pod.Labels,
		ServiceAccount: at.pod.Spec.ServiceAccountName}
	data, err := pilot.ConfigAsProxy(ctx, hostPort(url), p)
	if err != nil {
		return nil, failure("istiod %s: %v", in.Pod, err)
	}
	dumps, err := envoyadmin.Load(data)
	if err != nil {
		return nil, fmt.Errorf("istiod %s: %w", in.Pod, err)
	}
	dumps[0].Name = p.Pod + "." + p.Namespace
	return dumps[0], nil
}

func (s *adsSource) Evict() {}

func (s *adsSource) Close() { s.proxy.Close() }

// pilotXDSCommands are "pilot lds|cds|rds|eds POD": the listing commands
// on what istiod would send the pod, asked over xDS as its node.
func pilotXDSCommands(deps Deps) []*cobra.Command {
	istioNS := "istio-system"
	d := deps
	d.source = func(t Target) DumpSource {
		return &adsSource{proxy: &podSource{flags: deps.KubeFlags, target: t}, namespace: istioNS}
	}
	var out []*cobra.Command
	for _, x := range []struct {
		use, what string
		build     func(Deps) *cobra.Command
	}{
		{"lds", "listeners", NewListenersCmd},
		{"cds", "clusters", NewClustersCmd},
		{"rds", "routes", NewRoutesCmd},
		{"eds", "endpoints", NewEndpointsCmd},
	} {
		c := x.build(d)
		c.Use = x.use + " (POD | TYPE/NAME | -l SELECTOR)"
		c.Aliases = nil
		c.GroupID = ""
		c.Short = "What istiod would send a pod's sidecar over " + strings.ToUpper(x.use) + ": its " + x.what + ", asked over xDS as the pod"
		c.Long = c.Short + `.

kubectl mesh asks istiod's xDS port (15010, through a port-forward) as the pod's node (Istio's
node ID sidecar~IP~POD.NAMESPACE~NAMESPACE.svc.cluster.local and the metadata Envoy would send),
the way its Envoy does, and shows the answer like "kubectl mesh ` + x.what + `". Compare it with
what the proxy holds: kubectl mesh diff POD.`
		c.Example = fmt.Sprintf("  kubectl mesh pilot %s frontend-7d9c5\n  kubectl mesh pilot %s deploy/frontend -o json", x.use, x.use)
		c.Flags().StringVar(&istioNS, "istio-namespace", istioNS, "the namespace of istiod")
		out = append(out, c)
	}
	return out
}
