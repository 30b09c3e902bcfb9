package cmd

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/render"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/trace"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/ztunnel"
)

// ambientPath is what an ambient trace reads: the client's ztunnel, the
// destination's (the same dump offline), and a waypoint's Envoy config.
type ambientPath struct {
	client *ztunnel.Dump
	// clientName names the client's ztunnel in the hops.
	clientName string
	// dest is the ztunnel on a destination workload's node.
	dest func(ctx context.Context, w *ztunnel.Workload) (*ztunnel.Dump, string, error)
	// waypoint is a waypoint pod's Envoy config; nil config: not given.
	waypoint func(ctx context.Context, w *ztunnel.Workload) (*xds.Config, error)
}

// waypointListener is where a waypoint's HBONE tunnels (terminated on
// 15008) hand the connection over: an internal listener whose chains
// match the original destination.
const waypointListener = "main_internal"

// traceAmbient follows the request through ztunnel and waypoint hops:
// the client's ztunnel, the waypoint (when the destination uses one), the
// destination's ztunnel, and the pod.
func (o *TraceOptions) traceAmbient(ctx context.Context, p ambientPath, src *ztunnel.Workload, doc *render.TraceDoc) error {
	if o.req.Address == "" {
		host := trace.Hostname(o.req.Host)
		svc := p.client.ServiceByHost(host)
		if svc == nil && src != nil && !strings.Contains(host, ".") {
			// A short name resolves in the client's namespace, as its DNS
			// search path has it.
			svc = p.client.ServiceByHost(host + "." + src.Namespace)
		}
		if svc == nil || svc.VIP() == "" {
			return usageError("%s is no service ztunnel knows; give its address with --address", trace.Hostname(o.req.Host))
		}
		ip := svc.VIP()
		o.req.Address, doc.Request.Address = ip, ip
		doc.Request.Inferred = fmt.Sprintf("destination %s inferred: the VIP of service %s/%s, as ztunnel's DNS proxy answers", ip, svc.Namespace, svc.Name)
	}
	identity := o.req.ClientIdentity
	if identity == "" && src != nil {
		identity = src.Identity()
	}
	srcIP := o.req.SourceIP
	if srcIP == "" && src != nil && len(src.IPs) > 0 {
		srcIP = src.IPs[0]
	}
	conn := ztunnel.Conn{SrcIP: srcIP, SrcIdentity: identity, DstIP: o.req.Address, DstPort: o.req.Port, Random: o.req.Random}
	out, next := p.client.Outbound(p.clientName, src, conn)
	doc.Hops = append(doc.Hops, out)
	if trace.Failed(out.Result) || next.Kind == "" || next.Kind == "passthrough" {
		return nil
	}
	if next.Kind == "waypoint" {
		wp := o.waypointHop(ctx, p, next, identity, srcIP)
		doc.Hops = append(doc.Hops, wp)
		if wp.Result != trace.Forwarded {
			return nil
		}
		// The waypoint sends the request on to the endpoint its cluster
		// picked, over HBONE, as itself.
		ip, port := firstEndpoint(wp)
		dst := p.client.WorkloadByIP(ip)
		if dst == nil {
			wp.Notes = append(wp.Notes, fmt.Sprintf("endpoint %s is no workload ztunnel knows: the destination's side is not traced", net.JoinHostPort(ip, strconv.Itoa(int(port)))))
			return nil
		}
		identity, srcIP = next.Workload.Identity(), next.Address
		next = ztunnel.Next{Kind: "workload", Workload: dst, Address: ip, Port: ztunnel.HBONEPort, Target: net.JoinHostPort(ip, strconv.Itoa(int(port))), Protocol: dst.Protocol}
	}
	if next.Protocol != "HBONE" {
		return nil // plain TCP to a pod outside ambient mode: no ztunnel takes it
	}
	dz, name, err := p.dest(ctx, next.Workload)
	if err != nil {
		out.Notes = append(out.Notes, fmt.Sprintf("the destination's ztunnel could not be read (%v): its authorization is not evaluated", err))
		h := &trace.Hop{Proxy: "ztunnel", Direction: "inbound", Result: trace.Unknown, UnknownDependsOn: "the destination's ztunnel (" + err.Error() + ")",
			Notes: []string{}, Rejected: []trace.Rejection{}, Steps: []trace.Step{}, Endpoints: []trace.Endpoint{}}
		doc.Hops = append(doc.Hops, h)
		return nil
	}
	host, portStr, _ := net.SplitHostPort(next.Target)
	port, _ := strconv.Atoi(portStr)
	in := dz.Inbound(name, next.Workload, ztunnel.Conn{SrcIP: srcIP, SrcIdentity: identity, DstIP: host, DstPort: uint32(port)})
	doc.Hops = append(doc.Hops, in)
	return nil
}

