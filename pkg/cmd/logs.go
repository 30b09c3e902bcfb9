package cmd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/accesslog"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/render"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/snapshot"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// LogsOptions are the options of "kubectl mesh logs".
type LogsOptions struct {
	*ProxyOptions
	Container string
	Follow    bool
	Since     time.Duration
	Tail      int64
	Format    string
	Explain   bool
	Config    string // --config: the dump --explain joins a saved log to

	Status    []string
	Flags     []string
	Authority string
	Path      string
	Errors    bool

	parser *accesslog.Parser
	// lines opens the log; Complete sets it, tests may set it first.
	lines func(ctx context.Context) (io.ReadCloser, error)
}

// NewLogsCmd returns the logs command.
func NewLogsCmd(deps Deps) *cobra.Command {
	o := &LogsOptions{ProxyOptions: newProxyOptions(deps), Container: istioProxy, Tail: -1}
	cmd := &cobra.Command{
		Use:     "logs (POD | TYPE/NAME | -l SELECTOR | -f FILE)",
		Aliases: []string{"log", "accesslog"},
		GroupID: groupFollow,
		Short:   "Read a proxy's access log: each request with its response flags explained",
		Long: `Read the access log of a pod's istio-proxy container (through the API server, like
kubectl logs) or of a saved log file, one row per request or TCP connection: time, method,
authority, path, status, response flags with their meaning, duration, upstream cluster and
route. A summary follows: counts by status and by flag, and for each flag what to check.

Istio's default text format, Envoy's default format and JSON access logs are recognized line
by line; --format reads any other Envoy format string. Lines that are not access logs
(Envoy's own log) are skipped. With --explain, each kind of failing request is joined to the
proxy's config: the route and cluster the line names, and the cluster's endpoints now.

Access logs must be on: meshConfig.accessLogFile=/dev/stdout, or a Telemetry resource.`,
		Example: `  # Failing requests of a pod's sidecar in the last hour, explained
  kubectl mesh logs deploy/frontend --since 1h --errors --explain

  # Only 503s with no healthy upstream, following new lines
  kubectl mesh logs frontend-7d9c5 --status 503 --flags UH --follow

  # Requests to one host, as JSON lines for jq
  kubectl mesh logs deploy/frontend --authority reviews:9080 -o json

  # A saved log, with the config it came from
  kubectl mesh logs -f examples/istio-access.log --explain --config examples/istio-sidecar.json`,
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.Complete(args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(c.Context())
		},
	}
	o.AddFlags(cmd)
	cmd.Flags().Lookup("filename").Usage = "read a saved access log instead of a live pod (- for standard input)"
	cmd.Flags().StringVarP(&o.Container, "container", "c", o.Container, "the proxy's container")
	cmd.Flags().BoolVar(&o.Follow, "follow", false, "keep reading new lines until Ctrl-C (the summary is printed then)")
	cmd.Flags().DurationVar(&o.Since, "since", 0, "only lines newer than this, e.g. 10m, 1h")
	cmd.Flags().Int64Var(&o.Tail, "tail", o.Tail, "only the last N lines of the log (-1: all)")
	cmd.Flags().StringVar(&o.Format, "format", "", "the Envoy access log format string, when it is neither Istio's nor Envoy's default nor JSON")
	cmd.Flags().BoolVar(&o.Explain, "explain", false, "join each kind of failing request to the proxy's config: route, cluster, endpoints")
	cmd.Flags().StringVar(&o.Config, "config", "", "with -f, the proxy's saved config dump for --explain")
	cmd.Flags().StringSliceVar(&o.Status, "status", nil, "only these statuses: 503, 5xx, 404, 4xx (comma-separated)")
	cmd.Flags().StringSliceVar(&o.Flags, "flags", nil, "only lines with one of these response flags: NR,UH (short or long names)")
	cmd.Flags().StringVar(&o.Authority, "authority", "", "only requests to this authority (Host), with or without its port")
	cmd.Flags().StringVar(&o.Path, "path", "", "only requests whose path starts with this")
	cmd.Flags().BoolVar(&o.Errors, "errors", false, "only failing requests: a 5xx, or any response flag")
	_ = cmd.RegisterFlagCompletionFunc("flags", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		var out []string
		for _, f := range accesslog.Flags {
			out = append(out, f.Short+"\t"+f.Long)
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	})
	_ = cmd.RegisterFlagCompletionFunc("status", completeWords("5xx", "4xx", "503", "504", "502", "404", "403"))
	return cmd
}

