package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/kube"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/render"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/snapshot"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/ztunnel"
)

// ZtunnelOptions are what the ztunnel views share: which ztunnel (the one
// on a pod's node, a named ztunnel pod, the one on --node) or which file,
// the filters and the output.
type ZtunnelOptions struct {
	deps     Deps
	Filename string
	// Pod picks the ztunnel in a snapshot holding several: NS/POD, POD or
	// its node.
	Pod       string
	Output    string
	NoHeaders bool
	Selector  string
	// Node picks the ztunnel on that node; ZtunnelNamespace where to look
	// for ztunnel pods ("" for every namespace).
	Node             string
	ZtunnelNamespace string
	Filter           ztunnel.Filter
	// Raw leaves connection addresses as IPs.
	Raw bool
	// Watch re-reads the ztunnel every Interval and prints what changed.
	Watch    bool
	Interval time.Duration
	// cluster, when set, stands in for the API server and its transport
	// to pods (tests).
	cluster *cluster
	// namespace, when set, is the target's namespace instead of the kube
	// flags' (tests).
	namespace string
	// said: which ztunnel is read was said once (--watch reads it again).
	said bool
	// targetPod narrows workloads and connections to the pod TARGET names
	// (not a ztunnel), unless --workload is given.
	targetPod *ztunnel.Filter
	// all: the views are sections of "all", each with its header.
	all bool
}

// podFilter is the filter of the views of one pod's: workloads and
// connections.
func (o *ZtunnelOptions) podFilter() ztunnel.Filter {
	f := o.Filter
	if o.targetPod != nil && f.Workload == "" {
		f.Workload, f.Namespace = o.targetPod.Workload, o.targetPod.Namespace
	}
	return f
}

// ztunnelViews are the views of `kubectl mesh ztunnel`, in the order
// `all` shows them.
var ztunnelViews = []struct{ use, short string }{
	{"workloads", "Workloads ztunnel knows: address, node, the waypoint each uses, HBONE or TCP"},
	{"services", "Services ztunnel knows: VIPs, the waypoint each uses, healthy/all endpoints"},
	{"policies", "L4 authorization policies ztunnel enforces: action, scope, and with -o wide the rules"},
	{"certificates", "The certificates ztunnel holds for the identities on its node: state, validity, serial"},
	{"connections", "Open connections of the workloads on the ztunnel's node: inbound, outbound, HBONE or TCP"},
}

// NewZtunnelCmd returns "kubectl mesh ztunnel" and its views.
func NewZtunnelCmd(deps Deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "ztunnel",
		GroupID: groupInspect,
		Short:   "Ambient mode: what a node's ztunnel holds (workloads, services, policies, certificates, connections)",
		Long: `Read the config dump of Istio's ambient node proxy, ztunnel (its admin /config_dump on port
15000, through a port-forward), as tables or -o json|yaml. TARGET is a pod (or TYPE/NAME): the
ztunnel on its node is read, and workloads and connections are narrowed to it; or a ztunnel pod
itself. Without TARGET, --node picks the ztunnel on that node, else the first running ztunnel is
read (every ztunnel holds every workload; certificates and connections are its node's). With -f,
a saved ztunnel /config_dump (either shape ztunnel has written) or a snapshot.`,
		Example: `  # Which waypoint and protocol each workload uses
  kubectl mesh ztunnel workloads

  # The ztunnel on productpage's node: its certificates, and productpage's connections
  kubectl mesh ztunnel certificates deploy/productpage -n bookinfo
  kubectl mesh ztunnel connections deploy/productpage -n bookinfo

  # The L4 policies, with their rules, from a saved dump
  kubectl mesh ztunnel policies -f examples/ztunnel-config-dump.json -o wide`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	for _, v := range ztunnelViews {
		cmd.AddCommand(newZtunnelView(deps, v.use, v.short))
	}
	cmd.AddCommand(newZtunnelView(deps, "all", "Every view of a ztunnel, one after another"))
	return cmd
}

