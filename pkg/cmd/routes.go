package cmd

import (
	"github.com/spf13/cobra"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/render"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// RoutesOptions are the options of "kubectl mesh routes".
type RoutesOptions struct {
	*ProxyOptions
	Name   string
	Inline bool
}

// NewRoutesCmd returns the routes command.
func NewRoutesCmd(deps Deps) *cobra.Command {
	o := &RoutesOptions{ProxyOptions: newProxyOptions(deps)}
	cmd := &cobra.Command{
		Use:     "routes (POD | -f FILE)",
		Aliases: []string{"route", "rds"},
		GroupID: groupInspect,
		Short:   "Show route configurations: virtual hosts, domains, whole matches and actions",
		Long: `Show route configurations one route per row: the virtual host and its domains, the whole
match (path, headers, methods, query parameters, gRPC, runtime fraction), the action
(cluster, weighted clusters with their shares, redirect, direct response) and the Istio
VirtualService that produced the route.`,
		Example: `  # Routes of a pod's sidecar
  kubectl mesh routes deploy/frontend -n demo

  # One route configuration, with rewrites, timeouts and all domains
  kubectl mesh routes -f examples/istio-sidecar.json --name 80 -o wide

  # Include the route configurations listeners carry inline
  kubectl mesh routes -f examples/istio-sidecar.json --inline`,
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.Complete(args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.watching(c, func() error { return o.Run(c) })
		},
	}
	o.AddFlags(cmd)
	cmd.Flags().StringVar(&o.Name, "name", "", "only the route configuration with this name")
	cmd.Flags().BoolVar(&o.Inline, "inline", false, "also show route configurations defined inline in listeners")
	return cmd
}

// Run prints the routes.
func (o *RoutesOptions) Run(c *cobra.Command) error {
	kinds := []envoyadmin.Kind{envoyadmin.KindRouteConfig}
	if o.Inline {
		kinds = append(kinds, envoyadmin.KindListener)
	}
	cfg, done, err := o.load(c.Context(), kinds...)
	if err != nil {
		return err
	}
	defer done()
	if o.structured() && !o.Inline && o.Name == "" {
		return o.dumpAll(cfg, "route configurations", envoyadmin.KindRouteConfig)
	}
	all := cfg.RouteConfigs()
	if o.Inline {
		all = append(all, cfg.InlineRouteConfigs()...)
	}
	var rcs []*xds.RouteConfig
	for _, rc := range all {
		if o.Name == "" || rc.Name == o.Name {
			rcs = append(rcs, rc)
		}
	}
	o.Source.Evict()
	if o.none(cfg, len(rcs), "route configurations", envoyadmin.KindRouteConfig) {
		return nil
	}
	if o.structured() {
		entries := make([]envoyadmin.Entry, 0, len(rcs))
		for _, rc := range rcs {
			entries = append(entries, rc.Entry)
		}
		return render.DumpReleasing(o.Out, entries, o.Output == outYAML, cfg.Dump.Done)
	}
	return render.Routes(o.Out, rcs, o.table())
}
