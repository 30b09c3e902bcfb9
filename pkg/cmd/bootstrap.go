package cmd

import (
	"github.com/spf13/cobra"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/render"
)

// NewBootstrapCmd returns the bootstrap command.
func NewBootstrapCmd(deps Deps) *cobra.Command {
	o := newProxyOptions(deps)
	cmd := &cobra.Command{
		Use:     "bootstrap (POD | -f FILE)",
		GroupID: groupInspect,
		Short:   "Show the proxy's node, versions and control plane",
		Long: `Show what the proxy says about itself: its node ID and cluster, pod and namespace, the
Istio, istio-proxy and Envoy versions, and the xDS server it connects to. -o json|yaml
prints the whole bootstrap (tokens redacted).`,
		Example: `  # Istio, istio-proxy and Envoy versions of a pod's sidecar
  kubectl mesh bootstrap deploy/frontend

  # Node, pod and xDS server too
  kubectl mesh bootstrap -f examples/istio-sidecar.json -o wide

  # The whole bootstrap, as Envoy holds it
  kubectl mesh bootstrap -f examples/istio-sidecar.json -o yaml`,
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.Complete(args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			cfg, done, err := o.load(c.Context(), envoyadmin.KindBootstrap)
			if err != nil {
				return err
			}
			defer done()
			if o.none(cfg, len(cfg.Dump.Entries(envoyadmin.KindBootstrap)), "bootstrap", envoyadmin.KindBootstrap) {
				return nil
			}
			if o.structured() {
				return render.Dump(o.Out, cfg.Dump.Entries(envoyadmin.KindBootstrap), o.Output == outYAML)
			}
			b := cfg.Bootstrap()
			if err := render.Versions(o.Out, b); err != nil {
				return err
			}
			if !o.wide() {
				return nil
			}
			_, _ = o.Out.Write([]byte("\n"))
			return render.Bootstrap(o.Out, b)
		},
	}
	o.AddFlags(cmd)
	return cmd
}