func newZtunnelView(deps Deps, use, short string) *cobra.Command {
	o := &ZtunnelOptions{deps: deps, Output: outTable, Interval: 2 * time.Second, cluster: deps.cluster}
	cmd := &cobra.Command{
		Use:   use + " [POD | TYPE/NAME | -l SELECTOR | -f FILE]",
		Short: short,
		Long: short + `, from ztunnel's admin /config_dump (port 15000, through a port-forward).

TARGET is a pod or TYPE/NAME: the ztunnel on its node is read (and workloads and connections
are narrowed to that pod), or a ztunnel pod itself. Without TARGET, --node picks the ztunnel on a
node, else the first running ztunnel is read. -f reads a saved dump (either shape ztunnel has
written: maps before 1.22, lists since) or a snapshot. -o json|yaml print the dump's own entries,
every field ztunnel wrote.`,
		Example: fmt.Sprintf(`  kubectl mesh ztunnel %[1]s
  kubectl mesh ztunnel %[1]s deploy/productpage -n bookinfo
  kubectl mesh ztunnel %[1]s --node worker-2 -o wide
  kubectl mesh ztunnel %[1]s -f examples/ztunnel-config-dump.json`, use),
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.validate(args); err != nil {
				return err
			}
			return o.run(c.Context(), use, args)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Filename, "filename", "f", "", "read a saved ztunnel /config_dump (JSON or YAML) or a snapshot instead of a live ztunnel; - for standard input")
	f.StringVar(&o.Pod, "pod", "", "with -f on a snapshot holding several ztunnels, the one to read: NAMESPACE/POD, POD or its node")
	f.StringVarP(&o.Output, "output", "o", o.Output, "output format: table, wide, json or yaml")
	f.BoolVar(&o.NoHeaders, "no-headers", false, "print tables without their header line")
	f.BoolVarP(&o.Watch, "watch", "w", false, "keep reading the ztunnel every --interval and print the rows that appear (+) and go (-), until Ctrl-C")
	f.DurationVar(&o.Interval, "interval", o.Interval, "with --watch, how often to read")
	f.StringVarP(&o.Selector, "selector", "l", "", "the ztunnel on the node of a Running and Ready pod matching this label selector")
	f.StringVar(&o.Node, "node", "", "read the ztunnel on this node")
	f.StringVar(&o.ZtunnelNamespace, "ztunnel-namespace", "", "the namespace of ztunnel's pods (default: any namespace, pods labelled "+ztunnel.Selector+")")
	f.StringVar(&o.Filter.Namespace, "workload-namespace", "", "only workloads, services, policies and connections of this namespace")
	f.StringVar(&o.Filter.Node, "workload-node", "", "only workloads on this node")
	f.StringVar(&o.Filter.Address, "address", "", "only the workload with this IP")
	f.StringVar(&o.Filter.Workload, "workload", "", "only this workload (NAME or NAME.NAMESPACE) in workloads and connections")
	if use == "connections" || use == "all" {
		f.StringVar(&o.Filter.Direction, "direction", "", "only inbound or outbound connections")
		f.BoolVar(&o.Raw, "raw", false, "show connection addresses as IPs, not the services and workloads that have them")
	}
	_ = cmd.RegisterFlagCompletionFunc("output", completeWords(outTable, outWide, outJSON, outYAML))
	_ = cmd.MarkFlagFilename("filename", "json", "yaml", "yml", "tar.gz", "tgz")
	cmd.ValidArgsFunction = completeTargets(deps.KubeFlags)
	return cmd
}

// run prints the view once, or with --watch what changes in it.
func (o *ZtunnelOptions) run(ctx context.Context, view string, args []string) error {
	once := func(w io.Writer) error {
		d, err := o.load(ctx, args)
		if err != nil {
			return err
		}
		if err := o.print(w, view, d); err != nil {
			return err
		}
		if !o.Watch {
			o.notes(view, d)
		}
		return nil
	}
	if !o.Watch {
		return once(o.deps.Out)
	}
	return watchLoop(ctx, o.deps, o.Interval, once)
}

