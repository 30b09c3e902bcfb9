package pilot

import (
	"context"
	"fmt"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// xDS type URLs.
const (
	ClusterType  = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	ListenerType = "type.googleapis.com/envoy.config.listener.v3.Listener"
	RouteType    = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
	EndpointType = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
)

// GRPCPort is istiod's plaintext xDS port.
const GRPCPort = 15010

// Proxy is the identity istiod generates config for: a pod's sidecar.
type Proxy struct {
	Pod, Namespace, IP string
	Labels             map[string]string
	ServiceAccount     string
	IstioVersion       string // the proxy's, e.g. "1.28.0"
	// Type is the node type: sidecar (""), router (a gateway) or waypoint.
	Type string
}

// Node is the xDS node a sidecar of p presents: Istio's node ID
// (sidecar~IP~POD.NAMESPACE~NAMESPACE.svc.cluster.local) and the metadata
// istiod reads to generate its config.
func (p Proxy) Node() (*corev3.Node, error) {
	labels := map[string]any{}
	for k, v := range p.Labels {
		labels[k] = v
	}
	version := p.IstioVersion
	if version == "" {
		version = "1.28.0"
	}
	sa := p.ServiceAccount
	if sa == "" {
		sa = "default"
	}
	md, err := structpb.NewStruct(map[string]any{
		"NAMESPACE": p.Namespace, "NAME": p.Pod, "INSTANCE_IPS": p.IP, "LABELS": labels,
		"ISTIO_VERSION": version, "CLUSTER_ID": "Kubernetes", "SERVICE_ACCOUNT": sa,
		"WORKLOAD_NAME": p.Pod, "MESH_ID": "cluster.local",
		// A sidecar sends its proxy config; istiod's debug views list only
		// nodes that do (others are taken for tools asking, like this one).
		"PROXY_CONFIG": map[string]any{"discoveryAddress": "istiod.istio-system.svc:15012"},
	})
	if err != nil {
		return nil, err
	}
	typ := p.Type
	if typ == "" {
		typ = "sidecar"
	}
	return &corev3.Node{
		Id:       fmt.Sprintf("%s~%s~%s.%s~%s.svc.cluster.local", typ, p.IP, p.Pod, p.Namespace, p.Namespace),
		Cluster:  p.Pod + "." + p.Namespace,
		Metadata: md,
	}, nil
}

// ADS is an aggregated discovery stream to istiod as one proxy's node.
type ADS struct {
	conn   *grpc.ClientConn
	stream discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient
	node   *corev3.Node
	// last response per type, for ACKs
	versions map[string]string
	nonces   map[string]string
}

// DialADS opens an ADS stream to istiod's plaintext xDS address as p.
func DialADS(ctx context.Context, addr string, p Proxy) (*ADS, error) {
	node, err := p.Node()
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("open an ADS stream to %s: %w", addr, err)
	}
	return &ADS{conn: conn, stream: stream, node: node, versions: map[string]string{}, nonces: map[string]string{}}, nil
}

// Close ends the stream.
func (a *ADS) Close() { a.conn.Close() }

// Request asks for resources of a type (all of them when names is empty).
func (a *ADS) Request(typeURL string, names []string) error {
	return a.stream.Send(&discoveryv3.DiscoveryRequest{Node: a.node, TypeUrl: typeURL, ResourceNames: names,
		VersionInfo: a.versions[typeURL], ResponseNonce: a.nonces[typeURL]})
}

// Receive waits for the next response.
func (a *ADS) Receive() (*discoveryv3.DiscoveryResponse, error) {
	return a.stream.Recv()
}

// ACK acknowledges a response, as Envoy does once it applied it; names are
// the resources still wanted.
func (a *ADS) ACK(r *discoveryv3.DiscoveryResponse, names []string) error {
	a.versions[r.TypeUrl], a.nonces[r.TypeUrl] = r.VersionInfo, r.Nonce
	return a.Request(r.TypeUrl, names)
}

