package cmd

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/diff"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/pilot"
)

// DiffOptions are the options of "kubectl mesh diff".
type DiffOptions struct {
	deps           Deps
	Files          []string
	Pod            string
	Kinds          []string
	AllFields      bool
	Static         bool
	Output         string
	AdminPort      int
	IstioNamespace string

	sides [2]side
}

// side is one side of a comparison: where its dump comes from and its label.
type side struct {
	label  string
	source DumpSource
}

// NewDiffCmd returns the diff command.
func NewDiffCmd(deps Deps) *cobra.Command {
	o := &DiffOptions{deps: deps, Output: outTable, IstioNamespace: "istio-system"}
	cmd := &cobra.Command{
		Use:     "diff (POD | A B | -f A -f B | POD -f SNAPSHOT)",
		GroupID: groupCompare,
		Short:   "Compare what istiod intends for a proxy with what it holds, or two proxies, semantically",
		Long: `Compare two proxies' config resource by resource: listeners, routes, clusters, endpoints and
secrets (by their certificates' facts, never keys). Resources are matched by name; lists whose
order Envoy ignores (filter chains, virtual hosts, domains, endpoints) are compared as sets and
lists whose order matters (routes, filters) in order. Each resource is reported added, removed or
changed, with the field paths that changed. Every field is compared, in types this build does
not link too (Envoy v2 types, named by their v3 successors, and Istio's own filters); a message
held as raw bytes on one side and as fields on the other is reported as not comparable, never
as a match. Versions and update times, which differ between any two fetches, are ignored unless
--all-fields. Against istiod's view (diff POD, or a file of istiod's /debug/config_dump) only
what istiod sends is compared, as istioctl does: --static adds static resources and the bootstrap.

  diff POD              what istiod intends for the pod (its /debug/config_dump) against what the
                        pod's Envoy holds: the first question when a change does not take effect
  diff A B              two pods, e.g. two replicas of one Deployment
  diff -f A -f B        two saved dumps (or snapshots, with --pod)
  diff POD -f SNAPSHOT  a pod now against a saved dump of it

Exit status 1 when they differ.`,
		Example: `  # Is the sidecar in sync with istiod?
  kubectl mesh diff frontend-7d9c5

  # Two replicas that behave differently
  kubectl mesh diff frontend-7d9c5 frontend-x8k2p --kind routes,clusters

  # Two saved dumps
  kubectl mesh diff -f examples/istio-waypoint.json -f examples/istio-waypoint-changed.json

  # Only the listeners, as JSON
  kubectl mesh diff -f examples/istio-waypoint.json -f examples/istio-waypoint-changed.json --kind listeners -o json

  # A pod now against yesterday's snapshot
  kubectl mesh diff deploy/frontend -f incident.tar.gz --pod demo/frontend-7d9c5`,
		Args: cobra.MaximumNArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.Complete(args); err != nil {
				return err
			}
			return o.Run(c.Context())
		},
		ValidArgsFunction: completeTargets(deps.KubeFlags),
	}
	cmd.Flags().StringArrayVarP(&o.Files, "filename", "f", nil, "a saved dump or snapshot to compare (twice for two files)")
	cmd.Flags().StringVar(&o.Pod, "pod", "", "in a file holding several proxies, the one to compare")
	cmd.Flags().StringSliceVar(&o.Kinds, "kind", nil, "only these kinds: listeners, routes, clusters, endpoints, secrets, bootstrap")
	cmd.Flags().BoolVar(&o.AllFields, "all-fields", false, "compare versions and update times too")
	cmd.Flags().BoolVar(&o.Static, "static", false, "against istiod's view, compare the proxy's static resources and bootstrap too (istiod sends only dynamic ones)")
	cmd.Flags().StringVarP(&o.Output, "output", "o", o.Output, "output format: table or json (the list of changes)")
	cmd.Flags().IntVar(&o.AdminPort, "admin-port", 0, "Envoy admin port of the pods, for Envoys other than Istio's sidecar")
	cmd.Flags().StringVar(&o.IstioNamespace, "istio-namespace", o.IstioNamespace, "the namespace of istiod, for diff POD")
	_ = cmd.MarkFlagFilename("filename", "json", "yaml", "yml", "tar.gz", "tgz")
	_ = cmd.RegisterFlagCompletionFunc("kind", completeWords(diff.KindOrder...))
	_ = cmd.RegisterFlagCompletionFunc("output", completeWords(outTable, outJSON))
	return cmd
}