func (o *ZtunnelOptions) validate(args []string) error {
	switch {
	case o.Output != outTable && o.Output != outWide && o.Output != outJSON && o.Output != outYAML:
		return usageError("unknown output format %q: use table, wide, json or yaml", o.Output)
	case o.Filename != "" && (len(args) > 0 || o.Selector != "" || o.Node != ""):
		return usageError("give either a target (or --node) or -f FILE, not both")
	case len(args) > 0 && o.Selector != "":
		return usageError("give a pod or -l SELECTOR, not both")
	case o.Watch && o.Filename != "":
		return usageError("--watch reads a live ztunnel again and again; a file does not change")
	case o.Watch && o.Interval < 100*time.Millisecond:
		return usageError("--interval %s is too short", o.Interval)
	case o.Watch && o.structured():
		return usageError("--watch prints table rows as they change; use -o table or wide")
	case o.Pod != "" && o.Filename == "":
		return usageError("--pod picks a ztunnel inside a snapshot given with -f; name a live pod as TARGET")
	case o.Node != "" && (len(args) > 0 || o.Selector != ""):
		return usageError("give a target or --node, not both: a target's ztunnel is the one on its node")
	}
	return oneOf("--direction", o.Filter.Direction, "", "inbound", "outbound")
}

func (o *ZtunnelOptions) structured() bool { return o.Output == outJSON || o.Output == outYAML }

func (o *ZtunnelOptions) tableOptions() render.TableOptions {
	return render.TableOptions{Wide: o.Output == outWide, NoHeaders: o.NoHeaders, Color: o.deps.Color(o.deps.Out), Width: o.deps.Width(o.deps.Out)}
}

// load reads the dump from the file or the live ztunnel.
func (o *ZtunnelOptions) load(ctx context.Context, args []string) (*ztunnel.Dump, error) {
	if o.Filename != "" {
		return o.loadFile()
	}
	data, err := o.fetch(ctx, args)
	if err != nil {
		return nil, err
	}
	d, err := ztunnel.Load(data)
	if err != nil {
		return nil, failure("%v", err)
	}
	return d, nil
}

func (o *ZtunnelOptions) loadFile() (*ztunnel.Dump, error) {
	var data []byte
	var err error
	if o.Filename == "-" {
		data, err = io.ReadAll(o.deps.In)
	} else {
		data, err = readInput(o.Filename)
	}
	if err != nil {
		return nil, err
	}
	if snapshot.IsBundle(data) {
		if data, err = o.fromBundle(data); err != nil {
			return nil, err
		}
	}
	d, err := ztunnel.Load(data)
	if err != nil {
		return nil, usageError("%s: %v", o.Filename, err)
	}
	return d, nil
}

// fromBundle is the ztunnel dump a snapshot holds: the one on --workload's
// node when several, else the only one.
func (o *ZtunnelOptions) fromBundle(data []byte) ([]byte, error) {
	b, err := snapshot.Read(data)
	if err != nil {
		return nil, usageError("%s: %v", o.Filename, err)
	}
	var names []string
	var found [][]byte
	for _, z := range b.Manifest.Ztunnels {
		d, ok := b.File(z.Dir() + "/" + snapshot.ZtunnelFile)
		if !ok {
			continue
		}
		name := z.Namespace + "/" + z.Pod
		names = append(names, name)
		if o.Pod == "" || o.Pod == name || o.Pod == z.Pod || o.Pod == z.Node {
			found = append(found, d)
		}
	}
	switch {
	case len(names) == 0:
		return nil, usageError("%s holds no ztunnel dump; take one with kubectl mesh snapshot on a pod in ambient mode", o.Filename)
	case len(found) == 1:
		return found[0], nil
	case len(found) == 0:
		return nil, usageError("%s holds no ztunnel %q; it holds %s", o.Filename, o.Pod, strings.Join(names, ", "))
	}
	return nil, usageError("%s holds %d ztunnel dumps (%s); name one with --pod NAMESPACE/POD or its node", o.Filename, len(names), strings.Join(names, ", "))
}

// fetch finds the ztunnel and reads its /config_dump.
func (o *ZtunnelOptions) fetch(ctx context.Context, args []string) ([]byte, error) {
	at, err := o.locate(ctx, args)
	if err != nil {
		return nil, err
	}
	return readZtunnel(ctx, o.deps.KubeFlags, o.cluster, at)
}

