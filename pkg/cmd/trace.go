package cmd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/kube"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/redact"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/render"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/trace"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// TraceOptions are the options of "kubectl mesh trace".
type TraceOptions struct {
	*ProxyOptions
	From     string
	Mode     string
	Address  string
	Port     uint32
	Protocol string
	TLS      string
	SNI      string
	ALPN     []string
	Headers  []string
	Method   string
	Path     string
	Random   int64
	URL      string
	ToPod    string
	// clientTrustDomain is the --from proxy's trust domain, read from its
	// workload certificate.
	clientTrustDomain string
	// ClientCert, ClientIdentity and SourceIP are what the client presents.
	ClientCert     string
	ClientIdentity string
	SourceIP       string
	// Ztunnel and Waypoint are an ambient trace's saved dumps: a ztunnel's
	// /config_dump and a waypoint's Envoy dump.
	Ztunnel  string
	Waypoint string

	req trace.Request
}

var traceKinds = []envoyadmin.Kind{envoyadmin.KindListener, envoyadmin.KindRouteConfig, envoyadmin.KindCluster, envoyadmin.KindEndpoints, envoyadmin.KindSecret}

// meshIdentity is the SPIFFE identity Istio gives a pod's workload
// certificate: spiffe://TRUST-DOMAIN/ns/NAMESPACE/sa/SERVICE-ACCOUNT.
func meshIdentity(pod *corev1.Pod, trustDomain string) string {
	if pod == nil {
		return ""
	}
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	return "spiffe://" + trustDomain + "/ns/" + pod.Namespace + "/sa/" + sa
}

// trustDomainOf is the trust domain of the proxy's own workload
// certificate (its secret "default"), "" when the dump does not show it.
func trustDomainOf(cfg *xds.Config) string {
	for _, s := range cfg.Secrets() {
		if s.Name != "default" {
			continue
		}
		for _, id := range s.Identity {
			if rest, ok := strings.CutPrefix(id, "spiffe://"); ok {
				td, _, _ := strings.Cut(rest, "/")
				return td
			}
		}
	}
	return ""
}