// waypointHop traces the request inside the waypoint: its HBONE tunnel
// ends on 15008 and the connection reaches main_internal with the
// original destination, where the chain, routes, L7 policies and cluster
// are those of any Envoy trace.
func (o *TraceOptions) waypointHop(ctx context.Context, p ambientPath, next ztunnel.Next, identity, srcIP string) *trace.Hop {
	name := next.Workload.String()
	unknown := func(why string) *trace.Hop {
		return &trace.Hop{Proxy: name, Direction: "waypoint", Result: trace.Unknown, UnknownDependsOn: why,
			Notes: []string{}, Rejected: []trace.Rejection{}, Steps: []trace.Step{}, Endpoints: []trace.Endpoint{}}
	}
	if p.waypoint == nil {
		return unknown("the waypoint's config: give its dump with --waypoint FILE (kubectl mesh config " + name + " -o json)")
	}
	cfg, err := p.waypoint(ctx, next.Workload)
	if err != nil {
		return unknown("the waypoint's config (" + err.Error() + ")")
	}
	req := o.req
	req.Mode, req.Listener = trace.Inbound, waypointListener
	req.TLS, req.SNI, req.ALPN = "plaintext", "", nil // the tunnel's mTLS ended on 15008
	req.ClientIdentity, req.SourceIP = identity, srcIP
	h := trace.Trace(cfg, req)
	h.Proxy, h.Direction = name, "waypoint"
	return h
}

// firstEndpoint is the endpoint the waypoint's cluster would pick: the
// first healthy one, as for a sidecar's round robin.
func firstEndpoint(h *trace.Hop) (string, uint32) {
	for _, e := range h.Endpoints {
		if e.Health == "HEALTHY" || e.Health == "UNKNOWN" {
			addr := e.Address
			// A waypoint reaches pods through its connect_originate internal
			// listener: envoy://connect_originate/IP:PORT.
			if rest, ok := strings.CutPrefix(addr, "envoy://"); ok {
				addr = rest[strings.LastIndexByte(rest, '/')+1:]
			}
			host, port, err := net.SplitHostPort(addr)
			if err == nil {
				p, _ := strconv.Atoi(port)
				return host, uint32(p)
			}
		}
	}
	return "", 0
}

// offlineAmbient is the path read from files: one ztunnel dump (every
// ztunnel holds every workload and policy) and a waypoint's Envoy dump.
func (o *TraceOptions) offlineAmbient() (ambientPath, error) {
	zo := &ZtunnelOptions{deps: o.deps, Filename: o.Ztunnel}
	d, err := zo.loadFile()
	if err != nil {
		return ambientPath{}, err
	}
	p := ambientPath{client: d, clientName: "ztunnel",
		dest: func(context.Context, *ztunnel.Workload) (*ztunnel.Dump, string, error) { return d, "ztunnel", nil }}
	if o.Waypoint != "" {
		// A snapshot holds the waypoint as a proxy: the one ztunnel sends
		// the request to is picked by its name.
		p.waypoint = func(ctx context.Context, w *ztunnel.Workload) (*xds.Config, error) {
			src := &fileSource{path: o.Waypoint, in: o.In}
			if o.Waypoint == o.Ztunnel {
				src.pod = w.Namespace + "/" + w.Name
			}
			dump, err := src.Dump(ctx, traceKinds...)
			if err != nil {
				return nil, err
			}
			return xds.New(dump), nil
		}
	}
	return p, nil
}