// Fetch asks for a type, waits for its response (skipping others) and
// acknowledges it.
func (a *ADS) Fetch(typeURL string, names []string) (*discoveryv3.DiscoveryResponse, error) {
	if err := a.Request(typeURL, names); err != nil {
		return nil, err
	}
	for {
		r, err := a.Receive()
		if err != nil {
			return nil, err
		}
		if r.TypeUrl != typeURL {
			continue
		}
		return r, a.ACK(r, names)
	}
}

// Config is what istiod sends a proxy, by type.
type Config struct {
	Clusters, Listeners, Routes, Endpoints *discoveryv3.DiscoveryResponse
}

// FetchAll asks as Envoy does: clusters, then the endpoints they name,
// listeners, then the route configurations they name.
func (a *ADS) FetchAll() (*Config, error) {
	var c Config
	var err error
	if c.Clusters, err = a.Fetch(ClusterType, nil); err != nil {
		return nil, fmt.Errorf("CDS: %w", err)
	}
	if eds := edsNames(c.Clusters); len(eds) > 0 {
		if c.Endpoints, err = a.Fetch(EndpointType, eds); err != nil {
			return nil, fmt.Errorf("EDS: %w", err)
		}
	}
	if c.Listeners, err = a.Fetch(ListenerType, nil); err != nil {
		return nil, fmt.Errorf("LDS: %w", err)
	}
	if rds := rdsNames(c.Listeners); len(rds) > 0 {
		if c.Routes, err = a.Fetch(RouteType, rds); err != nil {
			return nil, fmt.Errorf("RDS: %w", err)
		}
	}
	return &c, nil
}

// edsNames are the EDS clusters' service names (or names).
func edsNames(r *discoveryv3.DiscoveryResponse) []string {
	var out []string
	for _, res := range r.GetResources() {
		var c clusterv3.Cluster
		if err := res.UnmarshalTo(&c); err != nil || c.GetType() != clusterv3.Cluster_EDS {
			continue
		}
		if n := c.GetEdsClusterConfig().GetServiceName(); n != "" {
			out = append(out, n)
		} else {
			out = append(out, c.GetName())
		}
	}
	return out
}

// rdsNames are the RDS route configuration names the listeners' HTTP
// connection managers use.
func rdsNames(r *discoveryv3.DiscoveryResponse) []string {
	seen := map[string]bool{}
	var out []string
	for _, res := range r.GetResources() {
		var l listenerv3.Listener
		if err := res.UnmarshalTo(&l); err != nil {
			continue
		}
		chains := l.GetFilterChains()
		if d := l.GetDefaultFilterChain(); d != nil {
			chains = append(chains, d)
		}
		for _, fc := range chains {
			for _, f := range fc.GetFilters() {
				var hcm hcmv3.HttpConnectionManager
				if f.GetTypedConfig().UnmarshalTo(&hcm) != nil {
					continue
				}
				if name := hcm.GetRds().GetRouteConfigName(); name != "" && !seen[name] {
					seen[name] = true
					out = append(out, name)
				}
			}
		}
	}
	return out
}

// dumpJSON writes a config dump as Envoy's admin endpoint does.
// Types this build does not link (Istio's own filters) keep their bytes, in
// xds.UndecodedTypeURL messages, rather than showing as empty configs.
var dumpJSON = protojson.MarshalOptions{Resolver: xds.DumpResolver, UseProtoNames: true}

