package render

import (
	"fmt"
	"io"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// Versions writes the version lines istioctl prints above its summaries.
func Versions(w io.Writer, b *xds.Bootstrap) error {
	_, err := fmt.Fprintf(w, "Istio Version:       %s\nIstio Proxy Version: %s\nEnvoy Version:       %s\n", b.IstioVersion, b.ProxySHA, b.EnvoyVersion)
	return err
}

// Bootstrap writes what a proxy says about itself.
func Bootstrap(w io.Writer, b *xds.Bootstrap) error {
	t := NewTable(w, TableOptions{}, "FIELD", "VALUE")
	for _, f := range [][2]string{
		{"Node ID", b.NodeID}, {"Cluster", b.Cluster}, {"Proxy type", b.ProxyType}, {"IP", b.IP},
		{"Pod", b.Pod}, {"Namespace", b.Namespace}, {"Istio version", b.IstioVersion}, {"Istio revision", b.Revision},
		{"Istio proxy version", b.ProxySHA}, {"Envoy version", b.EnvoyVersion}, {"Mesh ID", b.MeshID},
		{"Cluster ID", b.ClusterID}, {"xDS server", b.XDSServer}, {"Admin address", b.AdminAddress},
	} {
		t.Row(f[0], dash(f[1]))
	}
	return t.Flush()
}
