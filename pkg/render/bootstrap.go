package render

import (
	"fmt"
	"io"
	"strings"

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
	_, err := fmt.Fprintf(w, "Envoy Version:       %s\nEnvoy Build:         %s\n", dash(envoyVersion(b)), dash(b.EnvoySHA))
	return err
}

// envoyVersion is the Envoy version a proxy that is not Istio's reports, or
// "" when the input does not say (a bootstrap file rather than a running
// Envoy's dump): istioctl's 0.0.0 is kept for Istio's proxies only.
func envoyVersion(b *xds.Bootstrap) string {
	if b.EnvoyVersion == "0.0.0" && b.EnvoySHA == "" && b.Mesh != "Istio" {
		return ""
	}
	return b.EnvoyVersion
}

// envoyGatewayOwner reads Envoy Gateway's service cluster: the Gateway's
// namespace/name, or the GatewayClass name when gateways are merged.
func envoyGatewayOwner(cluster string) string {
	if cluster == "" || strings.Contains(cluster, "/") {
		return cluster
	}
	return cluster + " (GatewayClass: merged gateways)"
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
	case "Envoy Gateway":
		rows = append(rows, [][2]string{{"Pod", b.Pod}, {"Gateway", envoyGatewayOwner(b.Cluster)}}...)
	}
	xds := b.XDSServer
	if b.XDSAddress != "" {
		xds += " (" + b.XDSAddress + ")"
	}
	rows = append(rows, [][2]string{{"Envoy version", envoyVersion(b)}, {"Envoy build", b.EnvoySHA},
		{"xDS server", xds}, {"Admin address", b.AdminAddress}}...)
	for _, f := range rows {
		if f[0] == "Mesh" && f[1] == "" {
			continue
		}
		t.Row(f[0], dash(f[1]))
	}
	return t.Flush()
}