// ConfigDump is what istiod sent, as an Envoy admin config dump: the same
// layout the listing commands read from a proxy.
func (c *Config) ConfigDump() ([]byte, error) {
	dump := &adminv3.ConfigDump{}
	add := func(m proto.Message) error {
		a, err := anypb.New(m)
		if err != nil {
			return err
		}
		dump.Configs = append(dump.Configs, a)
		return nil
	}
	if c.Clusters != nil {
		cd := &adminv3.ClustersConfigDump{VersionInfo: c.Clusters.VersionInfo}
		for _, r := range c.Clusters.Resources {
			cd.DynamicActiveClusters = append(cd.DynamicActiveClusters, &adminv3.ClustersConfigDump_DynamicCluster{VersionInfo: c.Clusters.VersionInfo, Cluster: r})
		}
		if err := add(cd); err != nil {
			return nil, err
		}
	}
	if c.Listeners != nil {
		ld := &adminv3.ListenersConfigDump{VersionInfo: c.Listeners.VersionInfo}
		for _, r := range c.Listeners.Resources {
			var l listenerv3.Listener
			_ = r.UnmarshalTo(&l)
			ld.DynamicListeners = append(ld.DynamicListeners, &adminv3.ListenersConfigDump_DynamicListener{Name: l.GetName(),
				ActiveState: &adminv3.ListenersConfigDump_DynamicListenerState{VersionInfo: c.Listeners.VersionInfo, Listener: r}})
		}
		if err := add(ld); err != nil {
			return nil, err
		}
	}
	if c.Routes != nil {
		rd := &adminv3.RoutesConfigDump{}
		for _, r := range c.Routes.Resources {
			rd.DynamicRouteConfigs = append(rd.DynamicRouteConfigs, &adminv3.RoutesConfigDump_DynamicRouteConfig{VersionInfo: c.Routes.VersionInfo, RouteConfig: r})
		}
		if err := add(rd); err != nil {
			return nil, err
		}
	}
	if c.Endpoints != nil {
		ed := &adminv3.EndpointsConfigDump{}
		for _, r := range c.Endpoints.Resources {
			ed.DynamicEndpointConfigs = append(ed.DynamicEndpointConfigs, &adminv3.EndpointsConfigDump_DynamicEndpointConfig{VersionInfo: c.Endpoints.VersionInfo, EndpointConfig: r})
		}
		if err := add(ed); err != nil {
			return nil, err
		}
	}
	xds.PreserveUndecoded(dump)
	return dumpJSON.Marshal(dump)
}

// Follow keeps the stream as Envoy does after its first fetch: each push
// is stored and acknowledged, new EDS and RDS names are asked for as
// clusters and listeners change, and update is called with the config
// after each push. It returns when the stream ends.
func (a *ADS) Follow(c *Config, update func(*Config)) error {
	for {
		r, err := a.Receive()
		if err != nil {
			return err
		}
		var names []string
		switch r.TypeUrl {
		case ClusterType:
			c.Clusters = r
		case ListenerType:
			c.Listeners = r
		case RouteType:
			c.Routes, names = r, rdsNames(c.Listeners)
		case EndpointType:
			c.Endpoints, names = r, edsNames(c.Clusters)
		default:
			continue
		}
		if err := a.ACK(r, names); err != nil {
			return err
		}
		switch r.TypeUrl {
		case ClusterType:
			if eds := edsNames(r); len(eds) > 0 {
				if err := a.Request(EndpointType, eds); err != nil {
					return err
				}
			}
		case ListenerType:
			if rds := rdsNames(r); len(rds) > 0 {
				if err := a.Request(RouteType, rds); err != nil {
					return err
				}
			}
		}
		update(c)
	}
}

// ConfigAsProxy asks istiod (its plaintext xDS address) for everything it
// would send p, over ADS as p's node, the way its Envoy asks: an Envoy
// config dump in JSON, with the types this build does not link kept as
// bytes.
func ConfigAsProxy(ctx context.Context, addr string, p Proxy) ([]byte, error) {
	ads, err := DialADS(ctx, addr, p)
	if err != nil {
		return nil, err
	}
	defer ads.Close()
	cfg, err := ads.FetchAll()
	if err != nil {
		return nil, fmt.Errorf("asked as %s/%s: %w", p.Namespace, p.Pod, err)
	}
	return cfg.ConfigDump()
}
