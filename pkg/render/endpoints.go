package render

import (
	"io"
	"strconv"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// Endpoints writes one row per endpoint of each cluster.
func Endpoints(w io.Writer, es []*xds.Endpoint, opts TableOptions) error {
	cols := []string{"ENDPOINT", "STATUS", "OUTLIER CHECK", "WEIGHT", "LOCALITY", "CLUSTER"}
	if opts.Wide {
		cols = append(cols, "PRIORITY", "HOSTNAME")
	}
	t := NewTable(w, opts, cols...)
	t.RowsOf(len(es), func(i int, r *Rows) {
		e := es[i]
		if opts.Wide {
			r.Row(e.Address, e.Health, dash(e.Outlier), strconv.FormatUint(uint64(e.Weight), 10), dash(e.Locality), e.Cluster,
				strconv.FormatUint(uint64(e.Priority), 10), dash(e.Hostname))
			return
		}
		r.Row(e.Address, e.Health, dash(e.Outlier), strconv.FormatUint(uint64(e.Weight), 10), dash(e.Locality), e.Cluster)
	})
	return t.Flush()
}
