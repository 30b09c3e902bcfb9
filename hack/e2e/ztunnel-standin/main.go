// Command ztunnel-standin plays a node's ztunnel in the end-to-end stack:
// it asks the real istiod over delta ADS as a ztunnel node for what a
// ztunnel receives (istio.workload.Address: workloads and services;
// istio.security.Authorization: L4 policies), keeps it as ztunnel does,
// and serves it on an admin /config_dump in the JSON shape ztunnel writes
// (src/admin.rs, src/state.rs, src/state/workload.rs, service.rs, rbac.rs
// of istio/ztunnel). kubectl mesh reads it through a port-forward like a
// real ztunnel's. It carries no traffic.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/structpb"

	"istio.io/istio/pkg/workloadapi"
	"istio.io/istio/pkg/workloadapi/security"
)

const (
	addressType = "type.googleapis.com/istio.workload.Address"
	authzType   = "type.googleapis.com/istio.security.Authorization"
)

type state struct {
	mu        sync.Mutex
	addresses map[string]*workloadapi.Address
	policies  map[string]*security.Authorization
	pushes    int
}

func main() {
	xdsAddr := flag.String("xds", "127.0.0.1:15010", "istiod's plaintext xDS address")
	admin := flag.String("admin", "127.0.0.1:15000", "where to serve /config_dump")
	pod := flag.String("pod", "ztunnel-standin", "the ztunnel pod's name")
	ns := flag.String("namespace", "istio-system", "its namespace")
	ip := flag.String("ip", "192.0.2.60", "its IP")
	node := flag.String("node", "e2e-node", "its node")
	flag.Parse()

	st := &state{addresses: map[string]*workloadapi.Address{}, policies: map[string]*security.Authorization{}}
	go func() {
		for {
			if err := st.watch(*xdsAddr, *pod, *ns, *ip, *node); err != nil {
				log.Printf("xds: %v; retrying", err)
			}
			time.Sleep(time.Second)
		}
	}()
	mux := http.NewServeMux()
	mux.HandleFunc("/config_dump", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(st.dump())
	})
	mux.HandleFunc("/pushes", func(w http.ResponseWriter, _ *http.Request) {
		st.mu.Lock()
		defer st.mu.Unlock()
		fmt.Fprint(w, st.pushes)
	})
	srv := &http.Server{Addr: *admin, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// watch keeps a delta ADS stream to istiod as a ztunnel node.
func (st *state) watch(addr, pod, ns, ip, nodeName string) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).DeltaAggregatedResources(context.Background())
	if err != nil {
		return err
	}
	md, _ := structpb.NewStruct(map[string]any{"NAMESPACE": ns, "NAME": pod, "CLUSTER_ID": "Kubernetes", "ISTIO_VERSION": "1.28.0",
		"SERVICE_ACCOUNT": "ztunnel", "NODE_NAME": nodeName})
	node := &corev3.Node{Id: fmt.Sprintf("ztunnel~%s~%s.%s~%s.svc.cluster.local", ip, pod, ns, ns), Metadata: md}
	for _, t := range []string{addressType, authzType} {
		if err := stream.Send(&discoveryv3.DeltaDiscoveryRequest{Node: node, TypeUrl: t}); err != nil {
			return err
		}
	}
	for {
		r, err := stream.Recv()
		if err != nil {
			return err
		}
		st.apply(r)
		if err := stream.Send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: r.GetTypeUrl(), ResponseNonce: r.GetNonce()}); err != nil {
			return err
		}
	}
}

func (st *state) apply(r *discoveryv3.DeltaDiscoveryResponse) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.pushes++
	for _, res := range r.GetResources() {
		switch r.GetTypeUrl() {
		case addressType:
			a := &workloadapi.Address{}
			if err := res.GetResource().UnmarshalTo(a); err != nil {
				log.Printf("address %s: %v", res.GetName(), err)
				continue
			}
			st.addresses[res.GetName()] = a
		case authzType:
			p := &security.Authorization{}
			if err := res.GetResource().UnmarshalTo(p); err != nil {
				log.Printf("authorization %s: %v", res.GetName(), err)
				continue
			}
			st.policies[res.GetName()] = p
		}
	}
	for _, name := range r.GetRemovedResources() {
		if r.GetTypeUrl() == addressType {
			delete(st.addresses, name)
		} else {
			delete(st.policies, name)
		}
	}
}

