package cmd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/pilot"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/render"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/snapshot"
)

// IstiodOptions are what the commands reading istiod share: which istiod
// (namespace, revision) or which saved file, and the output.
type IstiodOptions struct {
	deps      Deps
	Namespace string
	Revision  string
	Filename  string
	Output    string
	NoHeaders bool
	// Watch re-fetches every Interval and prints what changed.
	Watch    bool
	Interval time.Duration
}

func newIstiodOptions(deps Deps) *IstiodOptions {
	return &IstiodOptions{deps: deps, Namespace: "istio-system", Output: outTable, Interval: 2 * time.Second}
}

// AddFlags registers the shared flags.
func (o *IstiodOptions) AddFlags(cmd *cobra.Command, file string) {
	cmd.Flags().StringVar(&o.Namespace, "istio-namespace", o.Namespace, "the namespace of istiod")
	cmd.Flags().StringVar(&o.Revision, "revision", "", "only istiod instances of this revision (istio.io/rev)")
	cmd.Flags().StringVarP(&o.Filename, "filename", "f", "", "read a saved "+file+" or a snapshot instead of asking istiod")
	cmd.Flags().StringVarP(&o.Output, "output", "o", o.Output, "output format: table, wide, json or yaml")
	cmd.Flags().BoolVar(&o.NoHeaders, "no-headers", false, "print tables without their header line")
	cmd.Flags().BoolVarP(&o.Watch, "watch", "w", false, "keep asking every --interval and print the rows that appear (+) and go (-), with the time, until Ctrl-C")
	cmd.Flags().DurationVar(&o.Interval, "interval", o.Interval, "with --watch, how often to ask")
	_ = cmd.RegisterFlagCompletionFunc("output", completeWords(outTable, outWide, outJSON, outYAML))
	_ = cmd.MarkFlagFilename("filename", "json", "tar.gz", "tgz")
}

func (o *IstiodOptions) validate() error {
	switch {
	case o.Output != outTable && o.Output != outWide && o.Output != outJSON && o.Output != outYAML:
		return usageError("unknown output format %q: use table, wide, json or yaml", o.Output)
	case o.Watch && o.Filename != "":
		return usageError("--watch asks istiod again and again; a file does not change")
	case o.Watch && o.Interval < 100*time.Millisecond:
		return usageError("--interval %s is too short", o.Interval)
	}
	return nil
}

func (o *IstiodOptions) table() render.TableOptions {
	return render.TableOptions{Wide: o.Output == outWide, NoHeaders: o.NoHeaders, Color: o.deps.Color(o.deps.Out), Width: o.deps.Width(o.deps.Out)}
}

// run prints once, or with --watch keeps printing what changed.
func (o *IstiodOptions) run(ctx context.Context, once func(w io.Writer) error) error {
	if !o.Watch {
		return once(o.deps.Out)
	}
	return watchLoop(ctx, o.deps, o.Interval, once)
}

