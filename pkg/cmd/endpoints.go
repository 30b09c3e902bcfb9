package cmd

import (
	"slices"

	"github.com/spf13/cobra"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/render"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// EndpointsOptions are the options of "kubectl mesh endpoints".
type EndpointsOptions struct {
	*ProxyOptions
	Filter xds.EndpointFilter
}

// NewEndpointsCmd returns the endpoints command.
func NewEndpointsCmd(deps Deps) *cobra.Command {
	o := &EndpointsOptions{ProxyOptions: newProxyOptions(deps)}
	cmd := &cobra.Command{
		Use:     "endpoints (POD | -f FILE)",
		Aliases: []string{"endpoint", "eds", "ep"},
		GroupID: groupInspect,
		Short:   "Show cluster endpoints: health, outlier detection, weight, locality",
		Long: `Show the endpoints of each cluster. From /clusters?format=json the health Envoy sees now
(EDS status, active health checks, outlier detection); from a /config_dump?include_eds
the endpoints istiod assigned, with their EDS health, weight and locality.`,
		Example: `  # Endpoints of a pod's sidecar, health as Envoy sees it now
  kubectl mesh endpoints deploy/frontend

  # Unhealthy endpoints of one cluster
  kubectl mesh endpoints deploy/frontend --cluster "outbound|9080||reviews.default.svc.cluster.local" --status unhealthy

  # From a saved /clusters?format=json, one port only
  kubectl mesh endpoints -f examples/istio-clusters.json --port 15014

  # From a dump taken with /config_dump?include_eds (an Envoy Gateway proxy)
  kubectl mesh endpoints -f examples/envoy-gateway.json -o wide`,
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.Complete(args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			if err := isPort("--port", o.Filter.Port); err != nil {
				return err
			}
			if err := oneOf("--status", o.Filter.Status, "HEALTHY", "UNHEALTHY", "DRAINING", "DEGRADED", "TIMEOUT", "UNKNOWN"); err != nil {
				return err
			}
			if err := isIP("--address", o.Filter.Address); err != nil {
				return err
			}
			return o.watching(c, func() error { return o.Run(c) })
		},
	}
	o.AddFlags(cmd)
	cmd.Flags().StringVar(&o.Filter.Cluster, "cluster", "", "only endpoints of this cluster")
	cmd.Flags().StringVar(&o.Filter.Status, "status", "", "only endpoints with this health: healthy, unhealthy, draining, degraded, timeout")
	_ = cmd.RegisterFlagCompletionFunc("status", completeWords("HEALTHY", "UNHEALTHY", "DRAINING", "DEGRADED", "TIMEOUT"))
	cmd.Flags().StringVar(&o.Filter.Address, "address", "", "only endpoints with this IP address")
	cmd.Flags().Uint32Var(&o.Filter.Port, "port", 0, "only endpoints on this port")
	return cmd
}

// Run prints the endpoints.
func (o *EndpointsOptions) Run(c *cobra.Command) error {
	// -o json|yaml without filters prints the assignments that have a
	// host: their hosts need not be made.
	whole := o.structured() && o.Filter == (xds.EndpointFilter{})
	if fs, ok := o.Source.(*fileSource); ok {
		// The assignments read while the file is loaded: each byte once.
		fs.early = xds.EarlyEndpoints()
		if whole {
			fs.early = xds.EarlyAssignmentsWithHosts()
		}
	}
	cfg, done, err := o.load(c.Context(), envoyadmin.KindEndpoints, envoyadmin.KindClusterStatus)
	if err != nil {
		return err
	}
	defer done()
	if whole {
		if entries, ok := cfg.AssignmentsWithHosts(); ok {
			o.Source.Evict()
			if o.none(cfg, len(entries), "endpoints (a dump has them when taken with /config_dump?include_eds, or from /clusters?format=json)",
				envoyadmin.KindEndpoints, envoyadmin.KindClusterStatus) {
				return nil
			}
			return o.dumpOnce(cfg, entries)
		}
	}
	es := cfg.Endpoints()
	if o.Filter != (xds.EndpointFilter{}) {
		es = slices.DeleteFunc(slices.Clone(es), func(e *xds.Endpoint) bool { return !o.Filter.Match(e) })
	}
	o.Source.Evict()
	if o.none(cfg, len(es), "endpoints (a dump has them when taken with /config_dump?include_eds, or from /clusters?format=json)",
		envoyadmin.KindEndpoints, envoyadmin.KindClusterStatus) {
		return nil
	}
	if o.structured() {
		// Whole assignments (or /clusters entries) holding a selected
		// endpoint: the endpoints of one are together, in dump order.
		var entries []envoyadmin.Entry
		var prev *envoyadmin.Entry
		for _, e := range es {
			if e.Entry != nil && e.Entry != prev {
				prev = e.Entry
				entries = append(entries, *e.Entry)
			}
		}
		return o.dumpOnce(cfg, entries)
	}
	return render.Endpoints(o.Out, es, o.table())
}

// dumpOnce writes entries in dump order, each assignment once (a rejected
// update's entry shares the bytes of the one before it, and Dump writes
// those once), letting go of their pages as they are written.
func (o *EndpointsOptions) dumpOnce(cfg *xds.Config, entries []envoyadmin.Entry) error {
	return render.DumpReleasing(o.Out, entries, o.Output == outYAML, cfg.Dump.Done)
}
