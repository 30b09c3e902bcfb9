package cmd

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/pilot"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/redact"
)

// PilotLogsOptions are the options of "kubectl mesh pilot logs".
type PilotLogsOptions struct {
	deps      Deps
	Namespace string
	Revision  string
	All       bool
	Proxy     string
	Resource  string
	Since     time.Duration
	Tail      int64
	Follow    bool
	Container string
}

// NewPilotLogsCmd returns "kubectl mesh pilot logs".
func NewPilotLogsCmd(deps Deps) *cobra.Command {
	o := &PilotLogsOptions{deps: deps, Namespace: "istio-system", Tail: -1, Container: "discovery"}
	cmd := &cobra.Command{
		Use:   "logs",
		Short: "istiod's logs: warnings and errors first of all, about one proxy or one resource",
		Long: `Read the logs of every istiod instance (the discovery container, through the API server) and
keep the warnings and errors (--all for every line): istiod is the source of truth, and why a
push failed or a config was rejected is said there first. --proxy POD keeps the lines about one
proxy (its pod name, as istiod's connection IDs carry it), --resource NAME those naming a
resource (a VirtualService, a cluster, a listener). Each line is prefixed with the instance.`,
		Example: `  # What went wrong lately
  kubectl mesh pilot logs --since 1h

  # Everything about one proxy, following new lines
  kubectl mesh pilot logs --proxy frontend-7d9c5 --all --follow

  # Why a VirtualService is not taken
  kubectl mesh pilot logs --resource reviews`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return o.Run(c.Context()) },
	}
	cmd.Flags().StringVar(&o.Namespace, "istio-namespace", o.Namespace, "the namespace of istiod")
	cmd.Flags().StringVar(&o.Revision, "revision", "", "only istiod instances of this revision (istio.io/rev)")
	cmd.Flags().BoolVar(&o.All, "all", false, "every line, not only warnings and errors")
	cmd.Flags().StringVar(&o.Proxy, "proxy", "", "only lines about this proxy (pod name, or POD.NAMESPACE)")
	cmd.Flags().StringVar(&o.Resource, "resource", "", "only lines naming this resource")
	cmd.Flags().DurationVar(&o.Since, "since", 0, "only lines newer than this, e.g. 10m")
	cmd.Flags().Int64Var(&o.Tail, "tail", o.Tail, "only the last N lines of each instance (-1: all)")
	cmd.Flags().BoolVar(&o.Follow, "follow", false, "keep reading new lines until Ctrl-C")
	cmd.Flags().StringVarP(&o.Container, "container", "c", o.Container, "istiod's container")
	return cmd
}

// keep tells whether a line passes the filters.
func (o *PilotLogsOptions) keep(line string) bool {
	if !o.All && !pilot.IsWarning(line) {
		return false
	}
	if o.Proxy != "" && !strings.Contains(line, o.Proxy) {
		return false
	}
	return o.Resource == "" || strings.Contains(line, o.Resource)
}

// Run reads every instance's log, filtered, each line prefixed with it.
func (o *PilotLogsOptions) Run(ctx context.Context) error {
	c, err := connectCluster(o.deps.KubeFlags)
	if err != nil {
		return err
	}
	client := c.client
	instances, err := c.runningIstiod(ctx, o.Namespace, o.Revision)
	if err != nil {
		return err
	}
	opts := podLogOptions(o.Container, o.Follow, o.Since, o.Tail)
	lines := make(chan string)
	errs := make(chan error, len(instances))
	running := len(instances)
	for _, in := range instances {
		go func(in pilot.Instance) {
			r, err := client.Logs(ctx, in.Namespace, in.Pod, opts)
			if err != nil {
				errs <- fmt.Errorf("istiod %s: %v", in.Pod, rootCause(err))
				return
			}
			defer r.Close()
			sc := lineScanner(r)
			for sc.Scan() {
				if o.keep(sc.Text()) {
					select {
					case lines <- in.Pod + " " + sc.Text():
					case <-ctx.Done():
						errs <- nil
						return
					}
				}
			}
			errs <- nil
		}(in)
	}
	var problems []string
	for done := 0; done < running; {
		select {
		case l := <-lines:
			fmt.Fprintln(o.deps.Out, string(redact.Lines([]byte(l))))
		case err := <-errs:
			done++
			if err != nil {
				problems = append(problems, err.Error())
			}
		}
	}
	if len(problems) == running && running > 0 {
		return failure("%s", strings.Join(problems, "; "))
	}
	for _, p := range problems {
		fmt.Fprintln(o.deps.ErrOut, "warning: "+p)
	}
	return nil
}