// Complete picks the two sides from the arguments and files.
func (o *DiffOptions) Complete(args []string) error {
	if o.Output != outTable && o.Output != outJSON {
		return usageError("unknown output format %q: use table or json", o.Output)
	}
	for _, k := range o.Kinds {
		if _, ok := diff.Kinds[k]; !ok {
			return usageError("--kind %q: use %s", k, strings.Join(diff.KindOrder, ", "))
		}
	}
	file := func(path string) side {
		return side{label: path, source: &fileSource{path: path, pod: o.Pod, anyPod: true, in: o.deps.In}}
	}
	pod := func(arg string) (side, error) {
		t, err := ParseTarget(arg, "")
		if err != nil {
			return side{}, err
		}
		if o.deps.KubeFlags == nil {
			return side{}, usageError("no kube flags: cannot reach a cluster")
		}
		return side{label: arg, source: &podSource{flags: o.deps.KubeFlags, target: t, adminPort: o.AdminPort}}, nil
	}
	var err error
	switch {
	case len(args) == 0 && len(o.Files) == 2:
		o.sides = [2]side{file(o.Files[0]), file(o.Files[1])}
	case len(args) == 1 && len(o.Files) == 1:
		if o.sides[1], err = pod(args[0]); err != nil {
			return err
		}
		o.sides[0] = file(o.Files[0])
	case len(args) == 2 && len(o.Files) == 0:
		if o.sides[0], err = pod(args[0]); err != nil {
			return err
		}
		if o.sides[1], err = pod(args[1]); err != nil {
			return err
		}
	case len(args) == 1 && len(o.Files) == 0:
		if o.sides[1], err = pod(args[0]); err != nil {
			return err
		}
		o.sides[0] = side{label: "istiod", source: &istiodSource{proxy: o.sides[1].source.(*podSource), namespace: o.IstioNamespace}}
		if len(o.Kinds) == 0 {
			// What istiod's dump holds: a kind the proxy lacks is a difference.
			o.Kinds = []string{"clusters", "listeners", "routes"}
		}
	default:
		return usageError("compare what with what? give POD, two pods, -f A -f B, or POD -f SNAPSHOT")
	}
	return nil
}

// Run fetches both sides and prints what differs.
func (o *DiffOptions) Run(ctx context.Context) error {
	var kinds []envoyadmin.Kind
	for _, k := range o.kindNames() {
		kinds = append(kinds, diff.Kinds[k])
	}
	var dumps [2]*envoyadmin.Dump
	// The proxy first: diff POD asks istiod for the proxy that pod is.
	for _, i := range []int{1, 0} {
		d, err := o.sides[i].source.Dump(ctx, kinds...)
		if err != nil {
			return err
		}
		defer o.sides[i].source.Close()
		dumps[i] = d
	}
	_, fromIstiod := o.sides[0].source.(*istiodSource)
	intent := fromIstiod || diff.FromIstiod(dumps[0])
	if intent && !o.Static {
		fmt.Fprintf(o.deps.ErrOut, "note: %s is istiod's view: only what istiod sends (dynamic resources) is compared; --static compares static resources and the bootstrap too\n", o.sides[0].label)
	}
	evict := func() { o.sides[0].source.Evict(); o.sides[1].source.Evict() }
	res := diff.Compare(dumps[0], dumps[1], diff.Options{Kinds: o.Kinds, AllFields: o.AllFields, LeftIsIntent: intent, Static: o.Static, Done: evict})
	if o.Output == outJSON {
		if err := writeStructured(o.deps.Out, map[string]any{"left": o.sides[0].label, "right": o.sides[1].label, "changes": res.Changes,
			"compared": res.Compared, "one_sided": res.OneSided}, false); err != nil {
			return err
		}
	} else {
		o.print(res)
	}
	if !res.Equal() {
		return ErrNegative
	}
	return nil
}

func (o *DiffOptions) kindNames() []string {
	if len(o.Kinds) > 0 {
		return o.Kinds
	}
	return diff.KindOrder
}