// readZtunnel reads a ztunnel's /config_dump through its admin port.
func readZtunnel(ctx context.Context, flags *kube.Flags, c *cluster, in ztunnel.Instance) ([]byte, error) {
	src := &podSource{flags: flags, target: Target{Kind: "pod", Name: in.Pod}, inNamespace: in.Namespace, adminPort: ztunnel.AdminPort, cluster: c}
	defer src.Close()
	if err := src.connect(ctx); err != nil {
		return nil, err
	}
	return src.Get(ctx, "/config_dump")
}

// runningZtunnel is the first running ztunnel pod on a node.
func runningZtunnel(ctx context.Context, c *cluster, node string) (ztunnel.Instance, error) {
	found, err := ztunnel.Find(ctx, c.client, "", node)
	if err != nil {
		return ztunnel.Instance{}, fmt.Errorf("listing ztunnel pods on node %s: %v", node, rootCause(err))
	}
	for _, in := range found {
		if in.Running {
			return in, nil
		}
	}
	return ztunnel.Instance{}, fmt.Errorf("no running ztunnel pod (%s) on node %s", ztunnel.Selector, node)
}

// locate is the ztunnel to read: the target's (a ztunnel pod, or the one on
// a pod's node, narrowing workloads and connections to that pod), the one
// on --node, or the first running one.
func (o *ZtunnelOptions) locate(ctx context.Context, args []string) (ztunnel.Instance, error) {
	c := o.cluster
	if c == nil {
		var err error
		if c, err = connectCluster(o.deps.KubeFlags); err != nil {
			return ztunnel.Instance{}, err
		}
	}
	node := o.Node
	if len(args) > 0 || o.Selector != "" {
		arg := ""
		if len(args) > 0 {
			arg = args[0]
		}
		t, err := ParseTarget(arg, o.Selector)
		if err != nil {
			return ztunnel.Instance{}, err
		}
		pod, _, err := resolvePod(ctx, c, o.deps.KubeFlags, o.namespace, t)
		if err != nil {
			return ztunnel.Instance{}, err
		}
		if ztunnel.IsZtunnel(pod) {
			return ztunnel.Instance{Namespace: pod.Namespace, Pod: pod.Name, Node: pod.Spec.NodeName}, nil
		}
		if pod.Spec.NodeName == "" {
			return ztunnel.Instance{}, failure("pod %s/%s is not scheduled on a node yet, so no ztunnel serves it", pod.Namespace, pod.Name)
		}
		node = pod.Spec.NodeName
		o.targetPod = &ztunnel.Filter{Workload: pod.Name, Namespace: pod.Namespace}
	}
	all, err := ztunnel.Find(ctx, c.client, o.ZtunnelNamespace, node)
	if isUnreachable(err) {
		return ztunnel.Instance{}, &unreachable{host: c.cfg.Host, err: err}
	}
	if err != nil {
		where := o.ZtunnelNamespace
		if where == "" {
			where = "all namespaces"
		}
		return ztunnel.Instance{}, apiError(err, "pods", where, ztunnel.Selector, "list pods")
	}
	var running []ztunnel.Instance
	for _, in := range all {
		if in.Running {
			running = append(running, in)
		}
	}
	if len(running) == 0 {
		on := ""
		if node != "" {
			on = " on node " + node
		}
		return ztunnel.Instance{}, failure("no running ztunnel pod (%s)%s; is ambient mode installed (istioctl install --set profile=ambient)? Give --ztunnel-namespace if its pods are labelled otherwise", ztunnel.Selector, on)
	}
	if node == "" && len(running) > 1 && !o.said {
		o.said = true
		fmt.Fprintf(o.deps.ErrOut, "reading ztunnel %s/%s (node %s) of %d; --node picks another\n", running[0].Namespace, running[0].Pod, running[0].Node, len(running))
	}
	return running[0], nil
}

