// Package cmd holds kubectl mesh's commands. Each command has an Options
// struct with Complete (fill from flags and arguments), Validate (reject bad
// input before anything is read) and Run (do the work); the work itself is
// done by the packages the options call: envoyadmin, xds, render.
package cmd

import (
	"github.com/kubectl-mesh/kubectl-mesh/pkg/kube"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
)

// Command groups of "kubectl mesh --help", in the order shown. A group
// appears once a command belongs to it.
const (
	groupInspect      = "inspect"
	groupCompare      = "compare"
	groupFollow       = "follow"
	groupControlPlane = "control-plane"
	groupUtility      = "utility"
)

var groups = []*cobra.Group{
	{ID: groupInspect, Title: "Inspect a proxy:"},
	{ID: groupCompare, Title: "Compare and trace:"},
	{ID: groupFollow, Title: "Follow traffic:"},
	{ID: groupControlPlane, Title: "Control plane (istiod):"},
	{ID: groupUtility, Title: "Utilities:"},
}

// Deps are what commands take from outside: the streams, the clock and the
// standard kube flags (--kubeconfig, --context, -n, ...).
type Deps struct {
	genericiooptions.IOStreams
	Now       func() time.Time
	KubeFlags *kube.Flags
	// IsTerminal tells whether a stream is a terminal; nil means: an
	// *os.File that is one. Colour (and progress, for commands reading
	// several pods) is for terminals only.
	IsTerminal func(io.Writer) bool
	// TerminalWidth is the width in columns of a terminal stream; nil
	// means: $COLUMNS, else what the terminal says. Tables are fitted to
	// it; 0 leaves them whole.
	TerminalWidth func(io.Writer) int

	noColor *bool // --no-color, read once flags are parsed
	verbose *int  // -v: informational notes from 1

	// source, when set, is where proxy commands read a named proxy's config
	// from instead of its admin port: istiod, for "pilot lds POD".
	source func(target Target) DumpSource
	// cluster, when set, is the API server, pod finder and transport live
	// reads use instead of the kube flags' (tests: a fake clientset and
	// servers standing in for pods' ports).
	cluster *cluster
}

// Color tells whether output to w may be coloured: on a terminal, unless
// NO_COLOR is set (https://no-color.org), --no-color given, or the
// terminal is dumb.
func (d Deps) Color(w io.Writer) bool {
	if d.noColor != nil && *d.noColor || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	return d.terminal(w)
}

// Verbose tells whether informational notes are wanted (-v 1 or more).
func (d Deps) Verbose() bool { return d.verbose != nil && *d.verbose > 0 }