// print writes one line per kind, in istioctl's words ("Clusters Match",
// "Clusters Don't Match"), then each change.
func (o *DiffOptions) print(res *diff.Result) {
	w := o.deps.Out
	fmt.Fprintf(w, "--- %s\n+++ %s\n", o.sides[0].label, o.sides[1].label)
	byKind := map[string][]diff.Change{}
	for _, c := range res.Changes {
		byKind[c.Kind] = append(byKind[c.Kind], c)
	}
	var kinds []string
	for k := range res.Compared {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return kindRank(kinds[i]) < kindRank(kinds[j]) })
	for k, which := range res.OneSided {
		label := o.sides[0].label
		if which == "right" {
			label = o.sides[1].label
		}
		fmt.Fprintf(o.deps.ErrOut, "note: only %s has %s: not compared (--kind %s compares them)\n", label, k, k)
	}
	for _, k := range kinds {
		title := strings.ToUpper(k[:1]) + k[1:]
		n := res.Compared[k]
		cs := byKind[k]
		if len(cs) == 0 {
			fmt.Fprintf(w, "%s Match (%d)\n", title, n[0])
			continue
		}
		fmt.Fprintf(w, "%s Don't Match (%d differ; %d and %d)\n", title, len(cs), n[0], n[1])
		for _, c := range cs {
			switch c.Change {
			case "added":
				fmt.Fprintf(w, "  + %s (only in %s)\n", c.Name, o.sides[1].label)
			case "removed":
				fmt.Fprintf(w, "  - %s (only in %s)\n", c.Name, o.sides[0].label)
			default:
				fmt.Fprintf(w, "  ~ %s\n", c.Name)
				for _, p := range c.Paths {
					fmt.Fprintf(w, "      %s\n", p)
				}
			}
		}
	}
}

func kindRank(k string) int {
	for i, n := range diff.KindOrder {
		if n == k {
			return i
		}
	}
	return len(diff.KindOrder)
}

// istiodSource is what istiod holds for a proxy: its config dump from
// /debug/config_dump?proxyID=POD.NAMESPACE on the debug port of the istiod
// instance the proxy is connected to (the one that knows it).
type istiodSource struct {
	proxy     *podSource
	namespace string
	tunnel    *podSource
}

func (s *istiodSource) Dump(ctx context.Context, _ ...envoyadmin.Kind) (*envoyadmin.Dump, error) {
	at, err := s.proxy.locate(ctx)
	if err != nil {
		return nil, err
	}
	c := &cluster{cfg: at.cfg, client: at.client}
	client, pod, ns := c.client, s.proxy.name, s.proxy.namespace
	instances, err := c.runningIstiod(ctx, s.namespace, "")
	if err != nil {
		return nil, err
	}
	var tried []string
	for _, in := range instances {
		src := &podSource{flags: s.proxy.flags, target: Target{Kind: "pod", Name: in.Pod}, adminPort: pilot.DebugPort, inNamespace: in.Namespace}
		if err := src.connect(ctx); err != nil {
			tried = append(tried, in.Pod+": "+err.Error())
			continue
		}
		data, err := src.Get(ctx, pilot.ConfigDumpPath(pod, ns))
		if err != nil {
			// istiod's HTTP debug may be off: its xDS debug type.
			src.Close()
			r, xerr := xdsDebug(ctx, s.proxy.flags, client, in, pilot.DebugConfigDump, []string{pod + "." + ns})
			if xerr == nil {
				data, xerr = pilot.ConfigDumpFromXDS(r)
			}
			if xerr != nil {
				tried = append(tried, in.Pod+": "+err.Error()+"; over xDS: "+xerr.Error())
				continue
			}
		}
		s.tunnel = src
		dumps, err := envoyadmin.Load(data)
		if err != nil {
			return nil, fmt.Errorf("istiod %s: its config for %s.%s: %w", in.Pod, pod, ns, err)
		}
		return dumps[0], nil
	}
	return nil, failure("no istiod instance holds config for %s.%s (is the proxy connected?): %s", pod, ns, strings.Join(tried, "; "))
}

func (s *istiodSource) Evict() {}

func (s *istiodSource) Close() {
	if s.tunnel != nil {
		s.tunnel.Close()
	}
}