// dump writes the state as ztunnel's /config_dump does (ztunnel 1.22+).
func (st *state) dump() []byte {
	st.mu.Lock()
	defer st.mu.Unlock()
	var workloads, services, policies []any
	endpoints := map[string]map[string]any{}
	var wls []*workloadapi.Workload
	for _, a := range st.addresses {
		if w := a.GetWorkload(); w != nil {
			wls = append(wls, w)
		}
	}
	sort.Slice(wls, func(i, j int) bool { return wls[i].GetUid() < wls[j].GetUid() })
	for _, w := range wls {
		workloads = append(workloads, workloadJSON(w))
		// ztunnel derives services' endpoints from workloads' services.
		for svc, ports := range w.GetServices() {
			if endpoints[svc] == nil {
				endpoints[svc] = map[string]any{}
			}
			pm := map[string]uint32{}
			for _, p := range ports.GetPorts() {
				pm[strconv.Itoa(int(p.GetServicePort()))] = p.GetTargetPort()
			}
			endpoints[svc][w.GetUid()] = map[string]any{"workloadUid": w.GetUid(), "port": pm, "status": status(w.GetStatus())}
		}
	}
	var svcs []*workloadapi.Service
	for _, a := range st.addresses {
		if s := a.GetService(); s != nil {
			svcs = append(svcs, s)
		}
	}
	sort.Slice(svcs, func(i, j int) bool { return svcs[i].GetHostname() < svcs[j].GetHostname() })
	for _, s := range svcs {
		eps := endpoints[s.GetNamespace()+"/"+s.GetHostname()]
		if eps == nil {
			eps = map[string]any{}
		}
		services = append(services, serviceJSON(s, eps))
	}
	var keys []string
	for k := range st.policies {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		policies = append(policies, policyJSON(st.policies[k]))
	}
	doc := map[string]any{
		"workloads": nonNil(workloads), "services": nonNil(services), "policies": nonNil(policies),
		"stagedServices": map[string]any{}, "staticConfig": map[string]any{"workloads": []any{}, "services": []any{}, "policies": []any{}},
		"version":      map[string]any{"version": "e2e-standin", "istioVersion": "1.28.0"},
		"certificates": []any{},
		"config":       map[string]any{"proxyMode": "Shared"},
	}
	b, _ := json.MarshalIndent(doc, "", "  ")
	return b
}

func nonNil(v []any) []any {
	if v == nil {
		return []any{}
	}
	return v
}

func ipOf(b []byte) string {
	a, ok := netip.AddrFromSlice(b)
	if !ok {
		return ""
	}
	return a.Unmap().String()
}

func netAddr(a *workloadapi.NetworkAddress) string {
	return a.GetNetwork() + "/" + ipOf(a.GetAddress())
}

func gateway(g *workloadapi.GatewayAddress) any {
	if g == nil {
		return nil
	}
	out := map[string]any{"hboneMtlsPort": g.GetHboneMtlsPort()}
	if h := g.GetHostname(); h != nil {
		out["destination"] = map[string]any{"namespace": h.GetNamespace(), "hostname": h.GetHostname()}
	} else {
		out["destination"] = netAddr(g.GetAddress())
	}
	return out
}

func status(s workloadapi.WorkloadStatus) string {
	if s == workloadapi.WorkloadStatus_UNHEALTHY {
		return "Unhealthy"
	}
	return "Healthy"
}

func workloadJSON(w *workloadapi.Workload) map[string]any {
	ips := []string{}
	for _, a := range w.GetAddresses() {
		ips = append(ips, ipOf(a))
	}
	protocol := "TCP"
	switch w.GetTunnelProtocol() {
	case workloadapi.TunnelProtocol_HBONE:
		protocol = "HBONE"
	case workloadapi.TunnelProtocol_LEGACY_ISTIO_MTLS:
		protocol = "LegacyIstioMtls"
	}
	out := map[string]any{"workloadIps": ips, "protocol": protocol, "networkMode": "Standard", "uid": w.GetUid(), "name": w.GetName(),
		"namespace": w.GetNamespace(), "status": status(w.GetStatus()), "clusterId": w.GetClusterId(), "capacity": 1}
	set := func(k, v string) {
		if v != "" {
			out[k] = v
		}
	}
	set("trustDomain", w.GetTrustDomain())
	set("serviceAccount", w.GetServiceAccount())
	set("network", w.GetNetwork())
	set("workloadName", w.GetWorkloadName())
	set("workloadType", strings.ToLower(w.GetWorkloadType().String()))
	set("canonicalName", w.GetCanonicalName())
	set("canonicalRevision", w.GetCanonicalRevision())
	set("hostname", w.GetHostname())
	set("node", w.GetNode())
	if g := gateway(w.GetWaypoint()); g != nil {
		out["waypoint"] = g
	}
	if g := gateway(w.GetNetworkGateway()); g != nil {
		out["networkGateway"] = g
	}
	if w.GetNativeTunnel() {
		out["nativeTunnel"] = true
	}
	if len(w.GetAuthorizationPolicies()) > 0 {
		out["authorizationPolicies"] = w.GetAuthorizationPolicies()
	}
	if l := w.GetLocality(); l != nil {
		out["locality"] = map[string]string{"region": l.GetRegion(), "zone": l.GetZone(), "subzone": l.GetSubzone()}
	}
	if len(w.GetServices()) > 0 {
		svcs := []string{}
		for k := range w.GetServices() {
			svcs = append(svcs, k)
		}
		sort.Strings(svcs)
		out["services"] = svcs
	}
	if c := w.GetCapacity(); c != nil {
		out["capacity"] = c.GetValue()
	}
	return out
}