// runAmbientOffline traces through the ztunnel dump of --ztunnel (and the
// waypoint of --waypoint), from the workload at --source-ip.
func (o *TraceOptions) runAmbientOffline(ctx context.Context, doc *render.TraceDoc) error {
	p, err := o.offlineAmbient()
	if err != nil {
		return err
	}
	src := p.client.WorkloadByIP(o.req.SourceIP)
	return o.traceAmbient(ctx, p, src, doc)
}

// admin is a source for a pod's admin port.
func (o *TraceOptions) admin(ns, pod string, port int) *podSource {
	return &podSource{flags: o.kubeFlags, target: Target{Kind: "pod", Name: pod}, inNamespace: ns, adminPort: port, cluster: o.cluster}
}

// ambientClient resolves the --from pod and tells whether it is in ambient
// mode (no sidecar, its traffic captured by its node's ztunnel).
func (o *TraceOptions) ambientClient(ctx context.Context) (pod *corev1.Pod, c *cluster, ambient bool, err error) {
	t, err := ParseTarget(o.From, "")
	if err != nil {
		return nil, nil, false, err
	}
	pod, c, err = resolvePod(ctx, o.cluster, o.kubeFlags, "", t)
	if err != nil {
		return nil, nil, false, err
	}
	o.cluster = c
	return pod, c, !hasContainer(pod, istioProxy) && inAmbient(pod), nil
}

// runAmbientLive traces from an ambient pod: its node's ztunnel, the
// waypoint's Envoy and the destination node's ztunnel, each read live.
func (o *TraceOptions) runAmbientLive(ctx context.Context, pod *corev1.Pod, c *cluster, doc *render.TraceDoc) error {
	dumps := map[string]*ztunnel.Dump{}
	names := map[string]string{}
	ztunnelOn := func(ctx context.Context, node string) (*ztunnel.Dump, string, error) {
		if d, ok := dumps[node]; ok {
			return d, names[node], nil
		}
		in, err := runningZtunnel(ctx, c, node)
		if err != nil {
			return nil, "", err
		}
		data, err := readZtunnel(ctx, o.kubeFlags, c, in)
		if err != nil {
			return nil, "", err
		}
		d, err := ztunnel.Load(data)
		if err != nil {
			return nil, "", fmt.Errorf("ztunnel %s/%s: %v", in.Namespace, in.Pod, err)
		}
		dumps[node], names[node] = d, "ztunnel "+in.Pod+" (node "+node+")"
		return d, names[node], nil
	}
	client, name, err := ztunnelOn(ctx, pod.Spec.NodeName)
	if err != nil {
		return failure("pod %s/%s is in ambient mode, but its node's ztunnel could not be read: %v", pod.Namespace, pod.Name, err)
	}
	p := ambientPath{client: client, clientName: name,
		dest: func(ctx context.Context, w *ztunnel.Workload) (*ztunnel.Dump, string, error) {
			if w.Node == "" {
				return client, name, nil
			}
			return ztunnelOn(ctx, w.Node)
		},
		waypoint: func(ctx context.Context, w *ztunnel.Workload) (*xds.Config, error) {
			src := o.admin(w.Namespace, w.Name, istioAdminPort)
			defer src.Close()
			d, err := src.Dump(ctx, traceKinds...)
			if err != nil {
				return nil, err
			}
			return xds.New(d), nil
		}}
	src := client.WorkloadNamed(pod.Namespace, pod.Name)
	if src == nil && pod.Status.PodIP != "" {
		src = client.WorkloadByIP(pod.Status.PodIP)
	}
	if src == nil {
		return failure("pod %s/%s is labelled for ambient mode but its node's ztunnel does not know it yet; see kubectl mesh ambient -n %s", pod.Namespace, pod.Name, pod.Namespace)
	}
	if o.req.Address == "" && o.req.Host != "" {
		if ip, _, _, err := c.pods.ServiceIP(ctx, trace.Hostname(o.req.Host), pod.Namespace); err == nil && ip != "" {
			o.req.Address, doc.Request.Address = ip, ip
		}
	}
	return o.traceAmbient(ctx, p, src, doc)
}
