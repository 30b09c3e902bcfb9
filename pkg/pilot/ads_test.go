package pilot

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// fakeIstiod answers an ADS stream with one resource per type, recording
// each request as TYPE(names) with its nonce, and the node.
type fakeIstiod struct {
	discoveryv3.UnimplementedAggregatedDiscoveryServiceServer
	mu       sync.Mutex
	node     string
	requests []string
}

func (f *fakeIstiod) StreamAggregatedResources(s discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesServer) error {
	resources := map[string]proto.Message{
		ClusterType: &clusterv3.Cluster{Name: "outbound|9080||reviews.default.svc.cluster.local",
			ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS},
			EdsClusterConfig:     &clusterv3.Cluster_EdsClusterConfig{ServiceName: "outbound|9080||reviews.default.svc.cluster.local"}},
		EndpointType: &endpointv3.ClusterLoadAssignment{ClusterName: "outbound|9080||reviews.default.svc.cluster.local"},
		ListenerType: &listenerv3.Listener{Name: "0.0.0.0_9080", FilterChains: []*listenerv3.FilterChain{{Filters: []*listenerv3.Filter{{
			Name: "envoy.filters.network.http_connection_manager",
			ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: mustAny(&hcmv3.HttpConnectionManager{
				RouteSpecifier: &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{RouteConfigName: "9080"}}})}}}}}},
		RouteType: &routev3.RouteConfiguration{Name: "9080"},
	}
	n := 0
	for {
		r, err := s.Recv()
		if err != nil {
			return nil
		}
		f.mu.Lock()
		if r.GetNode().GetId() != "" {
			f.node = r.GetNode().GetId()
		}
		f.requests = append(f.requests, strings.TrimPrefix(r.GetTypeUrl(), "type.googleapis.com/envoy.config.")+
			"("+strings.Join(r.GetResourceNames(), ",")+")"+r.GetResponseNonce())
		f.mu.Unlock()
		if r.GetResponseNonce() != "" {
			continue // an ACK
		}
		n++
		res, _ := anypb.New(resources[r.GetTypeUrl()])
		if err := s.Send(&discoveryv3.DiscoveryResponse{TypeUrl: r.GetTypeUrl(), VersionInfo: "v1", Nonce: "n" + string(rune('0'+n)),
			Resources: []*anypb.Any{res}}); err != nil {
			return err
		}
	}
}

func mustAny(m proto.Message) *anypb.Any {
	a, err := anypb.New(m)
	if err != nil {
		panic(err)
	}
	return a
}

// ConfigAsProxy asks as Envoy does (clusters, the endpoints they name,
// listeners, the routes they name), acknowledging each answer, as the
// pod's sidecar node; the answer reads as an Envoy config dump.
func TestConfigAsProxy(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	f := &fakeIstiod{}
	discoveryv3.RegisterAggregatedDiscoveryServiceServer(srv, f)
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	data, err := ConfigAsProxy(context.Background(), lis.Addr().String(), Proxy{Pod: "sleep-1", Namespace: "default", IP: "10.0.0.5", ServiceAccount: "sleep"})
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.node != "sidecar~10.0.0.5~sleep-1.default~default.svc.cluster.local" {
		t.Errorf("node %q", f.node)
	}
	want := "cluster.v3.Cluster() cluster.v3.Cluster()n1 endpoint.v3.ClusterLoadAssignment(outbound|9080||reviews.default.svc.cluster.local) " +
		"endpoint.v3.ClusterLoadAssignment(outbound|9080||reviews.default.svc.cluster.local)n2 listener.v3.Listener() listener.v3.Listener()n3 " +
		"route.v3.RouteConfiguration(9080)"
	// The last ACK is sent as the stream closes: it may not arrive.
	if got := strings.TrimSuffix(strings.Join(f.requests, " "), " route.v3.RouteConfiguration(9080)n4"); got != want {
		t.Errorf("requests\n%s\nwant\n%s", got, want)
	}
	dumps, err := envoyadmin.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	cfg := xds.New(dumps[0])
	if len(cfg.Clusters()) != 1 || len(cfg.Listeners()) != 1 || len(cfg.RouteConfigs()) != 1 {
		t.Errorf("%d clusters, %d listeners, %d route configs", len(cfg.Clusters()), len(cfg.Listeners()), len(cfg.RouteConfigs()))
	}

	// Nothing answering: an error naming the address, never a hang.
	if _, err := ConfigAsProxy(context.Background(), "127.0.0.1:1", Proxy{Pod: "x", Namespace: "y"}); err == nil {
		t.Error("no istiod, no error")
	}
}