func serviceJSON(s *workloadapi.Service, eps map[string]any) map[string]any {
	vips := []string{}
	for _, a := range s.GetAddresses() {
		vips = append(vips, netAddr(a))
	}
	ports := map[string]uint32{}
	for _, p := range s.GetPorts() {
		ports[strconv.Itoa(int(p.GetServicePort()))] = p.GetTargetPort()
	}
	sans := s.GetSubjectAltNames()
	if sans == nil {
		sans = []string{}
	}
	out := map[string]any{"name": s.GetName(), "namespace": s.GetNamespace(), "hostname": s.GetHostname(), "vips": vips, "ports": ports,
		"endpoints": eps, "subjectAltNames": sans, "canonical": s.GetCanonical(), "visibility": "Public"}
	if g := gateway(s.GetWaypoint()); g != nil {
		out["waypoint"] = g
	}
	if lb := s.GetLoadBalancing(); lb != nil {
		var prefs []string
		for _, p := range lb.GetRoutingPreference() {
			n := strings.ToLower(p.String())
			prefs = append(prefs, strings.ToUpper(n[:1])+n[1:])
		}
		mode := map[workloadapi.LoadBalancing_Mode]string{workloadapi.LoadBalancing_STRICT: "Strict", workloadapi.LoadBalancing_FAILOVER: "Failover",
			workloadapi.LoadBalancing_PASSTHROUGH: "Passthrough"}[lb.GetMode()]
		if mode == "" {
			mode = "Standard"
		}
		health := "OnlyHealthy"
		if lb.GetHealthPolicy() == workloadapi.LoadBalancing_ALLOW_ALL {
			health = "AllowAll"
		}
		out["loadBalancer"] = map[string]any{"routingPreferences": nonNilStrings(prefs), "mode": mode, "healthPolicy": health}
	}
	return out
}

func nonNilStrings(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

func policyJSON(p *security.Authorization) map[string]any {
	scope := map[security.Scope]string{security.Scope_GLOBAL: "Global", security.Scope_NAMESPACE: "Namespace", security.Scope_WORKLOAD_SELECTOR: "WorkloadSelector"}[p.GetScope()]
	action := "Allow"
	if p.GetAction() == security.Action_DENY {
		action = "Deny"
	}
	rules := []any{}
	for _, g := range p.GetGroups() {
		clauses := []any{}
		for _, r := range g.GetRules() {
			matches := []any{}
			for _, m := range r.GetMatches() {
				matches = append(matches, matchJSON(m))
			}
			clauses = append(clauses, matches)
		}
		rules = append(rules, clauses)
	}
	return map[string]any{"name": p.GetName(), "namespace": p.GetNamespace(), "scope": scope, "action": action, "rules": rules, "dryRun": p.GetDryRun()}
}

func matchJSON(m *security.Match) map[string]any {
	out := map[string]any{}
	strs := func(k string, ms []*security.StringMatch) {
		if len(ms) == 0 {
			return
		}
		var l []any
		for _, s := range ms {
			switch {
			case s.GetPresence() != nil:
				l = append(l, map[string]any{"Presence": []any{}})
			case s.GetPrefix() != "":
				l = append(l, map[string]string{"Prefix": s.GetPrefix()})
			case s.GetSuffix() != "":
				l = append(l, map[string]string{"Suffix": s.GetSuffix()})
			default:
				l = append(l, map[string]string{"Exact": s.GetExact()})
			}
		}
		out[k] = l
	}
	accts := func(k string, ms []*security.ServiceAccountMatch) {
		if len(ms) == 0 {
			return
		}
		var l []any
		for _, a := range ms {
			l = append(l, map[string]string{"namespace": a.GetNamespace(), "serviceAccount": a.GetServiceAccount()})
		}
		out[k] = l
	}
	ips := func(k string, as []*security.Address) {
		if len(as) == 0 {
			return
		}
		var l []string
		for _, a := range as {
			l = append(l, ipOf(a.GetAddress())+"/"+strconv.Itoa(int(a.GetLength())))
		}
		out[k] = l
	}
	ports := func(k string, ps []uint32) {
		if len(ps) > 0 {
			out[k] = ps
		}
	}
	strs("namespaces", m.GetNamespaces())
	strs("notNamespaces", m.GetNotNamespaces())
	accts("serviceAccounts", m.GetServiceAccounts())
	accts("notServiceAccounts", m.GetNotServiceAccounts())
	strs("principals", m.GetPrincipals())
	strs("notPrincipals", m.GetNotPrincipals())
	ips("sourceIps", m.GetSourceIps())
	ips("notSourceIps", m.GetNotSourceIps())
	ips("destinationIps", m.GetDestinationIps())
	ips("notDestinationIps", m.GetNotDestinationIps())
	ports("destinationPorts", m.GetDestinationPorts())
	ports("notDestinationPorts", m.GetNotDestinationPorts())
	return out
}
