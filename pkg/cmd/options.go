package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/kube"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/render"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// Output formats of the listing commands.
const (
	outTable = "table"
	outWide  = "wide"
	outJSON  = "json"
	outYAML  = "yaml"
)

// ProxyOptions are what every command that reads one proxy's config shares:
// where the config comes from and how to print it.
type ProxyOptions struct {
	genericiooptions.IOStreams

	Filename string // -f: a saved dump, "-" for standard input
	Pod      string // --pod: the proxy inside a multi-proxy file
	Output   string // -o
	// NoHeaders leaves out table headers, for scripts (--no-headers).
	NoHeaders bool

	// AdminPort is the Envoy admin port of a live pod (--admin-port); 0 means
	// Istio's sidecar, the istio-proxy container on 15000.
	AdminPort int
	// Selector picks the pod by labels (-l), a ready one.
	Selector  string
	kubeFlags *kube.Flags

	// Source is where the dump comes from; Complete sets it, tests may set it first.
	Source DumpSource
	// Now is the clock for certificate validity; tests fix it.
	Now func() time.Time
	// Color tells whether a stream may be coloured.
	Color func(io.Writer) bool
	// source, when set, reads a named target's config (see Deps.source).
	source func(target Target) DumpSource
	// Watch re-reads the proxy every Interval and prints what changed.
	Watch    bool
	Interval time.Duration
	deps     Deps
	// cluster, when set, is the API server and transport to use instead
	// of the kube flags' (Deps.cluster).
	cluster *cluster
}

func newProxyOptions(deps Deps) *ProxyOptions {
	return &ProxyOptions{IOStreams: deps.IOStreams, Output: outTable, Now: deps.Now, kubeFlags: deps.KubeFlags, Color: deps.Color,
		source: deps.source, Interval: 2 * time.Second, deps: deps, cluster: deps.cluster}
}

// AddFlags registers the shared flags on cmd.
func (o *ProxyOptions) AddFlags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&o.Filename, "filename", "f", o.Filename, "read a saved Envoy dump instead of a live pod: /config_dump (JSON or YAML, with or without EDS), /clusters?format=json, egctl or istioctl output; - for standard input")
	cmd.Flags().StringVar(&o.Pod, "pod", o.Pod, "with -f on a file holding several proxies, the one to show (as named in the file)")
	cmd.Flags().StringVarP(&o.Output, "output", "o", o.Output, "output format: table, wide, json or yaml")
	cmd.Flags().BoolVar(&o.NoHeaders, "no-headers", false, "print tables without their header line")
	cmd.Flags().StringVarP(&o.Selector, "selector", "l", "", "read a Running and Ready pod matching this label selector")
	cmd.Flags().BoolVarP(&o.Watch, "watch", "w", false, "keep reading the live proxy every --interval and print the rows that appear (+) and go (-), until Ctrl-C")
	cmd.Flags().DurationVar(&o.Interval, "interval", o.Interval, "with --watch, how often to read")
	cmd.Flags().IntVar(&o.AdminPort, "admin-port", 0, "Envoy admin port of the pod, for Envoys other than Istio's sidecar (Envoy Gateway and Consul 19000, Kuma 9901); default: the istio-proxy container's 15000")
	_ = cmd.RegisterFlagCompletionFunc("output", completeWords(outTable, outWide, outJSON, outYAML))
	_ = cmd.MarkFlagFilename("filename", "json", "yaml", "yml", "tar.gz", "tgz")
	if cmd.ValidArgsFunction == nil {
		cmd.ValidArgsFunction = completeTargets(o.kubeFlags)
	}
}

// Complete picks the dump source from the flags and arguments.
func (o *ProxyOptions) Complete(args []string) error {
	if o.Source != nil {
		return nil
	}
	switch {
	case o.Filename != "" && (len(args) > 0 || o.Selector != ""):
		return usageError("give either a pod or -f FILE, not both")
	case o.Filename != "":
		o.Source = &fileSource{path: o.Filename, pod: o.Pod, in: o.In}
	case len(args) == 0 && o.Selector == "":
		return usageError("name a pod (POD, TYPE/NAME such as deploy/NAME or svc/NAME, or -l SELECTOR), or read a saved dump with -f FILE")
	case len(args) > 1:
		return usageError("name one pod, not %d", len(args))
	default:
		arg := ""
		if len(args) == 1 {
			arg = args[0]
		}
		target, err := ParseTarget(arg, o.Selector)
		if err != nil {
			return err
		}
		if o.kubeFlags == nil {
			return usageError("no kube flags: cannot reach a cluster")
		}
		if o.source != nil {
			o.Source = o.source(target)
			return nil
		}
		o.Source = &podSource{flags: o.kubeFlags, target: target, adminPort: o.AdminPort, cluster: o.cluster}
	}
	return nil
}

// oneOf rejects a flag value outside its set (compared ignoring case), naming the set.
func oneOf(flag, value string, allowed ...string) error {
	if value == "" {
		return nil
	}
	for _, a := range allowed {
		if strings.EqualFold(value, a) {
			return nil
		}
	}
	return usageError("%s %q: use one of %s", flag, value, strings.Join(allowed, ", "))
}

// isPort rejects a port number above 65535.
func isPort(flag string, port uint32) error {
	if port > 65535 {
		return usageError("%s %d is not a port number (1-65535)", flag, port)
	}
	return nil
}

// isIP rejects a flag value that is not an IP address.
func isIP(flag, value string) error {
	if value == "" {
		return nil
	}
	if _, err := netip.ParseAddr(value); err != nil {
		return usageError("%s %q is not an IP address (such as 10.96.0.1 or fd00::1)", flag, value)
	}
	return nil
}

