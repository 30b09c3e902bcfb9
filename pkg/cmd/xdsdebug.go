package cmd

import (
	"context"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/kube"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/pilot"
)

// xdsDebug asks one istiod instance for a debug type over xDS
// (pilot.DebugType), through port-forwards to the instance's pod.
func xdsDebug(ctx context.Context, flags *kube.Flags, client kube.Core, in pilot.Instance, typeURL string, names []string) (*discoveryv3.DiscoveryResponse, error) {
	return pilot.DebugType(ctx, podForwarder(flags), client, in, typeURL, names)
}

// podForwarder port-forwards to a named pod's port, as every live read does.
func podForwarder(flags *kube.Flags) pilot.Forwarder {
	return func(ctx context.Context, namespace, pod string, port int) (string, func(), error) {
		src := &podSource{flags: flags, target: Target{Kind: "pod", Name: pod}, adminPort: port, inNamespace: namespace}
		if err := src.connect(ctx); err != nil {
			src.Close()
			return "", nil, err
		}
		return hostPort(src.base), src.Close, nil
	}
}
