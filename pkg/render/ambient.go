package render

import (
	"io"
	"strconv"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/ambient"
)

// AmbientPodRow is one pod of `kubectl mesh ambient`.
type AmbientPodRow struct {
	Namespace, Name, Node, Mode, Why, Captured, Waypoint, WaypointWhy string
	Problems                                                          int
}

// AmbientServiceRow is one Service of `kubectl mesh ambient`.
type AmbientServiceRow struct {
	Namespace, Name, Waypoint, WaypointWhy string
	Problems                               int
}

// AmbientPods writes the pods: mode, capture and workload waypoint; -o
// wide adds why.
func AmbientPods(w io.Writer, rows []AmbientPodRow, opts TableOptions) error {
	cols := []string{"NAMESPACE", "POD", "NODE", "MODE", "CAPTURED", "WAYPOINT", "WARNINGS"}
	if opts.Wide {
		cols = append(cols, "WHY", "WAYPOINT WHY")
	}
	t := NewTable(w, opts, cols...)
	for _, r := range rows {
		cells := []string{r.Namespace, r.Name, dash(r.Node), r.Mode, dash(r.Captured), dash(r.Waypoint), strconv.Itoa(r.Problems)}
		if opts.Wide {
			cells = append(cells, r.Why, dash(r.WaypointWhy))
		}
		t.Row(cells...)
	}
	return t.Flush()
}

// AmbientServices writes the Services and their waypoints.
func AmbientServices(w io.Writer, rows []AmbientServiceRow, opts TableOptions) error {
	cols := []string{"NAMESPACE", "SERVICE", "WAYPOINT", "WARNINGS"}
	if opts.Wide {
		cols = append(cols, "WAYPOINT WHY")
	}
	t := NewTable(w, opts, cols...)
	for _, r := range rows {
		cells := []string{r.Namespace, r.Name, dash(r.Waypoint), strconv.Itoa(r.Problems)}
		if opts.Wide {
			cells = append(cells, dash(r.WaypointWhy))
		}
		t.Row(cells...)
	}
	return t.Flush()
}

// AmbientWaypoints writes the waypoint Gateways.
func AmbientWaypoints(w io.Writer, wps []ambient.Waypoint, opts TableOptions) error {
	cols := []string{"NAMESPACE", "WAYPOINT", "FOR", "READY", "ADDRESS"}
	if opts.Wide {
		cols = append(cols, "CLASS")
	}
	t := NewTable(w, opts, cols...)
	for _, wp := range wps {
		cells := []string{wp.Namespace, wp.Name, wp.For, strconv.FormatBool(wp.Ready), dash(wp.Address)}
		if opts.Wide {
			cells = append(cells, wp.Class)
		}
		t.Row(cells...)
	}
	return t.Flush()
}
