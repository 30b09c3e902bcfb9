package cmd

import (
	"sort"

	"github.com/spf13/cobra"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/render"
)

// NewECDSCmd returns the ecds command.
func NewECDSCmd(deps Deps) *cobra.Command {
	o := newProxyOptions(deps)
	cmd := &cobra.Command{
		Use:     "ecds (POD | -f FILE)",
		Aliases: []string{"extensions"},
		GroupID: groupInspect,
		Short:   "Show filter configs delivered by ECDS (Wasm plugins, Istio telemetry)",
		Long: `Show the HTTP and network filter configs the proxy received through extension config
discovery (ECDS): Istio's WasmPlugins and telemetry filters, with the type of each config.
A name with no type was requested and not delivered yet.`,
		Example: `  # Filter configs a pod received over ECDS
  kubectl mesh ecds deploy/frontend

  # From a saved dump, with versions and update times
  kubectl mesh ecds -f examples/istio-ecds.json -o wide

  # The configs themselves
  kubectl mesh ecds -f examples/istio-ecds.json -o yaml`,
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.Complete(args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			cfg, done, err := o.load(c.Context(), envoyadmin.KindECDS)
			if err != nil {
				return err
			}
			defer done()
			if o.none(cfg, len(cfg.Dump.Entries(envoyadmin.KindECDS)), "ECDS filter configs", envoyadmin.KindECDS) {
				return nil
			}
			if o.structured() {
				return render.Dump(o.Out, cfg.Dump.Entries(envoyadmin.KindECDS), o.Output == outYAML)
			}
			xs := cfg.ExtensionConfigs()
			// As istioctl orders them: by type, then name.
			sort.SliceStable(xs, func(i, j int) bool {
				if xs[i].Type != xs[j].Type {
					return xs[i].Type < xs[j].Type
				}
				return xs[i].Name < xs[j].Name
			})
			return render.ExtensionConfigs(o.Out, xs, o.table())
		},
	}
	o.AddFlags(cmd)
	return cmd
}
