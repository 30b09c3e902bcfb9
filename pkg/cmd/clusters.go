package cmd

import (
	"cmp"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/render"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// ClustersOptions are the options of "kubectl mesh clusters".
type ClustersOptions struct {
	*ProxyOptions
	Filter xds.ClusterFilter
}

// NewClustersCmd returns the clusters command.
func NewClustersCmd(deps Deps) *cobra.Command {
	o := &ClustersOptions{ProxyOptions: newProxyOptions(deps)}
	cmd := &cobra.Command{
		Use:     "clusters (POD | -f FILE)",
		Aliases: []string{"cluster", "cds"},
		GroupID: groupInspect,
		Short:   "Show clusters: service, port, subset, direction, type, load balancing, TLS mode",
		Long: `Show a proxy's upstream clusters: the service FQDN, port, subset and direction Istio encodes
in the name, the discovery type, load-balancing policy, how it talks TLS to its endpoints
(Istio's automatic mTLS, TLS, mTLS, plaintext) and the DestinationRule behind it.
Warming clusters are shown and explained below the table.`,
		Example: `  # Clusters of a pod's sidecar
  kubectl mesh clusters frontend-7d9c5 -n demo

  # The subsets of one service, with SNI and circuit breakers
  kubectl mesh clusters -f examples/istio-sidecar.json --fqdn backend.demo.svc.cluster.local -o wide

  # Inbound clusters only, from a saved dump
  kubectl mesh clusters -f examples/istio-sidecar.json --direction inbound`,
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
			if err := oneOf("--direction", o.Filter.Direction, "inbound", "outbound"); err != nil {
				return err
			}
			return o.watching(c, func() error { return o.Run(c) })
		},
	}
	o.AddFlags(cmd)
	cmd.Flags().StringVar(&o.Filter.FQDN, "fqdn", "", "only clusters of this service FQDN (or cluster name)")
	cmd.Flags().Uint32Var(&o.Filter.Port, "port", 0, "only clusters of this port")
	cmd.Flags().StringVar(&o.Filter.Subset, "subset", "", "only clusters of this subset")
	cmd.Flags().StringVar(&o.Filter.Direction, "direction", "", "only clusters of this direction: inbound, outbound")
	_ = cmd.RegisterFlagCompletionFunc("direction", completeWords("inbound", "outbound"))
	return cmd
}

// Run prints the clusters.
func (o *ClustersOptions) Run(c *cobra.Command) error {
	cfg, done, err := o.load(c.Context(), envoyadmin.KindCluster)
	if err != nil {
		return err
	}
	defer done()
	if o.structured() && o.Filter.IsZero() {
		return o.dumpAll(cfg, "clusters", envoyadmin.KindCluster)
	}
	var cs []*xds.Cluster
	for _, cl := range cfg.Clusters() {
		if o.Filter.Match(cl) {
			cs = append(cs, cl)
		}
	}
	o.Source.Evict()
	if o.none(cfg, len(cs), "clusters", envoyadmin.KindCluster) {
		return nil
	}
	if o.structured() {
		entries := make([]envoyadmin.Entry, len(cs))
		for i, cl := range cs {
			entries[i] = cl.Entry
		}
		return render.DumpReleasing(o.Out, entries, o.Output == outYAML, cfg.Dump.Done)
	}
	sortClusters(cs)
	return render.Clusters(o.Out, cs, o.table())
}

// sortClusters orders as istioctl does: FQDN, port, subset, direction.
func sortClusters(cs []*xds.Cluster) {
	// Stable by the dump's order, as a last key: an unstable sort moves
	// each cluster O(log n) times, where a stable one rotates runs over
	// and over (O(n log² n) moves).
	type keyed struct {
		c *xds.Cluster
		i int
	}
	ks := make([]keyed, len(cs))
	for i, c := range cs {
		ks[i] = keyed{c, i}
	}
	slices.SortFunc(ks, func(x, y keyed) int {
		a, b := x.c, y.c
		if c := strings.Compare(a.FQDN, b.FQDN); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Port, b.Port); c != 0 {
			return c
		}
		if c := strings.Compare(a.Subset, b.Subset); c != 0 {
			return c
		}
		if c := strings.Compare(a.Direction, b.Direction); c != 0 {
			return c
		}
		return cmp.Compare(x.i, y.i)
	})
	for i, k := range ks {
		cs[i] = k.c
	}
}