// watchLoop prints once's output, then every interval the lines that
// appeared (+) and went (-), stamped with the time, until ctx ends: a
// Service applied shows up in the registry, a cluster in a proxy's
// clusters, as a "+" row.
func watchLoop(ctx context.Context, deps Deps, interval time.Duration, once func(w io.Writer) error) error {
	var prev map[string]bool
	for {
		var buf bytes.Buffer
		err := once(&buf)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil && prev == nil:
			return err
		case err != nil:
			fmt.Fprintf(deps.ErrOut, "%s warning: %v\n", deps.Now().Format(time.TimeOnly), err)
		default:
			lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
			cur := map[string]bool{}
			for _, l := range lines {
				cur[l] = true
			}
			if prev == nil {
				_, _ = deps.Out.Write(buf.Bytes())
			} else {
				stamp := deps.Now().Format(time.TimeOnly)
				for _, l := range lines {
					if !prev[l] {
						fmt.Fprintf(deps.Out, "%s + %s\n", stamp, l)
					}
				}
				for l := range prev {
					if !cur[l] {
						fmt.Fprintf(deps.Out, "%s - %s\n", stamp, l)
					}
				}
			}
			prev = cur
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

// view is one istiod instance's answer for a debug view.
type view struct {
	istiod string
	data   []byte
}

// fetch reads a debug view from every running istiod instance (or from a
// saved file: the view itself, or a snapshot's copy of each instance's).
func (o *IstiodOptions) fetch(ctx context.Context, path, file string) ([]view, error) {
	if o.Filename != "" {
		data, err := readInput(o.Filename)
		if err != nil {
			return nil, err
		}
		if !snapshot.IsBundle(data) {
			return []view{{istiod: "-", data: data}}, nil
		}
		b, err := snapshot.Read(data)
		if err != nil {
			return nil, usageError("%s: %v", o.Filename, err)
		}
		var out []view
		for _, in := range b.Manifest.Istiod {
			if d, ok := b.File(in.Dir() + "/" + file); ok {
				out = append(out, view{istiod: in.Pod, data: d})
			}
		}
		if len(out) == 0 {
			return nil, usageError("%s holds no istiod %s (its manifest says why: %s)", o.Filename, file, strings.Join(b.Manifest.Notes, "; "))
		}
		return out, nil
	}
	var out []view
	err := o.eachIstiod(ctx, fmt.Sprintf("%s on its debug port %d", path, pilot.DebugPort), func(_ *cluster, in pilot.Instance) error {
		src := &podSource{flags: o.deps.KubeFlags, target: Target{Kind: "pod", Name: in.Pod}, adminPort: pilot.DebugPort, inNamespace: in.Namespace}
		defer src.Close()
		if err := src.connect(ctx); err != nil {
			return err
		}
		data, err := src.Get(ctx, path)
		if err != nil {
			return err
		}
		out = append(out, view{istiod: in.Pod, data: data})
		return nil
	})
	return out, err
}

// syncOverXDS reads every running instance's istio.io/debug/syncz.
func (o *IstiodOptions) syncOverXDS(ctx context.Context) ([]pilot.SyncStatus, error) {
	var all []pilot.SyncStatus
	err := o.eachIstiod(ctx, "istio.io/debug/syncz over xDS", func(c *cluster, in pilot.Instance) error {
		r, err := xdsDebug(ctx, o.deps.KubeFlags, c.client, in, pilot.DebugSyncz, nil)
		if err != nil {
			return err
		}
		ss, err := pilot.SyncFromXDS(r, in.Pod)
		if err != nil {
			return err
		}
		all = append(all, ss...)
		return nil
	})
	return all, err
}

// eachIstiod calls read for every running istiod instance, showing progress
// on a terminal when there are several. An instance that fails is a
// warning; when none answers, the failure names what was asked and why
// each did not.
func (o *IstiodOptions) eachIstiod(ctx context.Context, what string, read func(*cluster, pilot.Instance) error) error {
	c, err := connectCluster(o.deps.KubeFlags)
	if err != nil {
		return err
	}
	instances, err := c.runningIstiod(ctx, o.Namespace, o.Revision)
	if err != nil {
		return err
	}
	progress := o.deps.terminal(o.deps.ErrOut) && len(instances) > 1
	var problems []string
	answered := 0
	for i, in := range instances {
		if progress {
			fmt.Fprintf(o.deps.ErrOut, "\ristiod %d/%d %s\x1b[K", i+1, len(instances), in.Pod)
		}
		if err := read(c, in); err != nil {
			problems = append(problems, in.Pod+": "+err.Error())
			continue
		}
		answered++
	}
	if progress {
		fmt.Fprint(o.deps.ErrOut, "\r\x1b[K")
	}
	if answered == 0 {
		return failure("no istiod instance answered %s: %s", what, strings.Join(problems, "; "))
	}
	for _, p := range problems {
		fmt.Fprintln(o.deps.ErrOut, "warning: "+p)
	}
	return nil
}

// structuredTo writes v as JSON or YAML.
func (o *IstiodOptions) structuredTo(w io.Writer, v any) error {
	return writeStructured(w, v, o.Output == outYAML)
}

// NewStatusCmd returns the status command.
func NewStatusCmd(deps Deps) *cobra.Command {
	o := newIstiodOptions(deps)
	var check, overXDS bool
	cmd := &cobra.Command{
		Use:     "status",
		GroupID: groupControlPlane,
		Short:   "Is every proxy in sync with istiod? Per xDS type: SYNCED, STALE, NOT SENT or ERROR",
		Long: `Ask every istiod instance (all replicas, --revision for one) which proxies are connected and,
per xDS type (CDS, LDS, EDS, RDS, ECDS), whether the last config sent was acknowledged: SYNCED,
STALE (sent, not acknowledged: the proxy is slow, stuck, or rejected it), NOT SENT, or ERROR (the
proxy rejected it). Proxies out of sync come first. Read from istiod's /debug/syncz through a
port-forward to its debug port (15014), or from a saved syncz or snapshot with -f.

With --check, exit status 1 when a proxy is stale or in error: for scripts and CI.`,
		Example: `  # Every proxy and the istiod instance it is connected to
  kubectl mesh status

  # Fail when anything is out of sync
  kubectl mesh status --check

  # From a saved /debug/syncz (or a snapshot: -f incident.tar.gz)
  kubectl mesh status -f examples/istiod-syncz.json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			outOfSync := false
			err := o.run(c.Context(), func(w io.Writer) error {
				var all []pilot.SyncStatus
				var views []view
				var err error
				if !overXDS {
					views, err = o.fetch(c.Context(), "/debug/syncz", "syncz.json")
				}
				if overXDS || (err != nil && o.Filename == "" && ExitCode(err) == ExitFailure) {
					// istiod's HTTP debug may be off: its xDS debug types.
					if all, err = o.syncOverXDS(c.Context()); err != nil {
						return err
					}
				} else if err != nil {
					return err
				}
				for _, v := range views {
					ss, err := pilot.ParseSyncz(v.data, v.istiod)
					if err != nil {
						return usageError("istiod %s: %v", v.istiod, err)
					}
					all = append(all, ss...)
				}
				pilot.SortStatus(all)
				outOfSync = false
				for _, s := range all {
					outOfSync = outOfSync || !s.InSync()
				}
				if o.Output == outJSON || o.Output == outYAML {
					return o.structuredTo(w, all)
				}
				return render.SyncStatus(w, all, o.deps.Now(), o.table())
			})
			if err != nil {
				return err
			}
			if check && outOfSync {
				return ErrNegative
			}
			return nil
		},
	}
	o.AddFlags(cmd, "/debug/syncz")
	cmd.Flags().BoolVar(&check, "check", false, "exit with status 1 when any proxy is stale or in error")
	cmd.Flags().BoolVar(&overXDS, "xds", false, "ask over istiod's xDS debug type istio.io/debug/syncz (port 15010, else 15012 with a token) instead of HTTP; used anyway when HTTP debug does not answer")
	return cmd
}

// NewPilotCmd returns "kubectl mesh pilot" and its views.
func NewPilotCmd(deps Deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "pilot",
		GroupID: groupControlPlane,
		Short:   "What istiod holds: its service registry, config, endpoints, pushes and connections",
		Long: `Read istiod's debug views (HTTP on its debug port 15014, through a port-forward; every
running instance, --revision for one) as tables, or -o json|yaml. With -f, a saved view or a
snapshot's copy.`,
		Example: `  kubectl mesh pilot registry
  kubectl mesh pilot config -o wide
  kubectl mesh pilot push-status -o json
  kubectl mesh pilot registry -f examples/istiod-registryz.json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	views := []struct {
		use, short, path, file string
		parse                  func(o *IstiodOptions, w io.Writer, data []byte) error
	}{
		{"registry", "The services istiod knows (Kubernetes and ServiceEntry): addresses, ports", "/debug/registryz", "registryz.json",
			func(o *IstiodOptions, w io.Writer, data []byte) error {
				svcs, err := pilot.ParseRegistryz(data)
				if err != nil {
					return usageError("%v", err)
				}
				if o.Output == outJSON || o.Output == outYAML {
					return o.structuredTo(w, svcs)
				}
				return render.Registry(w, svcs, o.table())
			}},
		{"config", "The Istio and Gateway API objects istiod holds", "/debug/configz", "configz.json",
			func(o *IstiodOptions, w io.Writer, data []byte) error {
				objs, err := pilot.ParseConfigz(data)
				if err != nil {
					return usageError("%v", err)
				}
				if o.Output == outJSON || o.Output == outYAML {
					return o.structuredTo(w, objs)
				}
				return render.ConfigObjects(w, objs, o.table())
			}},
		{"endpoints", "istiod's endpoint shards: each service's endpoints as istiod will send them", "/debug/endpointShardz", "endpointShardz.json", rawView(endpointShardzShape)},
		{"push-status", "The last push: when, why, how many proxies, and its errors", "/debug/push_status", "push_status.json", rawView(pushStatusShape)},
		{"connections", "The proxies connected to istiod over xDS", "/debug/connections", "connections.json", rawView(connectionsShape)},
	}
	for _, v := range views {
		o := newIstiodOptions(deps)
		sub := &cobra.Command{
			Use:   v.use,
			Short: v.short,
			Long: v.short + ", from istiod's " + v.path + " (every running instance; a column or section per\n" +
				"instance) or from a saved copy or snapshot with -f.",
			Example: fmt.Sprintf("  kubectl mesh pilot %s\n  kubectl mesh pilot %s -o json\n  kubectl mesh pilot %s --revision canary", v.use, v.use, v.use),
			Args:    cobra.NoArgs,
			RunE: func(c *cobra.Command, _ []string) error {
				if err := o.validate(); err != nil {
					return err
				}
				return o.run(c.Context(), func(w io.Writer) error {
					got, err := o.fetch(c.Context(), v.path, v.file)
					if err != nil {
						return err
					}
					for i, g := range got {
						if len(got) > 1 && o.Output != outJSON && o.Output != outYAML {
							if i > 0 {
								fmt.Fprintln(w)
							}
							fmt.Fprintf(w, "istiod %s:\n", g.istiod)
						}
						if err := v.parse(o, w, g.data); err != nil {
							return err
						}
					}
					return nil
				})
			},
		}
		o.AddFlags(sub, v.path)
		cmd.AddCommand(sub)
	}
	cmd.AddCommand(pilotXDSCommands(deps)...)
	cmd.AddCommand(NewPilotLogsCmd(deps))
	return cmd
}

// notIstiodView names what a document is when it is plainly not one of
// istiod's debug views: an Envoy dump, a Kubernetes manifest, or another
// view of istiod's that has its own command.
func notIstiodView(v jsonscan.Value) string {
	item := v
	if v.Kind() == jsonscan.Array {
		_ = v.Items(func(_ int, first jsonscan.Value) bool { item = first; return false })
	}
	switch {
	case item.Get("configs").Exists() || item.Get("cluster_statuses").Exists() || strings.HasPrefix(item.Get("@type").Str(), "type.googleapis.com/envoy."):
		return "an Envoy dump (see kubectl mesh listeners -f, clusters -f, ...)"
	case item.Get("kind").Exists() && item.Get("apiVersion").Exists():
		return "a Kubernetes manifest or istiod's configz (see kubectl mesh pilot config -f)"
	case item.Get("proxy").Exists() && item.Get("cluster_sent").Exists():
		return "istiod's syncz (see kubectl mesh status -f)"
	case item.Get("hostname").Exists() && item.Get("ports").Exists():
		return "istiod's registryz (see kubectl mesh pilot registry -f)"
	}
	return ""
}

// rawView shows a view whose shape varies across Istio versions: a table
// of its fields, or the JSON itself (redacted) with -o json|yaml. A
// document that is not the view (by shape's test) is exit status 2.
func rawView(shape viewShape) func(o *IstiodOptions, w io.Writer, data []byte) error {
	return func(o *IstiodOptions, w io.Writer, data []byte) error {
		root, err := jsonscan.Parse(data)
		if err != nil {
			return usageError("not JSON: %v", err)
		}
		if what := notIstiodView(root); what != "" {
			return usageError("the input is %s, not one of istiod's debug views", what)
		}
		if !shape.is(root) {
			return usageError("the input is not istiod's %s, which is %s", shape.view, shape.want)
		}
		if o.Output == outJSON || o.Output == outYAML {
			e := render.NewEmitter(w, o.Output == outYAML)
			e.Value(root)
			return e.Flush()
		}
		return render.JSONTable(w, data, o.table())
	}
}

// viewShape tells one of istiod's debug views by its shape, as istiod
// writes it (istio/istio pilot/pkg/xds/debug.go).
type viewShape struct {
	view, want string
	is         func(jsonscan.Value) bool
}

// members reports whether v is an object each of whose members satisfies ok.
func members(v jsonscan.Value, ok func(k []byte, m jsonscan.Value) bool) bool {
	if v.Kind() != jsonscan.Object {
		return false
	}
	all := true
	_ = v.Fields(func(k []byte, m jsonscan.Value) bool {
		all = ok(k, m)
		return all
	})
	return all
}

var (
	// push_status: PushContext.ProxyStatus, metric name -> key ->
	// ProxyPushStatus{proxy, message}; {} after a push without errors.
	pushStatusShape = viewShape{"/debug/push_status", "an object of metric names, each holding {proxy, message} entries", func(v jsonscan.Value) bool {
		return members(v, func(_ []byte, metric jsonscan.Value) bool {
			return members(metric, func(_ []byte, e jsonscan.Value) bool {
				return members(e, func(k []byte, _ jsonscan.Value) bool {
					return jsonscan.KeyIs(k, "proxy") || jsonscan.KeyIs(k, "message")
				})
			})
		})
	}}
	// endpointShardz: hostname -> namespace -> EndpointShards{Shards,
	// ServiceAccounts}; or the older /debug/endpointz, a list of {svc, ep}.
	endpointShardzShape = viewShape{"/debug/endpointShardz", "an object of hostnames, each holding namespaces of {Shards, ServiceAccounts} (or /debug/endpointz, a list of {svc, ep})", func(v jsonscan.Value) bool {
		if v.Kind() == jsonscan.Array {
			all := true
			_ = v.Items(func(_ int, e jsonscan.Value) bool { all = e.Get("svc").Exists(); return all })
			return all
		}
		return members(v, func(_ []byte, host jsonscan.Value) bool {
			return members(host, func(_ []byte, ns jsonscan.Value) bool { return ns.Get("Shards").Exists() })
		})
	}}
	// connections: AdsClients{totalClients, clients}.
	connectionsShape = viewShape{"/debug/connections", `an object with "totalClients" and "clients"`, func(v jsonscan.Value) bool {
		return v.Kind() == jsonscan.Object && v.Get("totalClients").Exists()
	}}
)