// NewTraceCmd returns the trace command.
func NewTraceCmd(deps Deps) *cobra.Command {
	o := &TraceOptions{ProxyOptions: newProxyOptions(deps), Random: -1}
	cmd := &cobra.Command{
		Use:     "trace [URL] (--from TARGET | -f DUMP)",
		GroupID: groupCompare,
		Short:   "Follow one request through a proxy's config: listener, chain, route, cluster, endpoints, and why",
		Long: `Follow one request the way Envoy matches it: the listener for its original destination
(15001 hands off to IP:PORT, else 0.0.0.0:PORT; inbound 15006; a gateway's port), the filter
chain (destination port and IP, SNI, transport, ALPN, source), the HTTP connection manager's
route configuration, the virtual host by Host header, the first route whose every criterion
matches (path, headers, query, gRPC, runtime fraction), and the cluster and its endpoints. Each
stage says why it was chosen and which candidates did not match and why. The outcome is
predicted with the response flag Envoy would log: forwarded, passthrough, blackhole, redirect,
direct response, or the failure (NR, NC, UH, a TLS or protocol error).

Before the router the HTTP filters run in order: RBAC (Istio's AuthorizationPolicy, naming the
policy and rule that decided), jwt_authn (a token given with -H is decoded, its signature not
verified), fault injection, CORS preflights. A chain that requires a client certificate checks
the client's (--client-cert, --client-identity).

The request is a URL (scheme, host, port and path, like curl's) and flags; --address is the
original destination IP (a Service's ClusterIP; without it, the one listener that serves the
URL's host, else exit 2), --mode says where it arrives. Where the outcome depends on what trace
cannot evaluate (ext_authz, Wasm, Lua, an identity or source not given, a random draw without
--random-value) the result is unknown, with what it depends on.

In Istio's ambient mode the request goes through ztunnels and waypoints: --from a pod in
ambient mode reads its node's ztunnel, the waypoint's Envoy and the destination node's
ztunnel live; offline, --ztunnel DUMP (and --waypoint DUMP, or one snapshot for both) with
--source-ip the client pod's IP. The client's ztunnel picks the destination (a Service VIP,
a workload, or passthrough), the waypoint or an endpoint, and HBONE or TCP; a waypoint is
traced as any Envoy from its main_internal listener; the destination's ztunnel applies the
L4 AuthorizationPolicies.

Exit status 1 when the request would fail, 4 when the result is unknown.`,
		Example: `  # A request from a saved sidecar dump to backend on 8080
  kubectl mesh trace -f examples/istio-sidecar.json http://backend.demo.svc.cluster.local:8080/api --address 10.96.173.1

  # As JSON, for scripts
  kubectl mesh trace -f examples/istio-sidecar.json http://frontend.demo:8080/ --address 10.96.86.22 -o json

  # Inbound to the pod's port 8080, over Istio mTLS
  kubectl mesh trace -f examples/istio-sidecar.json --mode inbound --address 10.244.1.4 --port 8080 --tls mtls --protocol http

  # From a pod: the ClusterIP is looked up, then the destination pod's inbound side is traced too
  kubectl mesh trace --from deploy/sleep http://reviews:9080/reviews/1 -H 'end-user: jason'

  # Is sleep allowed to POST to the ratings pod? (its AuthorizationPolicies decide)
  kubectl mesh trace --from ratings-v1-abc12 --mode inbound --address 10.244.1.9 --port 9080 --tls mtls -X POST \
    --client-identity spiffe://cluster.local/ns/default/sa/sleep

  # Ambient mode, from a saved ztunnel dump: sleep (10.244.2.58) to productpage
  kubectl mesh trace --ztunnel examples/ztunnel-config-dump.json --source-ip 10.244.2.58 http://productpage.default:9080/

  # The path as a graph
  kubectl mesh trace -f examples/istio-sidecar.json tcp://10.96.0.10:53 -o dot | dot -Tsvg > path.svg`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.URL = args[0]
			}
			if err := o.Complete(); err != nil {
				return err
			}
			return o.Run(c.Context())
		},
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	o.AddFlags(cmd)
	cmd.Flags().Lookup("output").Usage = "output format: table (a tree), json, yaml or dot (Graphviz)"
	cmd.Flags().StringVar(&o.From, "from", "", "the client: a pod, TYPE/NAME (deploy/NAME, svc/NAME, ...) or an ingress gateway, read live")
	cmd.Flags().StringVar(&o.Mode, "mode", "", "where the request arrives: outbound (from the app, 15001), inbound (to the app, 15006) or gateway (default: outbound, gateway for a router)")
	cmd.Flags().StringVar(&o.Address, "address", "", "the original destination IP (default: the URL's host when it is an IP, or its Service's ClusterIP with --from)")
	cmd.Flags().Uint32Var(&o.Port, "port", 0, "the destination port (default: the URL's)")
	cmd.Flags().StringVar(&o.Protocol, "protocol", "", "http, http2, grpc or tcp (default: from the URL's scheme)")
	cmd.Flags().StringVar(&o.TLS, "tls", "", "plaintext, tls or mtls (default: tls for https, else plaintext)")
	cmd.Flags().StringVar(&o.SNI, "sni", "", "the TLS server name (default: the URL's host, with TLS)")
	cmd.Flags().StringSliceVar(&o.ALPN, "alpn", nil, "ALPN protocols offered with TLS (default: from the protocol; Istio's istio-* with mTLS)")
	cmd.Flags().StringArrayVarP(&o.Headers, "header", "H", nil, "a request header, 'Name: value' (repeatable)")
	cmd.Flags().StringVarP(&o.Method, "request", "X", "GET", "the HTTP method")
	cmd.Flags().StringVar(&o.Path, "path", "", "the path, with its query string (default: the URL's, else /)")
	cmd.Flags().StringVar(&o.ToPod, "to-pod", "", "with --from, the destination pod whose inbound side to trace (default: the first healthy endpoint's pod)")
	cmd.Flags().Int64Var(&o.Random, "random-value", -1, "the random value Envoy would draw: picks weighted clusters, runtime fractions and fault percentages reproducibly")
	cmd.Flags().StringVar(&o.ClientCert, "client-cert", "", "the certificate the client presents in TLS: mesh (Istio's workload identity; the default with --tls mtls), none, or an SDS or file certificate's name")
	cmd.Flags().StringVar(&o.ClientIdentity, "client-identity", "", "the client certificate's identity (URI SAN), e.g. spiffe://cluster.local/ns/default/sa/sleep: what RBAC principals match")
	cmd.Flags().StringVar(&o.SourceIP, "source-ip", "", "the client's IP address, for RBAC source and remote IP rules; with --ztunnel, the client workload's")
	cmd.Flags().StringVar(&o.Ztunnel, "ztunnel", "", "ambient mode: trace through this saved ztunnel /config_dump (or a snapshot holding one) from the workload at --source-ip")
	cmd.Flags().StringVar(&o.Waypoint, "waypoint", "", "ambient mode, with --ztunnel: the saved Envoy dump of the waypoint the destination uses")
	_ = cmd.MarkFlagFilename("ztunnel", "json", "yaml", "tar.gz", "tgz")
	_ = cmd.MarkFlagFilename("waypoint", "json", "yaml", "tar.gz", "tgz")
	for flag, words := range map[string][]string{
		"mode": {trace.Outbound, trace.Inbound, trace.Gateway}, "protocol": {"http", "http2", "grpc", "tcp"},
		"tls": {"plaintext", "tls", "mtls"}, "output": {"table", "json", "yaml", "dot"},
	} {
		_ = cmd.RegisterFlagCompletionFunc(flag, completeWords(words...))
	}
	return cmd
}

