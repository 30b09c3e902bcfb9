package cmd

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// adminPaths are the read-only admin endpoints worth offering on TAB.
var adminPaths = []string{
	"/server_info", "/config_dump", "/config_dump?include_eds", "/clusters", "/clusters?format=json",
	"/listeners", "/stats", "/stats/prometheus", "/certs", "/runtime", "/memory", "/ready",
	"/hot_restart_version", "/contention", "/init_dump", "/stats?usedonly",
}

// AdminOptions are the options of "kubectl mesh admin".
type AdminOptions struct {
	*ProxyOptions
	Path string
}

// NewAdminCmd returns the admin command: a raw GET to a proxy's admin API,
// or a tunnel to it kept open.
func NewAdminCmd(deps Deps) *cobra.Command {
	o := &AdminOptions{ProxyOptions: newProxyOptions(deps)}
	cmd := &cobra.Command{
		Use:     "admin (POD | TYPE/NAME | -l SELECTOR) [PATH]",
		GroupID: groupUtility,
		Short:   "GET a path of a proxy's Envoy admin API, or keep a tunnel to it open",
		Long: `With a PATH, GET it from the proxy's Envoy admin API (15000 for Istio's sidecar, or
--admin-port) through a port-forward and print the answer as it is. Without one, open the
tunnel, print its URL and keep it open until Ctrl-C. Only GET is sent: the admin API's
mutating endpoints are out of reach.`,
		Example: `  # Envoy's build and state
  kubectl mesh admin deploy/frontend /server_info

  # Upstream request counters of one service
  kubectl mesh admin frontend-7d9c5 '/stats?filter=cluster.outbound.*reviews.*upstream_rq_total'

  # Browse the admin UI yourself
  kubectl mesh admin frontend-7d9c5`,
		Args: cobra.MaximumNArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 2 {
				o.Path, args = args[1], args[:1]
			} else if len(args) == 1 && strings.HasPrefix(args[0], "/") && o.Selector != "" {
				o.Path, args = args[0], nil
			}
			if o.Path != "" && !strings.HasPrefix(o.Path, "/") {
				return usageError("the admin PATH starts with /, as in /server_info")
			}
			if err := o.Complete(args); err != nil {
				return err
			}
			src, ok := o.Source.(*podSource)
			if !ok {
				return usageError("admin talks to a live pod; -f is for the other commands")
			}
			defer src.Close()
			if err := src.connect(c.Context()); err != nil {
				return err
			}
			if o.Path == "" {
				fmt.Fprintf(o.Out, "Envoy admin of %s/%s at %s (Ctrl-C to close)\n", src.namespace, src.name, src.base)
				<-c.Context().Done()
				return nil
			}
			body, err := src.Get(c.Context(), o.Path)
			if err != nil {
				return err
			}
			_, err = o.Out.Write(body)
			return err
		},
	}
	cmd.Flags().StringVarP(&o.Selector, "selector", "l", "", "read a Running and Ready pod matching this label selector")
	cmd.Flags().IntVar(&o.AdminPort, "admin-port", 0, "Envoy admin port, for Envoys other than Istio's sidecar (default: the istio-proxy container's 15000)")
	targets := completeTargets(deps.KubeFlags)
	cmd.ValidArgsFunction = func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) == 1 || (len(args) == 0 && o.Selector != "") {
			return adminPaths, cobra.ShellCompDirectiveNoFileComp
		}
		return targets(c, args, toComplete)
	}
	return cmd
}