// Complete picks where the lines come from.
func (o *LogsOptions) Complete(args []string) error {
	var err error
	if o.parser, err = accesslog.NewParser(o.Format); err != nil {
		return usageError("--format: %v", err)
	}
	if o.lines != nil {
		return nil
	}
	if o.Filename != "" {
		if len(args) > 0 || o.Selector != "" {
			return usageError("give either a pod or -f FILE, not both")
		}
		path := o.Filename
		o.lines = func(context.Context) (io.ReadCloser, error) {
			if path == "-" {
				return io.NopCloser(o.In), nil
			}
			data, err := os.ReadFile(path)
			if errors.Is(err, fs.ErrNotExist) {
				return nil, usageError("cannot read %s: no such file", path)
			}
			if err != nil {
				return nil, usageError("cannot read %s: %v", path, err)
			}
			if snapshot.IsBundle(data) {
				return bundleLog(path, data, o.Pod)
			}
			return io.NopCloser(bytes.NewReader(data)), nil
		}
		switch {
		case o.Explain && o.Config != "":
			o.Source = &fileSource{path: o.Config, pod: o.Pod, in: o.In}
		case o.Explain && isBundleFile(path):
			o.Source = &fileSource{path: path, pod: o.Pod, in: o.In}
		}
		return nil
	}
	if err := o.ProxyOptions.Complete(args); err != nil {
		return err
	}
	src, ok := o.Source.(*podSource)
	if !ok {
		return nil
	}
	o.lines = func(ctx context.Context) (io.ReadCloser, error) { return src.logs(ctx, o.logOptions()) }
	return nil
}

func (o *LogsOptions) logOptions() *corev1.PodLogOptions {
	return podLogOptions(o.Container, o.Follow, o.Since, o.Tail)
}

// podLogOptions are kubectl logs' --container --follow --since --tail
// (tail < 0: all lines).
func podLogOptions(container string, follow bool, since time.Duration, tail int64) *corev1.PodLogOptions {
	opts := &corev1.PodLogOptions{Container: container, Follow: follow}
	if since > 0 {
		s := int64(since.Seconds())
		opts.SinceSeconds = &s
	}
	if tail >= 0 {
		opts.TailLines = &tail
	}
	return opts
}

// lineScanner reads a log line by line, lines up to 4 MiB (JSON access
// logs and Envoy's own lines can be long).
func lineScanner(r io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4<<20)
	return sc
}

// Validate checks the filters before anything is read.
func (o *LogsOptions) Validate() error {
	switch o.Output {
	case outTable, outWide, outJSON:
	default:
		return usageError("unknown output format %q: use table, wide or json (JSON lines, one entry each)", o.Output)
	}
	for _, s := range o.Status {
		if !statusPattern(s) {
			return usageError("--status %q: give a code (503) or a class (5xx)", s)
		}
	}
	for _, f := range o.Flags {
		if _, ok := accesslog.LookupFlag(f); !ok {
			return usageError("--flags: %q is not an Envoy response flag (UH, UF, NR, ... or their long names)", f)
		}
	}
	if o.Explain && o.Filename != "" && o.Config == "" && o.Source == nil {
		return usageError("--explain on a saved log needs the proxy's config: --config DUMP")
	}
	if o.Config != "" && o.Filename == "" {
		return usageError("--config is for -f: a live pod's config is read from the pod")
	}
	return nil
}

func statusPattern(s string) bool {
	if len(s) == 3 && (s[1:] == "xx" || s[1:] == "XX") && s[0] >= '1' && s[0] <= '5' {
		return true
	}
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && n <= 999
}

