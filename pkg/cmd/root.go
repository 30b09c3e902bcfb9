// Package cmd holds kubectl mesh's commands. Each command has an Options
// struct with Complete (fill from flags and arguments), Validate (reject bad
// input before anything is read) and Run (do the work); the work itself is
// done by the packages the options call: envoyadmin, xds, render.
package cmd

import (
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// Command groups of "kubectl mesh --help".
const (
	groupInspect = "inspect"
	groupUtility = "utility"
)

// Deps are what commands take from outside: the streams, the clock and the
// standard kube flags (--kubeconfig, --context, -n, ...).
type Deps struct {
	genericiooptions.IOStreams
	Now       func() time.Time
	KubeFlags *genericclioptions.ConfigFlags
}

// NewRootCmd builds the "kubectl mesh" command tree.
func NewRootCmd(streams genericiooptions.IOStreams) *cobra.Command {
	return NewRootCmdWith(Deps{IOStreams: streams, Now: time.Now})
}

// NewRootCmdWith builds the command tree with the given dependencies (tests fix the clock).
func NewRootCmdWith(deps Deps) *cobra.Command {
	root := &cobra.Command{
		Use:   "kubectl-mesh",
		Short: "Debug Istio and Envoy service meshes: what istiod intends, what each Envoy holds, how a request is matched",
		Long: `kubectl mesh shows what each Envoy in a service mesh actually holds (listeners, routes,
clusters, endpoints, secrets) from a live pod or a saved dump, with what istioctl hides:
header and method matches, weighted clusters, redirects, warming and rejected config.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Annotations: map[string]string{
			cobra.CommandDisplayNameAnnotation: "kubectl mesh",
		},
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError("%v (see '%s --help')", err, c.CommandPath())
	})
	root.AddGroup(
		&cobra.Group{ID: groupInspect, Title: "Inspect a proxy:"},
		&cobra.Group{ID: groupUtility, Title: "Utilities:"},
	)
	root.SetHelpCommandGroupID(groupUtility)
	root.SetCompletionCommandGroupID(groupUtility)

	// The standard kube flags (--kubeconfig, --context, -n, --as, ...).
	if deps.KubeFlags == nil {
		deps.KubeFlags = genericclioptions.NewConfigFlags(true)
	}
	deps.KubeFlags.AddFlags(root.PersistentFlags())

	root.AddCommand(
		NewListenersCmd(deps),
		NewRoutesCmd(deps),
		NewClustersCmd(deps),
		NewEndpointsCmd(deps),
		NewSecretsCmd(deps),
		NewECDSCmd(deps),
		NewBootstrapCmd(deps),
		NewConfigCmd(deps),
		NewAdminCmd(deps),
		NewVersionCmd(deps),
	)
	return root
}
