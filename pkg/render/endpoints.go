package render

import (
	"io"
	"strconv"
	"unicode/utf8"

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
		weight := strconv.FormatUint(uint64(e.Weight), 10)
		if e.WeightInvalid != "" {
			weight = invalidWeight(e.WeightInvalid)
		}
		if opts.Wide {
			r.Row(e.Address, e.Health, dash(e.Outlier), weight, dash(e.Locality), e.Cluster,
				strconv.FormatUint(uint64(e.Priority), 10), dash(e.Hostname))
			return
		}
		r.Row(e.Address, e.Health, dash(e.Outlier), weight, dash(e.Locality), e.Cluster)
	})
	return t.Flush()
}

// invalidWeight is the WEIGHT cell of a host whose weight Envoy rejects:
// what is written, cut short.
func invalidWeight(raw string) string {
	if len(raw) > 24 {
		cut := 21
		for cut > 0 && !utf8.RuneStart(raw[cut]) {
			cut--
		}
		raw = raw[:cut] + "..."
	}
	return "INVALID " + raw
}
