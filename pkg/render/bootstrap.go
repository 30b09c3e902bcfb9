package render

import (
	"fmt"
	"io"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// Versions writes the version lines istioctl prints above its summaries;
// for a proxy that is not Istio's, whose it is and Envoy's own version.
func Versions(w io.Writer, b *xds.Bootstrap) error {
	if b.Mesh == "Istio" || b.IstioVersion != "" || b.ProxySHA != "" {
		_, err := fmt.Fprintf(w, "Istio Version:       %s\nIstio Proxy Version: %s\nEnvoy Version:       %s\n", b.IstioVersion, b.ProxySHA, b.EnvoyVersion)
		return err
	}
	if b.Mesh != "" {
		line := b.Mesh
		if b.MeshVersion != "" {
			line += " " + b.MeshVersion
		}
		if _, err := fmt.Fprintf(w, "Mesh:                %s\n", line); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "Envoy Version:       %s\nEnvoy Build:         %s\n", b.EnvoyVersion, dash(b.EnvoySHA))
	return err
}

// Bootstrap writes what a proxy says about itself.
func Bootstrap(w io.Writer, b *xds.Bootstrap) error {
	t := NewTable(w, TableOptions{}, "FIELD", "VALUE")
	rows := [][2]string{{"Node ID", b.NodeID}, {"Cluster", b.Cluster}, {"Mesh", b.Mesh}, {"Proxy type", b.ProxyType}, {"IP", b.IP}}
	switch b.Mesh {
	case "Istio":
		rows = append(rows, [][2]string{{"Pod", b.Pod}, {"Namespace", b.Namespace}, {"Istio version", b.IstioVersion}, {"Istio revision", b.Revision},
			{"Istio proxy version", b.ProxySHA}, {"Mesh ID", b.MeshID}, {"Cluster ID", b.ClusterID}}...)
	case "Kuma":
		rows = append(rows, [][2]string{{"Dataplane", b.Pod}, {"Kuma mesh", b.Namespace}, {"kuma-dp version", b.MeshVersion}}...)
	case "Open Service Mesh":
		rows = append(rows, [][2]string{{"Service account", b.ServiceAccount}, {"Namespace", b.Namespace}}...)
	case "Consul":
		rows = append(rows, [][2]string{{"Proxy ID", b.Pod}, {"Consul namespace", b.Namespace}}...)
	}
	rows = append(rows, [][2]string{{"Envoy version", b.EnvoyVersion}, {"Envoy build", b.EnvoySHA},
		{"xDS server", b.XDSServer}, {"Admin address", b.AdminAddress}}...)
	for _, f := range rows {
		if f[0] == "Mesh" && f[1] == "" {
			continue
		}
		t.Row(f[0], dash(f[1]))
	}
	return t.Flush()
}
