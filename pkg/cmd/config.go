package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/render"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// NewConfigCmd returns the config command: every section at once.
func NewConfigCmd(deps Deps) *cobra.Command {
	o := newProxyOptions(deps)
	cmd := &cobra.Command{
		Use:     "config (POD | -f FILE)",
		Aliases: []string{"all"},
		GroupID: groupInspect,
		Short:   "Show everything: versions, clusters, listeners, routes, secrets and endpoints",
		Long: `Show every section the dump has, one table after another (like istioctl proxy-config all),
or with -o json|yaml the whole dump, redacted. Sections the dump lacks are skipped, never
an error: a dump of routes alone shows routes.`,
		Example: `  # Everything one pod's sidecar holds, one table after another
  kubectl mesh config deploy/frontend -n demo

  # A saved dump, as tables
  kubectl mesh config -f examples/istio-sidecar.json

  # Save a pod's dump (with EDS, redacted) to read later with -f
  kubectl mesh config deploy/frontend -o yaml > frontend.yaml`,
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.Complete(args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			all := []envoyadmin.Kind{envoyadmin.KindBootstrap, envoyadmin.KindCluster, envoyadmin.KindListener,
				envoyadmin.KindRouteConfig, envoyadmin.KindSecret, envoyadmin.KindEndpoints, envoyadmin.KindClusterStatus, envoyadmin.KindECDS}
			cfg, done, err := o.load(c.Context(), all...)
			if err != nil {
				return err
			}
			defer done()
			if o.none(cfg, len(cfg.Dump.Kinds()), "Envoy config", all...) {
				return nil
			}
			if o.structured() {
				var entries []envoyadmin.Entry
				for _, k := range all {
					if k != envoyadmin.KindClusterStatus {
						entries = append(entries, cfg.Dump.Entries(k)...)
					}
				}
				if len(entries) == 0 { // a /clusters?format=json file: print it as such
					entries = cfg.Dump.Entries(envoyadmin.KindClusterStatus)
				}
				return render.DumpReleasing(o.Out, entries, o.Output == outYAML, cfg.Dump.Done)
			}
			return o.printAll(cfg)
		},
	}
	o.AddFlags(cmd)
	return cmd
}

func (o *ProxyOptions) printAll(cfg *xds.Config) error {
	first := true
	section := func(print func() error) error {
		if !first {
			fmt.Fprintln(o.Out)
		}
		first = false
		return print()
	}
	d := cfg.Dump
	if d.Has(envoyadmin.KindBootstrap) {
		if err := section(func() error { return render.Versions(o.Out, cfg.Bootstrap()) }); err != nil {
			return err
		}
	}
	if d.Has(envoyadmin.KindCluster) {
		cs := cfg.Clusters()
		sortClusters(cs)
		if err := section(func() error { return render.Clusters(o.Out, cs, o.table()) }); err != nil {
			return err
		}
	}
	if d.Has(envoyadmin.KindListener) {
		ls := append([]*xds.Listener(nil), cfg.Listeners()...)
		xds.SortListeners(ls)
		if err := section(func() error { return render.Listeners(o.Out, ls, o.table()) }); err != nil {
			return err
		}
	}
	if d.Has(envoyadmin.KindRouteConfig) {
		if err := section(func() error { return render.Routes(o.Out, cfg.RouteConfigs(), o.table()) }); err != nil {
			return err
		}
	}
	if d.Has(envoyadmin.KindSecret) {
		if err := section(func() error { return render.Secrets(o.Out, cfg.Secrets(), o.Now(), o.table()) }); err != nil {
			return err
		}
	}
	if d.Has(envoyadmin.KindECDS) {
		if err := section(func() error { return render.ExtensionConfigs(o.Out, cfg.ExtensionConfigs(), o.table()) }); err != nil {
			return err
		}
	}
	if d.Has(envoyadmin.KindEndpoints) || d.Has(envoyadmin.KindClusterStatus) {
		if err := section(func() error { return render.Endpoints(o.Out, cfg.Endpoints(), o.table()) }); err != nil {
			return err
		}
	}
	return nil
}
