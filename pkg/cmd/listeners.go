package cmd

import (
	"github.com/spf13/cobra"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/render"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// ListenersOptions are the options of "kubectl mesh listeners".
type ListenersOptions struct {
	*ProxyOptions
	Filter xds.ListenerFilter
}

// NewListenersCmd returns the listeners command.
func NewListenersCmd(deps Deps) *cobra.Command {
	o := &ListenersOptions{ProxyOptions: newProxyOptions(deps)}
	cmd := &cobra.Command{
		Use:     "listeners (POD | -f FILE)",
		Aliases: []string{"listener", "lis"},
		GroupID: groupInspect,
		Short:   "Show a proxy's listeners, one row per filter chain, with warming and rejected ones",
		Long: `Show a proxy's listeners, one row per filter chain: address and port, what the chain
matches (SNI, transport, ALPN, destination and source prefixes and ports), and where it
sends traffic (route configuration, cluster, inline routes). Listeners Envoy is warming
or has rejected (error_state) are shown and explained below the table.`,
		Example: `  # Listeners of a pod's sidecar
  kubectl mesh listeners frontend-7d9c5 -n demo

  # Of any pod behind a Service, only port 8080, with listener names, TLS and listener filters
  kubectl mesh listeners svc/frontend --port 8080 -o wide

  # An Envoy Gateway proxy (admin on 19000), picked by label
  kubectl mesh listeners -n envoy-gateway-system -l gateway.envoyproxy.io/owning-gateway-name=eg --admin-port 19000

  # A saved dump; TCP listeners as a config dump others can read
  kubectl mesh listeners -f examples/istio-sidecar.json --type TCP -o json`,
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
	cmd.Flags().Uint32Var(&o.Filter.Port, "port", 0, "only listeners on this port")
	cmd.Flags().StringVar(&o.Filter.Address, "address", "", "only listeners on this address")
	cmd.Flags().StringVar(&o.Filter.Type, "type", "", "only listeners of this type: HTTP, TCP, HTTP+TCP")
	_ = cmd.RegisterFlagCompletionFunc("type", completeWords("HTTP", "TCP", "HTTP+TCP"))
	cmd.Flags().StringVar(&o.Filter.Name, "name", "", "only the listener with this name")
	return cmd
}

// Validate checks the filters.
func (o *ListenersOptions) Validate() error {
	switch o.Filter.Type {
	case "", "HTTP", "TCP", "HTTP+TCP", "UNKNOWN", "http", "tcp", "http+tcp":
	default:
		return usageError("--type must be HTTP, TCP or HTTP+TCP, not %q", o.Filter.Type)
	}
	if err := isPort("--port", o.Filter.Port); err != nil {
		return err
	}
	if err := isIP("--address", o.Filter.Address); err != nil {
		return err
	}
	return o.ProxyOptions.Validate()
}

// Run prints the listeners.
func (o *ListenersOptions) Run(c *cobra.Command) error {
	cfg, done, err := o.load(c.Context(), envoyadmin.KindListener)
	if err != nil {
		return err
	}
	defer done()
	if o.structured() && o.Filter.IsZero() {
		// Every listener, as the dump holds it: nothing to decode.
		return o.dumpAll(cfg, "listeners", envoyadmin.KindListener)
	}
	var ls []*xds.Listener
	for _, l := range cfg.Listeners() {
		if o.Filter.Match(l) {
			ls = append(ls, l)
		}
	}
	o.Source.Evict()
	if o.none(cfg, len(ls), "listeners", envoyadmin.KindListener) {
		return nil
	}
	if o.structured() {
		entries := make([]envoyadmin.Entry, len(ls))
		for i, l := range ls {
			entries[i] = l.Entry
		}
		return render.DumpReleasing(o.Out, entries, o.Output == outYAML, cfg.Dump.Done)
	}
	xds.SortListeners(ls)
	return render.Listeners(o.Out, ls, o.table())
}
