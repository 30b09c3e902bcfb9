package pilot

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strings"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	statusv3 "github.com/envoyproxy/go-control-plane/envoy/service/status/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// istiod's debug types over xDS, for when its HTTP debug endpoints are off.
const (
	DebugSyncz      = "istio.io/debug/syncz"
	DebugConfigDump = "istio.io/debug/config_dump"
	// SecureGRPCPort is istiod's TLS xDS port; it takes a service-account
	// token with this audience.
	SecureGRPCPort = 15012
	TokenAudience  = "istio-ca"
)

// XDSDebug asks istiod for a debug type over an ADS stream: on the
// plaintext port, or on the TLS port with a bearer token (roots verify
// istiod's certificate, for serverName).
type XDSDebug struct {
	Addr       string
	TLS        bool
	Roots      *x509.CertPool
	ServerName string
	Token      string
}

type bearer struct {
	token  string
	secure bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token}, nil
}

func (b bearer) RequireTransportSecurity() bool { return b.secure }

// Get sends one request of typeURL (for names) and returns the response.
func (x XDSDebug) Get(ctx context.Context, typeURL string, names []string) (*discoveryv3.DiscoveryResponse, error) {
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if x.TLS {
		opts = []grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: x.Roots, ServerName: x.ServerName, MinVersion: tls.VersionTLS12}))}
	}
	if x.Token != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(bearer{token: x.Token, secure: x.TLS}))
	}
	conn, err := grpc.NewClient(x.Addr, opts...)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		return nil, err
	}
	md, _ := structpb.NewStruct(map[string]any{"ISTIO_VERSION": "1.28.0", "NAMESPACE": "istio-system"})
	node := &corev3.Node{Id: "sidecar~0.0.0.0~kubectl-mesh.istio-system~istio-system.svc.cluster.local", Metadata: md}
	if err := stream.Send(&discoveryv3.DiscoveryRequest{Node: node, TypeUrl: typeURL, ResourceNames: names}); err != nil {
		return nil, err
	}
	r, err := stream.Recv()
	if err != nil {
		return nil, err
	}
	return r, nil
}

// SyncFromXDS reads an istio.io/debug/syncz response (envoy.service.
// status.v3.ClientConfig per proxy) as sync statuses.
func SyncFromXDS(r *discoveryv3.DiscoveryResponse, istiod string) ([]SyncStatus, error) {
	names := typeURLs
	var out []SyncStatus
	for _, res := range r.GetResources() {
		var cc statusv3.ClientConfig
		if err := res.UnmarshalTo(&cc); err != nil {
			return nil, fmt.Errorf("istio.io/debug/syncz: %v", err)
		}
		s := SyncStatus{Proxy: cc.GetNode().GetId(), Istiod: istiod, Types: map[string]string{}}
		if parts := strings.Split(s.Proxy, "~"); len(parts) == 4 {
			s.Proxy, s.ProxyType = parts[2], parts[0]
		}
		if md := cc.GetNode().GetMetadata().GetFields(); md != nil {
			s.IstioVersion = md["ISTIO_VERSION"].GetStringValue()
			s.ClusterID = md["CLUSTER_ID"].GetStringValue()
		}
		types := SyncTypes[:0:0]
		if s.ProxyType == "ztunnel" {
			for _, t := range AmbientSyncTypes {
				types = append(types, struct{ Key, Name string }{t.URL, t.Name})
			}
		} else {
			types = SyncTypes
		}
		for _, t := range types {
			s.Types[t.Name] = NotSent
		}
		for _, g := range cc.GetGenericXdsConfigs() {
			name, ok := names[g.GetTypeUrl()]
			if !ok {
				continue
			}
			switch g.GetConfigStatus() {
			case statusv3.ConfigStatus_SYNCED:
				s.Types[name] = Synced
			case statusv3.ConfigStatus_STALE:
				s.Types[name] = Stale
			case statusv3.ConfigStatus_ERROR:
				s.Types[name] = Error
			default:
				s.Types[name] = NotSent
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// ConfigDumpFromXDS reads an istio.io/debug/config_dump response: the
// proxy's config as an Envoy admin config dump, in JSON.
func ConfigDumpFromXDS(r *discoveryv3.DiscoveryResponse) ([]byte, error) {
	if len(r.GetResources()) == 0 {
		return nil, fmt.Errorf("istio.io/debug/config_dump: istiod returned nothing (is the proxy connected to it?)")
	}
	var d adminv3.ConfigDump
	if err := r.GetResources()[0].UnmarshalTo(&d); err != nil {
		return nil, fmt.Errorf("istio.io/debug/config_dump: %v", err)
	}
	xds.PreserveUndecoded(&d)
	return dumpJSON.Marshal(&d)
}