// Complete builds the request from the URL and flags, and picks the source.
func (o *TraceOptions) Complete() error {
	switch o.Output {
	case outTable, outJSON, outYAML, "dot":
	default:
		return usageError("unknown output format %q: use table, json, yaml or dot", o.Output)
	}
	r, err := trace.Spec{URL: o.URL, Mode: o.Mode, Method: o.Method, Address: o.Address, Port: o.Port, Protocol: o.Protocol,
		TLS: o.TLS, SNI: o.SNI, ALPN: o.ALPN, Headers: o.Headers, Path: o.Path, Random: o.Random,
		ClientCert: o.ClientCert, ClientIdentity: o.ClientIdentity, SourceIP: o.SourceIP}.Request()
	if err != nil {
		return usageError("%v", err)
	}
	r.Now = o.Now
	o.req = r
	if o.ToPod != "" && o.From == "" {
		return usageError("--to-pod is for a live trace: give --from TARGET")
	}
	if o.Waypoint != "" && o.Ztunnel == "" {
		return usageError("--waypoint is the waypoint of an ambient trace: give the ztunnel's dump with --ztunnel too")
	}
	if o.Ztunnel != "" {
		switch {
		case o.From != "" || o.Filename != "":
			return usageError("--ztunnel traces from saved dumps: give neither --from nor -f with it")
		case o.SourceIP == "":
			return usageError("an ambient trace starts at a workload: give its pod IP with --source-ip")
		case o.Output == "dot":
			return usageError("-o dot is for sidecar traces; use table, json or yaml")
		}
		return nil
	}
	if o.From != "" {
		if o.Filename != "" {
			return usageError("give either --from TARGET or -f DUMP, not both")
		}
		target, err := ParseTarget(o.From, "")
		if err != nil {
			return err
		}
		if o.kubeFlags == nil {
			return usageError("no kube flags: cannot reach a cluster")
		}
		o.Source = &podSource{flags: o.kubeFlags, target: target, adminPort: o.AdminPort, cluster: o.cluster}
		return nil
	}
	if o.Filename == "" && o.Source == nil {
		return usageError("trace what? give --from TARGET (a live pod) or -f DUMP (a saved dump)")
	}
	if o.Source == nil {
		o.Source = &fileSource{path: o.Filename, pod: o.Pod, in: o.In}
	}
	return nil
}

