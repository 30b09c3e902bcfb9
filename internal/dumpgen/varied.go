package dumpgen

import (
	"fmt"
	"io"
	"math/rand/v2"
	"strings"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// WriteVaried writes a gateway-shaped dump that is unlike the sidecar
// template's, built from Envoy's own types with a seeded random source:
// names of varying length, plaintext HTTP listeners with one chain and TLS
// listeners with 1 to 60 chains by SNI, one route configuration per listener with 1 to 5 routes per
// virtual host (prefix, path, regex, header and query matches, weighted
// subsets), clusters with 0 to 4 subsets, varied load balancing and TLS, and
// 1 to 6 endpoints in several zones with varied health. The same options
// write the same bytes.
func WriteVaried(w io.Writer, opts Options) error {
	r := rand.New(rand.NewPCG(uint64(opts.Services), 42))
	words := []string{"api", "checkout", "inventory", "payments", "ledger", "search", "catalog", "auth", "profile", "notifications",
		"recommendations", "shipping", "reviews", "gateway", "billing-reconciliation", "x", "edge", "media-transcoding"}
	name := func(i int) string {
		n := 1 + r.IntN(3)
		parts := make([]string, 0, n+1)
		for j := 0; j < n; j++ {
			parts = append(parts, words[r.IntN(len(words))])
		}
		return strings.Join(append(parts, fmt.Sprint(i)), "-")
	}
	var listeners, routes, clusters, endpoints []proto.Message
	lbs := []clusterv3.Cluster_LbPolicy{clusterv3.Cluster_ROUND_ROBIN, clusterv3.Cluster_LEAST_REQUEST, clusterv3.Cluster_RING_HASH, clusterv3.Cluster_RANDOM}
	healths := []corev3.HealthStatus{corev3.HealthStatus_HEALTHY, corev3.HealthStatus_HEALTHY, corev3.HealthStatus_HEALTHY, corev3.HealthStatus_UNHEALTHY, corev3.HealthStatus_DRAINING}
	for i, l := 0, 0; i < opts.Services; l++ {
		port := uint32(8000 + l)
		lname := fmt.Sprintf("default/eg-%d/%s", l, name(l))
		rc := &routev3.RouteConfiguration{Name: lname, IgnorePortInHostMatching: r.IntN(2) == 0}
		lis := &listenerv3.Listener{Name: lname, Address: &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
			Address: "0.0.0.0", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port}}}}}
		// Every third listener is plaintext HTTP: one chain, a virtual host per
		// service; the others terminate TLS with a chain per service's SNI.
		plaintext := l%3 == 0
		services := 1 + r.IntN(60)
		for c := 0; c < services && i < opts.Services; c, i = c+1, i+1 {
			svc := name(i)
			ns := fmt.Sprintf("team-%d", i%37)
			host := svc + "." + ns + ".example.com"
			hcm := &hcmv3.HttpConnectionManager{StatPrefix: "http-" + fmt.Sprint(port), RouteSpecifier: &hcmv3.HttpConnectionManager_Rds{
				Rds: &hcmv3.Rds{RouteConfigName: lname}},
				HttpFilters: []*hcmv3.HttpFilter{{Name: "envoy.filters.http.router", ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(&routerv3.Router{})}}}}
			fc := &listenerv3.FilterChain{Name: fmt.Sprintf("%s/%d", lname, c), Filters: []*listenerv3.Filter{{Name: "envoy.filters.network.http_connection_manager",
				ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: mustAny(hcm)}}}}
			if !plaintext {
				fc.FilterChainMatch = &listenerv3.FilterChainMatch{ServerNames: []string{host}, TransportProtocol: "tls"}
				fc.TransportSocket = &corev3.TransportSocket{Name: "envoy.transport_sockets.tls", ConfigType: &corev3.TransportSocket_TypedConfig{
					TypedConfig: mustAny(&tlsv3.DownstreamTlsContext{CommonTlsContext: &tlsv3.CommonTlsContext{
						TlsCertificateSdsSecretConfigs: []*tlsv3.SdsSecretConfig{{Name: ns + "/" + svc + "-cert"}}}})}}
			}
			if !plaintext || c == 0 {
				lis.FilterChains = append(lis.FilterChains, fc)
			}

			base := fmt.Sprintf("httproute/%s/%s/rule/0", ns, svc)
			subsets := r.IntN(5)
			names := []string{base}
			for s := 0; s < subsets; s++ {
				names = append(names, fmt.Sprintf("%s/backend/%d", base, s))
			}
			vh := &routev3.VirtualHost{Name: lname + "/" + host, Domains: []string{host, fmt.Sprintf("%s:%d", host, port)}}
			for k, n := 0, 1+r.IntN(5); k < n; k++ {
				rt := &routev3.Route{Name: fmt.Sprintf("%s/rule/%d/match/%d", base, k, k), Match: &routev3.RouteMatch{}}
				switch r.IntN(3) {
				case 0:
					rt.Match.PathSpecifier = &routev3.RouteMatch_Prefix{Prefix: "/" + words[r.IntN(len(words))]}
				case 1:
					rt.Match.PathSpecifier = &routev3.RouteMatch_Path{Path: "/" + words[r.IntN(len(words))] + "/v" + fmt.Sprint(k)}
				default:
					rt.Match.PathSpecifier = &routev3.RouteMatch_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: "/" + words[r.IntN(len(words))] + "/[0-9]+"}}
				}
				if r.IntN(3) == 0 {
					rt.Match.Headers = []*routev3.HeaderMatcher{{Name: "x-tenant", HeaderMatchSpecifier: &routev3.HeaderMatcher_StringMatch{
						StringMatch: &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: ns}}}}}
				}
				if r.IntN(5) == 0 {
					rt.Match.QueryParameters = []*routev3.QueryParameterMatcher{{Name: "debug", QueryParameterMatchSpecifier: &routev3.QueryParameterMatcher_PresentMatch{PresentMatch: true}}}
				}
				action := &routev3.RouteAction{Timeout: durationpb.New(0)}
				if len(names) > 1 && r.IntN(2) == 0 {
					wc := &routev3.WeightedCluster{}
					for _, n := range names[1:] {
						wc.Clusters = append(wc.Clusters, &routev3.WeightedCluster_ClusterWeight{Name: n, Weight: wrapperspb.UInt32(uint32(1 + r.IntN(100)))})
					}
					action.ClusterSpecifier = &routev3.RouteAction_WeightedClusters{WeightedClusters: wc}
				} else {
					action.ClusterSpecifier = &routev3.RouteAction_Cluster{Cluster: base}
				}
				rt.Action = &routev3.Route_Route{Route: action}
				vh.Routes = append(vh.Routes, rt)
			}
			rc.VirtualHosts = append(rc.VirtualHosts, vh)

			for _, cn := range names {
				cl := &clusterv3.Cluster{Name: cn, ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS},
					EdsClusterConfig: &clusterv3.Cluster_EdsClusterConfig{ServiceName: cn, EdsConfig: &corev3.ConfigSource{
						ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}}}},
					ConnectTimeout: durationpb.New(10e9), LbPolicy: lbs[r.IntN(len(lbs))]}
				if r.IntN(3) == 0 {
					cl.TransportSocket = &corev3.TransportSocket{Name: "envoy.transport_sockets.tls", ConfigType: &corev3.TransportSocket_TypedConfig{
						TypedConfig: mustAny(&tlsv3.UpstreamTlsContext{Sni: svc + "." + ns + ".svc.cluster.local"})}}
				}
				clusters = append(clusters, cl)
				cla := &endpointv3.ClusterLoadAssignment{ClusterName: cn}
				for z := 0; z < 1+r.IntN(3); z++ {
					le := &endpointv3.LocalityLbEndpoints{Locality: &corev3.Locality{Region: "eu-west", Zone: fmt.Sprintf("eu-west-%c", 'a'+z)}}
					for e := 0; e < 1+r.IntN(3); e++ {
						ip := fmt.Sprintf("10.%d.%d.%d", 64+r.IntN(64), r.IntN(256), 1+r.IntN(250))
						le.LbEndpoints = append(le.LbEndpoints, &endpointv3.LbEndpoint{HealthStatus: healths[r.IntN(len(healths))],
							HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
								SocketAddress: &corev3.SocketAddress{Address: ip, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: uint32(8080 + r.IntN(3))}}}}}}})
					}
					cla.Endpoints = append(cla.Endpoints, le)
				}
				endpoints = append(endpoints, cla)
			}
		}
		listeners = append(listeners, lis)
		routes = append(routes, rc)
	}
	dump := &adminv3.ConfigDump{}
	add := func(m proto.Message) { dump.Configs = append(dump.Configs, mustAny(m)) }
	ld := &adminv3.ListenersConfigDump{VersionInfo: "v1"}
	for _, l := range listeners {
		ld.DynamicListeners = append(ld.DynamicListeners, &adminv3.ListenersConfigDump_DynamicListener{Name: l.(*listenerv3.Listener).Name,
			ActiveState: &adminv3.ListenersConfigDump_DynamicListenerState{VersionInfo: "v1", Listener: mustAny(l)}})
	}
	cd := &adminv3.ClustersConfigDump{VersionInfo: "v1"}
	for _, c := range clusters {
		cd.DynamicActiveClusters = append(cd.DynamicActiveClusters, &adminv3.ClustersConfigDump_DynamicCluster{VersionInfo: "v1", Cluster: mustAny(c)})
	}
	rd := &adminv3.RoutesConfigDump{}
	for _, rc := range routes {
		rd.DynamicRouteConfigs = append(rd.DynamicRouteConfigs, &adminv3.RoutesConfigDump_DynamicRouteConfig{VersionInfo: "v1", RouteConfig: mustAny(rc)})
	}
	ed := &adminv3.EndpointsConfigDump{}
	for _, e := range endpoints {
		ed.DynamicEndpointConfigs = append(ed.DynamicEndpointConfigs, &adminv3.EndpointsConfigDump_DynamicEndpointConfig{VersionInfo: "v1", EndpointConfig: mustAny(e)})
	}
	add(cd)
	add(ld)
	add(rd)
	add(ed)
	b, err := protojson.MarshalOptions{UseProtoNames: true, Multiline: true, Indent: " "}.Marshal(dump)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func mustAny(m proto.Message) *anypb.Any {
	a, err := anypb.New(m)
	if err != nil {
		panic(err)
	}
	return a
}
