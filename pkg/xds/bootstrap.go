package xds

import (
	"fmt"
	"strings"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
)

// Bootstrap is what a proxy says about itself: its node and versions.
type Bootstrap struct {
	NodeID       string
	Cluster      string
	ProxyType    string // sidecar, router, waypoint, ... (first part of Istio's node ID)
	IP           string
	Pod          string
	Namespace    string
	IstioVersion string
	ProxySHA     string
	EnvoyVersion string
	Revision     string
	MeshID       string
	ClusterID    string
	XDSServer    string // the cluster (or address) the proxy gets xDS from
	AdminAddress string
	Raw          jsonscan.Value
}

func decodeBootstrap(b jsonscan.Value) *Bootstrap {
	node := b.Get("node")
	md := node.Get("metadata")
	bs := &Bootstrap{
		NodeID: node.Get("id").Str(), Cluster: node.Get("cluster").Str(),
		Pod: md.Get("NAME").Str(), Namespace: md.Get("NAMESPACE").Str(),
		IstioVersion: md.Get("ISTIO_VERSION").Str(), Revision: md.Get("ISTIO_REVISION").Str(),
		MeshID: md.Get("MESH_ID").Str(), ClusterID: md.Get("CLUSTER_ID").Str(), Raw: b,
	}
	if parts := strings.Split(bs.NodeID, "~"); len(parts) == 4 {
		bs.ProxyType, bs.IP = parts[0], parts[1]
		if bs.Pod == "" {
			if pod, ns, ok := strings.Cut(parts[2], "."); ok {
				bs.Pod, bs.Namespace = pod, ns
			}
		}
	}
	bv := node.Get("user_agent_build_version")
	bs.ProxySHA = strings.TrimPrefix(md.Get("ISTIO_PROXY_SHA").Str(), "istio-proxy:")
	if bs.ProxySHA == "" {
		bs.ProxySHA = bv.Get("metadata", "revision.sha").Str()
	}
	if s := node.Get("build_version").Str(); s != "" && !bv.Exists() { // v2: "sha/1.12.0-dev/Clean/RELEASE/BoringSSL"
		if _, rest, ok := strings.Cut(s, "/"); ok {
			bs.EnvoyVersion = rest
		}
	} else {
		// As istioctl prints it: an absent version reads 0.0.0.
		v := bv.Get("version")
		maj, _ := v.Get("major_number").Uint()
		min, _ := v.Get("minor_number").Uint()
		patch, _ := v.Get("patch").Uint()
		bs.EnvoyVersion = fmt.Sprintf("%d.%d.%d", maj, min, patch)
		meta := bv.Get("metadata")
		for _, k := range []string{"revision.status", "build.type", "ssl.version"} {
			if s := meta.Get(k).Str(); s != "" {
				bs.EnvoyVersion += "/" + s
			}
		}
	}
	_ = b.Get("dynamic_resources", "ads_config", "grpc_services").Items(func(_ int, g jsonscan.Value) bool {
		bs.XDSServer = firstNonEmpty(g.Get("envoy_grpc", "cluster_name").Str(), g.Get("google_grpc", "target_uri").Str())
		return false
	})
	addr, port := socketAddress(b.Get("admin", "address"))
	bs.AdminAddress = joinHostPort(addr, port)
	return bs
}