// keep applies the filters.
func (o *LogsOptions) keep(e *accesslog.Entry) bool {
	if o.Errors && !e.Failed() {
		return false
	}
	if len(o.Status) > 0 {
		code, ok := strconv.Itoa(e.Status), false
		for _, s := range o.Status {
			if s == code || (len(s) == 3 && strings.EqualFold(s[1:], "xx") && code[0] == s[0] && len(code) == 3) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	if len(o.Flags) > 0 {
		ok := false
		for _, want := range o.Flags {
			f, _ := accesslog.LookupFlag(want)
			for _, have := range e.Flags {
				ok = ok || have == f.Short
			}
		}
		if !ok {
			return false
		}
	}
	if o.Authority != "" && !strings.EqualFold(e.Authority, o.Authority) && !strings.EqualFold(hostOnly(e.Authority), o.Authority) {
		return false
	}
	return o.Path == "" || strings.HasPrefix(e.Path, o.Path)
}

func hostOnly(authority string) string {
	if i := strings.LastIndexByte(authority, ':'); i > 0 && !strings.HasSuffix(authority, "]") {
		return authority[:i]
	}
	return authority
}

// Run reads, filters and prints the log, then the summary.
func (o *LogsOptions) Run(ctx context.Context) error {
	r, err := o.lines(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	var (
		summary render.AccessLogSummary
		kept    []accesslog.Entry
		table   *render.Table
		enc     = json.NewEncoder(o.Out)
	)
	if o.Output != outJSON {
		table = render.NewTable(o.Out, o.table(), render.AccessLogColumns(o.wide())...)
	}
	sc := lineScanner(r)
	for sc.Scan() {
		e, ok := o.parser.Parse(sc.Text())
		if !ok || !o.keep(&e) {
			continue
		}
		summary.Add(&e)
		if o.Explain {
			kept = append(kept, e)
		}
		if table == nil {
			if err := enc.Encode(e); err != nil {
				return err
			}
			continue
		}
		table.Row(render.AccessLogRow(&e, o.wide())...)
		if o.Follow {
			if err := table.Flush(); err != nil {
				return err
			}
		}
	}
	// Ctrl-C ends a --follow: the summary is still worth printing.
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return failure("reading the log: %v", err)
	}
	summaryOut := o.Out
	if table != nil {
		if err := table.Flush(); err != nil {
			return err
		}
	} else {
		summaryOut = o.ErrOut // stdout stays JSON lines
	}
	if err := summary.Write(summaryOut); err != nil {
		return err
	}
	if !o.Explain {
		return nil
	}
	cfg, err := o.explainConfig(context.WithoutCancel(ctx))
	if err != nil {
		return err
	}
	xs := accesslog.Explain(kept, cfg)
	if table == nil {
		return json.NewEncoder(o.ErrOut).Encode(map[string]any{"explanations": xs})
	}
	return render.Explanations(o.Out, xs)
}

// explainConfig reads the proxy's config for --explain.
func (o *LogsOptions) explainConfig(ctx context.Context) (*xds.Config, error) {
	if o.Source == nil {
		return nil, nil
	}
	d, err := o.Source.Dump(ctx, envoyadmin.KindListener, envoyadmin.KindRouteConfig, envoyadmin.KindCluster, envoyadmin.KindEndpoints)
	if err != nil {
		return nil, err
	}
	return xds.New(d), nil
}

// bundleLog is the access log a snapshot bundle holds for a proxy.
func bundleLog(path string, data []byte, pod string) (io.ReadCloser, error) {
	b, err := snapshot.Read(data)
	if err != nil {
		return nil, usageError("%s: %v", path, err)
	}
	p, err := b.Proxy(pod)
	if err != nil {
		return nil, usageError("%s: %v", path, err)
	}
	log, ok := b.File(p.Dir() + "/" + snapshot.AccessLog)
	if !ok {
		return nil, usageError("%s: the snapshot has no log of %s (%s)", path, p.Name(), bundleErrors(p))
	}
	return io.NopCloser(bytes.NewReader(log)), nil
}

func isBundleFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 2)
	n, _ := io.ReadFull(f, head)
	return snapshot.IsBundle(head[:n])
}

// logs streams the proxy container's log through the API server.
func (s *podSource) logs(ctx context.Context, opts *corev1.PodLogOptions) (io.ReadCloser, error) {
	at, err := s.locate(ctx)
	if err != nil {
		return nil, err
	}
	if !hasContainer(at.pod, opts.Container) {
		return nil, failure("pod %s/%s has no %s container; give the proxy's container with -c", s.namespace, s.name, opts.Container)
	}
	r, err := at.client.Logs(ctx, s.namespace, s.name, opts)
	switch {
	case apierrors.IsForbidden(err):
		return nil, failure("not allowed to read the log of pod %s/%s: your RBAC role needs get on pods/log in namespace %s (see deploy/rbac.yaml)", s.namespace, s.name, s.namespace)
	case err != nil:
		return nil, failure("pod %s/%s: reading the %s log: %v", s.namespace, s.name, opts.Container, err)
	}
	return r, nil
}