// Width is how wide a table written to w may be: the terminal's width, or
// 0 (no limit) when w is not a terminal.
func (d Deps) Width(w io.Writer) int {
	if !d.terminal(w) {
		return 0
	}
	if d.TerminalWidth != nil {
		return d.TerminalWidth(w)
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	if f, ok := w.(*os.File); ok {
		if n, _, err := term.GetSize(int(f.Fd())); err == nil && n > 0 {
			return n
		}
	}
	return 0
}

func (d Deps) terminal(w io.Writer) bool {
	if d.IsTerminal != nil {
		return d.IsTerminal(w)
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
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
header and method matches, weighted clusters, redirects, warming and rejected config.
In Istio's ambient mode, ztunnel shows what a node's ztunnel holds, ambient which pods it
captures and which waypoint serves what, and trace follows a request through both.

A TARGET is a pod (POD or pod/NAME), a workload or Service whose ready pod to read
(TYPE/NAME as kubectl takes it: deploy/NAME, sts/NAME, ds/NAME, svc/NAME, ...; the pod
kubectl logs would pick), -l SELECTOR, or -f FILE for a saved dump. Live reads port-forward
to the pod's Envoy admin port through the API server, as kubectl port-forward does.

Exit status: 0 success, 1 a negative answer (a difference, a failing check), 2 bad usage
or input, 3 a cluster, connection or permission failure, 4 trace could not evaluate a stage
its answer depends on.`,
		Example: `  # What the sidecar of a pod behind deploy/frontend listens on
  kubectl mesh listeners deploy/frontend -n demo

  # Its routes, from a saved dump
  kubectl mesh routes -f examples/istio-sidecar.json

  # Endpoint health as Envoy sees it, as JSON
  kubectl mesh endpoints deploy/frontend -o json`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Annotations: map[string]string{
			cobra.CommandDisplayNameAnnotation: "kubectl mesh",
		},
	}
	// "kubectl mesh" alone prints help; an unknown command is bad usage
	// (exit 2), with cobra's suggestions.
	root.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
	root.SuggestionsMinimumDistance = 2
	root.Args = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		hint := ""
		if s := c.SuggestionsFor(args[0]); len(s) > 0 {
			hint = "; did you mean " + strings.Join(s, " or ") + "?"
		}
		return usageError("unknown command %q for %q%s (see 'kubectl mesh --help')", args[0], c.CommandPath(), hint)
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError("%v (see '%s --help')", err, c.CommandPath())
	})
	root.SetHelpCommandGroupID(groupUtility)
	root.SetCompletionCommandGroupID(groupUtility)

	// The standard kube flags (--kubeconfig, --context, -n, --as, ...).
	if deps.KubeFlags == nil {
		deps.KubeFlags = kube.NewFlags()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	deps.KubeFlags.AddFlags(root.PersistentFlags())
	deps.noColor = root.PersistentFlags().Bool("no-color", false, "never colour the output (also: the NO_COLOR environment variable, or TERM=dumb; colour is only ever used on a terminal)")
	deps.verbose = root.PersistentFlags().IntP("v", "v", 0, "verbosity: 1 adds informational notes (such as the typed configs of types outside Envoy's API, kept opaque)")
	_ = root.RegisterFlagCompletionFunc("namespace", completeNamespaces(deps.KubeFlags))
	_ = root.RegisterFlagCompletionFunc("context", completeContexts(deps.KubeFlags))

	root.AddCommand(
		NewListenersCmd(deps),
		NewRoutesCmd(deps),
		NewClustersCmd(deps),
		NewEndpointsCmd(deps),
		NewSecretsCmd(deps),
		NewECDSCmd(deps),
		NewBootstrapCmd(deps),
		NewConfigCmd(deps),
		NewStatusCmd(deps),
		NewPilotCmd(deps),
		NewDiffCmd(deps),
		NewTraceCmd(deps),
		NewRouteCheckCmd(deps),
		NewLogsCmd(deps),
		NewSnapshotCmd(deps),
		NewAdminCmd(deps),
		NewZtunnelCmd(deps),
		NewAmbientCmd(deps),
		NewVersionCmd(deps),
	)
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	describeCompletion(root)
	guardFaults(root)
	used := map[string]bool{}
	for _, c := range root.Commands() {
		used[c.GroupID] = true
	}
	for _, g := range groups {
		if used[g.ID] {
			root.AddGroup(g)
		}
	}
	return root
}

// guardFaults runs every command under envoyadmin.Guard: a dump file that
// shrinks while it is mapped is one line of error (exit 2), not SIGBUS.
func guardFaults(c *cobra.Command) {
	if run := c.RunE; run != nil {
		c.RunE = func(c *cobra.Command, args []string) error {
			return envoyadmin.Guard(func() error { return run(c, args) })
		}
	}
	for _, sub := range c.Commands() {
		guardFaults(sub)
	}
}

// describeCompletion says, on cobra's completion command, how kubectl
// itself completes the plugin.
func describeCompletion(root *cobra.Command) {
	c, _, err := root.Find([]string{"completion"})
	if err != nil || c == root {
		return
	}
	c.Long = `Write the completion script of kubectl-mesh for a shell: bash, zsh, fish or powershell.

For "kubectl mesh <TAB>" kubectl (1.26 and later) completes plugins itself: it runs an
executable named kubectl_complete-mesh from PATH. "make install" links it; with krew, link
it next to the plugin (see the examples). It completes commands, flags, -o values and the
pods (with an istio-proxy sidecar), deployments and services of the current namespace.`
	c.Example = `  # kubectl mesh <TAB> through kubectl (a krew install or a copied binary)
  ln -s "$(command -v kubectl-mesh)" "$(dirname "$(command -v kubectl-mesh)")/kubectl_complete-mesh"

  # kubectl-mesh <TAB> in bash, for this shell
  source <(kubectl mesh completion bash)

  # zsh, for every new shell
  kubectl mesh completion zsh > "${fpath[1]}/_kubectl-mesh"`
}