// Run traces the request and prints the hops.
func (o *TraceOptions) Run(ctx context.Context) error {
	if o.Ztunnel != "" {
		doc := o.newDoc()
		if err := o.runAmbientOffline(ctx, doc); err != nil {
			return err
		}
		return o.finish(doc)
	}
	if o.From != "" {
		// A pod without a sidecar in ambient mode: through its ztunnel.
		pod, c, ambient, err := o.ambientClient(ctx)
		if err != nil {
			return err
		}
		if ambient {
			doc := o.newDoc()
			if err := o.runAmbientLive(ctx, pod, c, doc); err != nil {
				return err
			}
			return o.finish(doc)
		}
		// The pod is resolved already: the sidecar's source reads it by name.
		if src, ok := o.Source.(*podSource); ok {
			src.target, src.inNamespace, src.cluster, src.pod = Target{Kind: "pod", Name: pod.Name}, pod.Namespace, c, pod
		}
	}
	cfg, done, err := o.loadRequired(ctx, "listeners", traceKinds...)
	if err != nil {
		return err
	}
	defer done()
	doc := o.newDoc()
	// The proxy as its node names it (POD.NAMESPACE), else as the file does.
	proxy := proxyName(cfg)
	if proxy == "" {
		proxy = cfg.Dump.Name
	}
	if src, ok := o.Source.(*podSource); ok {
		proxy = src.name + "." + src.namespace
		liveHealth(ctx, src, cfg)
		if o.clientTrustDomain = trustDomainOf(cfg); o.clientTrustDomain == "" {
			o.clientTrustDomain = "cluster.local"
		}
		if err := o.resolve(ctx, src, doc); err != nil {
			return err
		}
	}
	if o.req.Mode == trace.Outbound && isRouter(cfg) && o.Mode == "" {
		o.req.Mode, doc.Request.Mode = trace.Gateway, trace.Gateway
	}
	if o.req.Address == "" && o.req.Mode == trace.Outbound {
		if err := o.inferDestination(cfg, doc); err != nil {
			return err
		}
	}
	o.req.Internal = o.req.Mode != trace.Gateway // inside the mesh, Envoy marks requests x-envoy-internal
	hop := trace.Trace(cfg, o.req)
	hop.Proxy = proxy
	doc.Hops = append(doc.Hops, hop)
	if src, ok := o.Source.(*podSource); ok && hop.Result == trace.Forwarded && o.req.Mode != trace.Inbound {
		if next := o.inboundHop(ctx, src, hop); next != nil {
			doc.Hops = append(doc.Hops, next)
		}
	}
	return o.finish(doc)
}

// newDoc starts the printed trace with the request.
func (o *TraceOptions) newDoc() *render.TraceDoc {
	doc := &render.TraceDoc{Request: render.TraceRequest{URL: o.URL, Method: o.req.Method, Address: o.req.Address, Port: o.req.Port,
		Protocol: o.req.Protocol, TLS: o.req.TLS, SNI: o.req.SNI, ALPN: o.req.ALPN, Host: o.req.Host, Path: o.req.Path, Mode: o.req.Mode, From: o.From}}
	if len(o.req.Headers) > 0 {
		doc.Request.Headers = map[string]string{}
		for k, v := range o.req.Headers {
			doc.Request.Headers[k] = strings.Join(v, ",")
		}
	}
	return doc
}

// finish prints the trace; the exit status says whether the request
// fails (1) or depends on what was not evaluated (4).
func (o *TraceOptions) finish(doc *render.TraceDoc) error {
	if err := o.print(doc); err != nil {
		return err
	}
	for _, h := range doc.Hops {
		switch {
		case trace.Failed(h.Result):
			return ErrNegative
		case h.Result == trace.Unknown:
			return ErrUnknown
		}
	}
	return nil
}

