package cmd

import (
	"github.com/spf13/cobra"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/render"
)

// NewSecretsCmd returns the secrets command.
func NewSecretsCmd(deps Deps) *cobra.Command {
	o := newProxyOptions(deps)
	cmd := &cobra.Command{
		Use:     "secrets (POD | -f FILE)",
		Aliases: []string{"secret", "sds", "certs"},
		GroupID: groupInspect,
		Short:   "Show SDS secrets: certificate validity, serial, expiry, identity (never keys)",
		Long: `Show the proxy's SDS secrets: for certificate chains and CA bundles, whether the certificate
is valid now, its serial number, validity period and (with -o wide) its SPIFFE identity and
issuer. Warming secrets (requested, not yet delivered) are marked. Private keys, passwords
and tokens are never printed, in any output format, even when a dump contains them.`,
		Example: `  # Certificates of a pod's sidecar
  kubectl mesh secrets deploy/frontend

  # With identities and issuers, from a saved dump
  kubectl mesh secrets -f examples/istio-sidecar.json -o wide`,
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.Complete(args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			cfg, done, err := o.load(c.Context(), envoyadmin.KindSecret)
			if err != nil {
				return err
			}
			defer done()
			if o.none(cfg, len(cfg.Dump.Entries(envoyadmin.KindSecret)), "secrets", envoyadmin.KindSecret) {
				return nil
			}
			if o.structured() {
				return render.Dump(o.Out, cfg.Dump.Entries(envoyadmin.KindSecret), o.Output == outYAML)
			}
			return render.Secrets(o.Out, cfg.Secrets(), o.Now(), o.table())
		},
	}
	o.AddFlags(cmd)
	return cmd
}
