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
	// XDSAddress is where that cluster points, from the bootstrap's static
	// clusters: host:port, or a pipe's path.
	XDSAddress   string
	AdminAddress string
	// Mesh is whose proxy it is, from its node: Istio, Kuma, Open Service
	// Mesh, Consul, or "" when the node does not say.
	Mesh string
	// MeshVersion is that mesh's agent version (kuma-dp's), when known.
	MeshVersion string
	// EnvoySHA is the Envoy build's commit.
	EnvoySHA       string
	ServiceAccount string
	Raw            jsonscan.Value
}

// identify says whose proxy this is, and the workload it serves, from the
// node each mesh writes: Istio's TYPE~IP~POD.NS~DOMAIN id and ISTIO_*
// metadata; Kuma's MESH.NAME id with its dataplane resource; Open Service
// Mesh's UUID.KIND.SERVICEACCOUNT.NAMESPACE.TRUSTDOMAIN id; Consul's
// namespace and partition metadata.
func (bs *Bootstrap) identify(node, md jsonscan.Value) {
	id := node.Get("id").Str()
	switch {
	case md.Get("ISTIO_VERSION").Exists() || strings.Count(id, "~") == 3:
		bs.Mesh = "Istio"
	case md.Get("dataplane.resource").Exists() || md.Get("dataplane.proxyType").Exists():
		bs.Mesh = "Kuma"
		r := md.Get("dataplane.resource")
		bs.Pod, bs.Namespace = r.Get("name").Str(), r.Get("mesh").Str()
		if mesh, name, ok := strings.Cut(id, "."); ok && bs.Pod == "" {
			bs.Namespace, bs.Pod = mesh, name
		}
		bs.MeshVersion = md.Get("version", "kumaDp", "version").Str()
		bs.IP = r.Get("networking", "address").Str()
	case osmNodeID(id) != nil:
		bs.Mesh = "Open Service Mesh"
		parts := osmNodeID(id)
		bs.ProxyType, bs.ServiceAccount, bs.Namespace = parts[1], parts[2], parts[3]
	case md.Get("partition").Exists() || strings.Contains(bs.Cluster, "consul"):
		bs.Mesh = "Consul"
		bs.Namespace = md.Get("namespace").Str()
		bs.Pod = id
	}
}

// osmNodeID splits Open Service Mesh's node id
// UUID.KIND.SERVICEACCOUNT.NAMESPACE.TRUSTDOMAIN, or is nil.
func osmNodeID(id string) []string {
	parts := strings.SplitN(id, ".", 5)
	if len(parts) != 5 || len(parts[0]) != 36 || strings.Count(parts[0], "-") != 4 {
		return nil
	}
	switch parts[1] {
	case "sidecar", "gateway":
		return parts
	}
	return nil
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
	bs.EnvoySHA = bv.Get("metadata", "revision.sha").Str()
	if bs.EnvoySHA == "" {
		bs.EnvoySHA, _, _ = strings.Cut(node.Get("build_version").Str(), "/")
	}
	bs.identify(node, md)
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
	// ADS, else the listeners' and clusters' own API config source (Envoy
	// Gateway's bootstrap before ADS).
	dyn := b.Get("dynamic_resources")
	for _, src := range []jsonscan.Value{dyn.Get("ads_config"), dyn.Get("lds_config", "api_config_source"), dyn.Get("cds_config", "api_config_source")} {
		grpcServices(src, func(g jsonscan.Value) bool {
			bs.XDSServer = firstNonEmpty(g.Get("envoy_grpc", "cluster_name").Str(), g.Get("google_grpc", "target_uri").Str())
			return false
		})
		if bs.XDSServer != "" {
			break
		}
	}
	bs.XDSAddress = staticClusterAddress(b, bs.XDSServer)
	if bs.Mesh == "" && (bs.XDSServer == "local_agent" || consulToken(dyn.Get("ads_config"))) {
		// Consul's bootstrap (consul connect envoy): node id the proxy ID,
		// cluster the service, ADS from the local agent's cluster with the
		// ACL token as x-consul-token initial metadata.
		bs.Mesh = "Consul"
		bs.Namespace = md.Get("namespace").Str()
		bs.Pod = bs.NodeID
	}
	if bs.Mesh == "" && envoyGatewayXDS(bs.XDSAddress) {
		// Envoy Gateway starts its proxies with --service-node POD and
		// --service-cluster naming the Gateway (namespace/name), or the
		// GatewayClass when gateways are merged, and points them at
		// envoy-gateway:18000 (internal/infrastructure/common/proxy_args.go,
		// internal/xds/bootstrap/bootstrap.yaml.tpl).
		bs.Mesh = "Envoy Gateway"
		bs.Pod = bs.NodeID
	}
	addr, port := socketAddress(b.Get("admin", "address"))
	bs.AdminAddress = joinHostPort(addr, port)
	return bs
}

// staticClusterAddress is where a static cluster of the bootstrap points:
// its first endpoint's host:port or pipe path, or "".
func staticClusterAddress(b jsonscan.Value, name string) string {
	if name == "" {
		return ""
	}
	var out string
	_ = b.Get("static_resources", "clusters").Items(func(_ int, c jsonscan.Value) bool {
		if c.Get("name").Str() != name {
			return true
		}
		_ = c.Get("load_assignment", "endpoints").Items(func(_ int, le jsonscan.Value) bool {
			_ = le.Get("lb_endpoints").Items(func(_ int, e jsonscan.Value) bool {
				a := e.Get("endpoint", "address")
				if p := a.Get("pipe", "path").Str(); p != "" {
					out = p
				} else {
					out = joinHostPort(socketAddress(a))
				}
				return false
			})
			return out == ""
		})
		return false
	})
	return out
}

// grpcServices calls fn on each gRPC service of a config source until fn
// returns false: a list, or one object as Consul's early bootstrap
// template wrote it.
func grpcServices(src jsonscan.Value, fn func(jsonscan.Value) bool) {
	if gs := src.Get("grpc_services"); gs.Kind() == jsonscan.Object {
		fn(gs)
	} else {
		_ = gs.Items(func(_ int, g jsonscan.Value) bool { return fn(g) })
	}
}

// consulToken tells an ADS config source that sends Consul's ACL token.
func consulToken(ads jsonscan.Value) bool {
	found := false
	grpcServices(ads, func(g jsonscan.Value) bool {
		_ = g.Get("initial_metadata").Items(func(_ int, m jsonscan.Value) bool {
			found = found || m.Get("key").Str() == "x-consul-token"
			return !found
		})
		return !found
	})
	return found
}

// envoyGatewayXDS tells Envoy Gateway's xDS server address: the
// envoy-gateway Service (short or qualified name), port 18000.
func envoyGatewayXDS(addr string) bool {
	host, port, ok := strings.Cut(addr, ":")
	return ok && port == "18000" && (host == "envoy-gateway" || strings.HasPrefix(host, "envoy-gateway."))
}