// scrub takes the request's credentials out of everything printed about
// it: credential headers' values (by name, or by a bearer or JWT look),
// the URL's password and credential query parameters, wherever a reason,
// note or rewritten path repeats them.
func (o *TraceOptions) scrub(doc *render.TraceDoc) {
	var secrets redact.Secrets
	for name, vs := range o.req.Headers {
		for _, v := range vs {
			if redact.Credential(name, v) {
				secrets.Add(v)
			}
		}
	}
	secrets.AddURL(o.URL)
	secrets.AddURL(o.req.Path)
	for name, v := range doc.Request.Headers {
		if redact.Credential(name, v) {
			doc.Request.Headers[name] = redact.Placeholder
		}
	}
	r := &doc.Request
	r.URL, r.Path, r.Host = secrets.Scrub(r.URL), secrets.Scrub(r.Path), secrets.Scrub(r.Host)
	for _, h := range doc.Hops {
		h.Location = secrets.Scrub(h.Location)
		for i := range h.Notes {
			h.Notes[i] = secrets.Scrub(h.Notes[i])
		}
		for i := range h.Rewrites {
			h.Rewrites[i] = secrets.Scrub(h.Rewrites[i])
		}
		for _, steps := range [][]trace.Step{h.Steps, h.Rejected} {
			for i := range steps {
				steps[i].Name, steps[i].Reason = secrets.Scrub(steps[i].Name), secrets.Scrub(steps[i].Reason)
			}
		}
	}
}

// inferDestination finds the original destination of a request given by
// host name, as its DNS lookup would: the one listener that serves the host
// on the port. Several, or none, is for the user to settle (exit 2): a
// guess would be a silent default.
func (o *TraceOptions) inferDestination(cfg *xds.Config, doc *render.TraceDoc) error {
	host := trace.Hostname(o.req.Host)
	cs := trace.Destinations(cfg, o.req.Host, o.req.Port)
	specific := cs[:0:0]
	for _, c := range cs {
		if c.Address != "0.0.0.0" && c.Address != "::" {
			specific = append(specific, c)
		}
	}
	switch {
	case len(specific) == 1:
		o.req.Address, doc.Request.Address = specific[0].Address, specific[0].Address
		doc.Request.Inferred = fmt.Sprintf("destination %s inferred: listener %s is the one that serves %s on port %d (%s)", specific[0].Address, specific[0].Listener, host, o.req.Port, specific[0].Why)
	case len(specific) > 1:
		return usageError("several listeners serve %s on port %d: %s; give the destination with --address", host, o.req.Port, trace.Describe(specific))
	case len(cs) > 0:
		doc.Request.Inferred = fmt.Sprintf("no destination address: the wildcard listener %s serves %s on port %d (%s)", cs[0].Listener, host, o.req.Port, cs[0].Why)
	default:
		return usageError("no listener of the proxy serves %s on port %d, so the destination cannot be inferred: give the IP its DNS lookup returns with --address (or trace --from a pod, which looks the Service up)", host, o.req.Port)
	}
	return nil
}

func (o *TraceOptions) print(doc *render.TraceDoc) error {
	o.scrub(doc)
	switch o.Output {
	case outJSON, outYAML:
		return writeStructured(o.Out, doc, o.Output == outYAML)
	case "dot":
		return render.TraceDot(o.Out, doc)
	}
	return render.Trace(o.Out, doc, o.Color != nil && o.Color(o.Out))
}

// liveHealth adds the proxy's /clusters?format=json to its config, so
// endpoints carry the health Envoy sees now (active checks, outlier
// ejections) rather than what EDS said. Without it, EDS is used.
func liveHealth(ctx context.Context, src *podSource, cfg *xds.Config) {
	data, err := src.Get(ctx, "/clusters?format=json")
	if err != nil {
		return
	}
	if dumps, err := envoyadmin.Load(data); err == nil {
		cfg.Dump.Merge(dumps[0])
	}
}

// proxyName names the proxy of a dump by its node ID (sidecar~IP~POD.NS~...).
func proxyName(cfg *xds.Config) string {
	if b := cfg.Bootstrap(); b != nil {
		if parts := strings.Split(b.NodeID, "~"); len(parts) >= 3 {
			return parts[2]
		}
		return b.NodeID
	}
	return ""
}

// isRouter tells a gateway's dump (node type router) from a sidecar's.
func isRouter(cfg *xds.Config) bool {
	b := cfg.Bootstrap()
	return b != nil && strings.HasPrefix(b.NodeID, "router~")
}