// notes says on stderr what the rows leave out: services staged (their
// endpoints known, the service not yet), and what a local config adds.
func (o *ZtunnelOptions) notes(view string, d *ztunnel.Dump) {
	if o.structured() {
		return
	}
	if (view == "services" || view == "all") && len(d.Staged) > 0 {
		names := make([]string, 0, len(d.Staged))
		for s, n := range d.Staged {
			names = append(names, fmt.Sprintf("%s (%d endpoints)", s, n))
		}
		sort.Strings(names)
		fmt.Fprintf(o.deps.ErrOut, "staged: %d services whose endpoints ztunnel has but not the service itself (yet): %s\n", len(names), strings.Join(names, ", "))
	}
	if len(d.Static) > 0 {
		var parts []string
		for _, k := range []string{"workloads", "services", "policies"} {
			if n := d.Static[k]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, k))
			}
		}
		fmt.Fprintf(o.deps.ErrOut, "static: a local config file (not istiod) gives this ztunnel %s\n", strings.Join(parts, ", "))
	}
}

// print writes one view, or all of them.
func (o *ZtunnelOptions) print(w io.Writer, view string, d *ztunnel.Dump) error {
	if o.structured() {
		return writeStructured(w, o.structuredView(view, d), o.Output == outYAML)
	}
	if view != "all" {
		return o.table(w, view, d)
	}
	o.all = true
	for i, v := range ztunnelViews {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if err := o.table(w, v.use, d); err != nil {
			return err
		}
	}
	return nil
}

func (o *ZtunnelOptions) table(w io.Writer, view string, d *ztunnel.Dump) error {
	opts := o.tableOptions()
	var n, held int
	var write func() error
	switch view {
	case "workloads":
		rows := d.WorkloadRows(o.podFilter())
		n, held, write = len(rows), len(d.Workloads), func() error { return render.ZtunnelWorkloads(w, rows, opts) }
	case "services":
		rows := d.ServiceRows(o.Filter)
		n, held, write = len(rows), len(d.Services), func() error { return render.ZtunnelServices(w, rows, opts) }
	case "policies":
		rows := d.PolicyRows(o.Filter)
		n, held, write = len(rows), len(d.Policies), func() error { return render.ZtunnelPolicies(w, rows, opts) }
	case "certificates":
		rows := d.CertRows(o.deps.Now())
		n, held, write = len(rows), len(d.Certificates), func() error { return render.ZtunnelCertificates(w, rows, opts) }
	case "connections":
		rows := d.ConnectionRows(o.podFilter(), o.Raw)
		n, held, write = len(rows), len(d.States), func() error { return render.ZtunnelConnections(w, rows, opts) }
	default:
		return errors.New("unknown view " + view)
	}
	// Nothing to show, as kubectl says it: on stderr, the table left out
	// (a section of "all" keeps its header).
	if n == 0 && !o.all {
		what := "match the filters"
		if held == 0 {
			what = "are in the dump"
		}
		fmt.Fprintf(o.deps.ErrOut, "No resources found: no ztunnel %s %s (it holds %d)\n", view, what, held)
		return nil
	}
	return write()
}

// structuredView is what -o json|yaml print: the dump's own entries (every
// field ztunnel wrote) that the filters keep.
func (o *ZtunnelOptions) structuredView(view string, d *ztunnel.Dump) any {
	section := func(v string) any {
		switch v {
		case "workloads":
			out := []json.RawMessage{}
			for _, w := range d.SelectWorkloads(o.podFilter()) {
				out = append(out, w.Raw)
			}
			return out
		case "services":
			out := []json.RawMessage{}
			for _, s := range d.SelectServices(o.Filter) {
				out = append(out, s.Raw)
			}
			return out
		case "policies":
			out := []json.RawMessage{}
			for _, p := range d.SelectPolicies(o.Filter) {
				out = append(out, p.Raw)
			}
			return out
		case "certificates":
			if d.Certificates == nil {
				return []*ztunnel.Certificate{}
			}
			return d.Certificates
		}
		out := map[string]json.RawMessage{}
		for _, s := range d.SelectStates(o.podFilter()) {
			out[s.UID] = s.Raw
		}
		return out
	}
	if view != "all" {
		return section(view)
	}
	return map[string]any{"workloads": section("workloads"), "services": section("services"), "policies": section("policies"),
		"certificates": section("certificates"), "workloadState": section("connections")}
}