// Validate rejects bad flag values before anything is read.
func (o *ProxyOptions) Validate() error {
	switch o.Output {
	case outTable, outWide, outJSON, outYAML:
	default:
		return usageError("unknown output format %q: use table, wide, json or yaml", o.Output)
	}
	return nil
}

// load reads the dump and wraps it in the model. A dump without the kinds
// the command shows is not an error: the command lists nothing and says so
// (none). done must be called when the output is written.
func (o *ProxyOptions) load(ctx context.Context, kinds ...envoyadmin.Kind) (cfg *xds.Config, done func(), err error) {
	d, err := o.Source.Dump(ctx, kinds...)
	if err != nil {
		o.Source.Close()
		return nil, nil, err
	}
	cfg = xds.New(d)
	return cfg, func() {
		o.notes(cfg)
		o.Source.Close()
	}, nil
}

// loadRequired is load for a command that cannot answer without one of
// kinds (trace needs listeners): their absence is bad input, named.
func (o *ProxyOptions) loadRequired(ctx context.Context, what string, kinds ...envoyadmin.Kind) (*xds.Config, func(), error) {
	cfg, done, err := o.load(ctx, kinds...)
	if err != nil {
		return nil, nil, err
	}
	if !holds(cfg, kinds) {
		o.Source.Close()
		return nil, nil, &ExitError{Code: ExitUsage, Err: fmt.Errorf("the dump has no %s (%s)", what, heldKinds(cfg))}
	}
	return cfg, done, nil
}

func holds(cfg *xds.Config, kinds []envoyadmin.Kind) bool {
	for _, k := range kinds {
		if cfg.Dump.Has(k) {
			return true
		}
	}
	return false
}

// heldKinds says what a dump does hold, for messages about what it lacks.
func heldKinds(cfg *xds.Config) string {
	var have []string
	for _, k := range cfg.Dump.Kinds() {
		have = append(have, k.String())
	}
	if len(have) == 0 {
		return "it holds nothing this tool reads"
	}
	return "it holds " + strings.Join(have, ", ")
}

// none tells whether a listing of n rows is empty, and if so says so as
// kubectl does: "No resources found" on stderr, naming the kind and, when
// the input has none at all, what it does hold. The table is then not
// printed; -o json|yaml still prints its (empty) list.
func (o *ProxyOptions) none(cfg *xds.Config, n int, what string, kinds ...envoyadmin.Kind) bool {
	if n > 0 {
		return false
	}
	if holds(cfg, kinds) {
		fmt.Fprintf(o.ErrOut, "No resources found: no %s match the filters.\n", what)
	} else {
		fmt.Fprintf(o.ErrOut, "No resources found: the input has no %s; %s.\n", what, heldKinds(cfg))
	}
	return !o.structured()
}

// dumpAll writes every entry of kind as the dump holds it (-o json|yaml
// without filters: nothing needs decoding), letting go of each run of
// entries once written.
func (o *ProxyOptions) dumpAll(cfg *xds.Config, what string, kind envoyadmin.Kind) error {
	entries := cfg.Dump.Entries(kind)
	o.Source.Evict()
	if o.none(cfg, len(entries), what, kind) {
		return nil
	}
	return render.DumpReleasing(o.Out, entries, o.Output == outYAML, cfg.Dump.Done)
}

// notes tells, on stderr, what was read but not understood.
func (o *ProxyOptions) notes(cfg *xds.Config) {
	// What was read but kept opaque is information (-v); sections skipped
	// unread are always said.
	if s := cfg.Opaque.Summary(); s != "" && o.deps.Verbose() {
		fmt.Fprintf(o.ErrOut, "note: %s\n", s)
	}
	if len(cfg.Dump.IgnoredKeys) > 0 {
		fmt.Fprintf(o.ErrOut, "note: read past %s beside the Envoy config: not Envoy resources\n", strings.Join(cfg.Dump.IgnoredKeys, ", "))
	}
	for t, n := range cfg.Dump.SkippedSections {
		fmt.Fprintf(o.ErrOut, "note: skipped %d config section(s) of type %s, which this version does not read\n", n, t)
	}
}

func (o *ProxyOptions) wide() bool { return o.Output == outWide }

func (o *ProxyOptions) table() render.TableOptions {
	return render.TableOptions{Wide: o.wide(), NoHeaders: o.NoHeaders, Color: o.Color != nil && o.Color(o.Out), Width: o.deps.Width(o.Out)}
}

func (o *ProxyOptions) structured() bool { return o.Output == outJSON || o.Output == outYAML }

// watching runs a listing once, or with --watch again and again on the
// live proxy, printing what changed.
func (o *ProxyOptions) watching(c *cobra.Command, run func() error) error {
	if !o.Watch {
		return run()
	}
	if o.Filename != "" {
		return usageError("--watch reads a live proxy again and again; a file does not change")
	}
	if o.Interval < 100*time.Millisecond {
		return usageError("--interval %s is too short", o.Interval)
	}
	out := o.Out
	defer func() { o.Out = out }()
	d := o.deps
	d.Out = out
	return watchLoop(c.Context(), d, o.Interval, func(w io.Writer) error {
		o.Out = w
		return run()
	})
}

// writeStructured writes v as indented JSON, or as YAML (the same document).
func writeStructured(w io.Writer, v any, asYAML bool) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if asYAML {
		if b, err = yaml.JSONToYAML(b); err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}