// resolve looks the URL's host up as a Service when no address was given:
// NAME, NAME.NAMESPACE or NAME.NAMESPACE.svc[.DOMAIN] gives its ClusterIP.
func (o *TraceOptions) resolve(ctx context.Context, src *podSource, doc *render.TraceDoc) error {
	if o.req.Address != "" || o.req.Host == "" {
		return nil
	}
	at, err := src.locate(ctx)
	if err != nil {
		return err
	}
	host := trace.Hostname(o.req.Host)
	ip, ns, name, err := at.pods.ServiceIP(ctx, host, src.namespace)
	var headless *kube.HeadlessError
	switch {
	case errors.As(err, &headless):
		fmt.Fprintf(o.ErrOut, "note: Service %s/%s is headless: give --address (a pod IP)\n", ns, name)
		return nil
	case err != nil:
		fmt.Fprintf(o.ErrOut, "note: %s is not a Service in namespace %s (%v); give --address\n", host, ns, rootCause(err))
		return nil
	}
	o.req.Address, doc.Request.Address = ip, ip
	return nil
}

// inboundHop follows the request into the destination pod: the endpoint
// the cluster would pick (the first healthy one), its pod's config, its
// inbound listener, to the application port.
func (o *TraceOptions) inboundHop(ctx context.Context, src *podSource, out *trace.Hop) *trace.Hop {
	at, err := src.locate(ctx)
	if err != nil {
		return nil
	}
	var addr string
	for _, e := range out.Endpoints {
		if e.Health == "HEALTHY" || e.Health == "UNKNOWN" {
			addr = e.Address
			break
		}
	}
	var pod *corev1.Pod
	if o.ToPod != "" {
		ns, name, found := strings.Cut(o.ToPod, "/")
		if !found {
			ns, name = src.namespace, o.ToPod
		}
		p, err := at.client.Pod(ctx, ns, name)
		if err != nil {
			out.Notes = append(out.Notes, fmt.Sprintf("--to-pod %s: %v", o.ToPod, rootCause(err)))
			return nil
		}
		pod = p
		_, port, _ := net.SplitHostPort(addr)
		for _, e := range out.Endpoints {
			if ip, p, err := net.SplitHostPort(e.Address); err == nil && ip == pod.Status.PodIP {
				port = p
			}
		}
		if port == "" {
			port = fmt.Sprint(o.req.Port)
		}
		addr = net.JoinHostPort(pod.Status.PodIP, port)
	}
	ip, port, err := net.SplitHostPort(addr) // [fd00::1]:8080 too
	if err != nil {
		return nil
	}
	if pod == nil {
		p, err := at.pods.PodByIP(ctx, ip)
		if err != nil || p == nil {
			out.Notes = append(out.Notes, fmt.Sprintf("endpoint %s is no pod the API server knows: the destination's side is not traced", addr))
			return nil
		}
		pod = p
	}
	dst := &podSource{flags: o.kubeFlags, target: Target{Kind: "pod", Name: pod.Name}, inNamespace: pod.Namespace, cluster: o.cluster}
	defer dst.Close()
	d, err := dst.Dump(ctx, traceKinds...)
	if err != nil {
		out.Notes = append(out.Notes, fmt.Sprintf("the destination pod %s/%s could not be read: %v", pod.Namespace, pod.Name, err))
		return nil
	}
	dcfg := xds.New(d)
	liveHealth(ctx, dst, dcfg)
	req := o.req
	req.Mode, req.Address = trace.Inbound, ip
	fmt.Sscan(port, &req.Port)
	if c := out.ClusterInfo; c != nil && strings.Contains(c.TLS, "ISTIO_MUTUAL") {
		req.TLS, req.SNI, req.ALPN = "mtls", c.SNI, trace.DefaultALPN(req.Protocol, "mtls")
		if req.ClientIdentity == "" {
			req.ClientIdentity = meshIdentity(at.pod, o.clientTrustDomain)
		}
	}
	hop := trace.Trace(dcfg, req)
	hop.Proxy = pod.Name + "." + pod.Namespace
	return hop
}
