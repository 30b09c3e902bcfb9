package render

import (
	"io"
	"strconv"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// Clusters writes one row per cluster.
func Clusters(w io.Writer, cs []*xds.Cluster, opts TableOptions) error {
	cols := []string{"SERVICE FQDN", "PORT", "SUBSET", "DIRECTION", "TYPE", "LB", "TLS", "DESTINATION RULE", "STATE"}
	if opts.Wide {
		cols = append([]string{"NAME"}, append(cols, "SNI", "EDS SERVICE", "CONNECT TIMEOUT", "CIRCUIT BREAKERS", "VERSION")...)
	}
	t := NewTable(w, opts, cols...)
	var ns []note
	for _, c := range cs {
		ns = addNote(ns, note{c.Name, c.State, c.Version, c.LastUpdated, c.Error})
	}
	t.RowsOf(len(cs), func(i int, r *Rows) {
		c := cs[i]
		port := "-"
		if c.Port != 0 {
			port = strconv.FormatUint(uint64(c.Port), 10)
		}
		if opts.Wide {
			r.Row(c.Name, c.FQDN, port, dash(c.Subset), dash(c.Direction), c.Type, c.LBPolicy, c.TLS, dash(c.DestinationRule), string(c.State),
				dash(c.SNI), dash(c.EDSServiceName), dash(c.ConnectTimeout), dash(c.CircuitBreakers), dash(c.Version))
			return
		}
		r.Row(c.FQDN, port, dash(c.Subset), dash(c.Direction), c.Type, c.LBPolicy, c.TLS, dash(c.DestinationRule), string(c.State))
	})
	if err := t.Flush(); err != nil {
		return err
	}
	return stateNotes(w, "cluster", ns)
}
