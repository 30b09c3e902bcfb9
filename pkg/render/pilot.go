package render

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/pilot"
)

// SyncStatus writes one row per proxy and istiod instance: the state of
// each xDS type, out-of-sync proxies first.
func SyncStatus(w io.Writer, ss []pilot.SyncStatus, now time.Time, opts TableOptions) error {
	cols := []string{"NAME", "CLUSTER"}
	types := []string{}
	for _, t := range pilot.SyncTypes {
		types = append(types, t.Name)
	}
	// Ambient's types, when a ztunnel is connected: a ztunnel has no
	// Envoy type (-), an Envoy no ambient one.
	ambient := false
	for _, s := range ss {
		ambient = ambient || s.IsZtunnel()
	}
	if ambient {
		for _, t := range pilot.AmbientSyncTypes {
			types = append(types, t.Name)
		}
	}
	cols = append(cols, types...)
	if opts.Wide {
		cols = append(cols, "TYPE")
	}
	cols = append(cols, "ISTIOD", "VERSION")
	t := NewTable(w, opts, cols...)
	for _, s := range ss {
		row := []string{s.Proxy, dash(s.ClusterID)}
		for _, typ := range types {
			cell, ok := s.Types[typ]
			if !ok {
				row = append(row, "-")
				continue
			}
			if t, ok := s.Sent[typ]; ok && cell != pilot.NotSent {
				cell += " " + age(now.Sub(t))
			}
			row = append(row, cell)
		}
		if opts.Wide {
			row = append(row, dash(s.ProxyType))
		}
		row = append(row, dash(s.Istiod), dash(s.IstioVersion))
		t.Row(row...)
	}
	return t.Flush()
}

// Registry writes istiod's services.
func Registry(w io.Writer, svcs []pilot.Service, opts TableOptions) error {
	cols := []string{"HOSTNAME", "NAMESPACE", "REGISTRY", "ADDRESSES", "PORTS"}
	if opts.Wide {
		cols = append(cols, "RESOLUTION", "MESH EXTERNAL")
	}
	t := NewTable(w, opts, cols...)
	for _, s := range svcs {
		row := []string{s.Hostname, dash(s.Namespace), dash(s.Registry), dash(strings.Join(s.Addresses, ",")), dash(strings.Join(s.Ports, ","))}
		if opts.Wide {
			row = append(row, s.Resolution, fmt.Sprint(s.MeshExternal))
		}
		t.Row(row...)
	}
	return t.Flush()
}

// ConfigObjects writes the Istio and Gateway API objects istiod holds.
func ConfigObjects(w io.Writer, objs []pilot.ConfigObject, opts TableOptions) error {
	cols := []string{"KIND", "NAMESPACE", "NAME", "RESOURCE VERSION", "CREATED"}
	if opts.Wide {
		cols = append(cols, "API VERSION")
	}
	t := NewTable(w, opts, cols...)
	for _, o := range objs {
		row := []string{o.Kind, dash(o.Namespace), o.Name, dash(o.ResourceVersion), dash(o.Created)}
		if opts.Wide {
			row = append(row, o.APIVersion)
		}
		t.Row(row...)
	}
	return t.Flush()
}

// JSONTable writes any JSON document as a table: a list of objects one row
// each with their scalar fields as columns (nested values as compact JSON),
// an object as FIELD/VALUE rows. For istiod views whose shape varies
// across versions.
func JSONTable(w io.Writer, data []byte, opts TableOptions) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return fmt.Errorf("not JSON: %v", err)
	}
	switch x := v.(type) {
	case []any:
		keys := map[string]bool{}
		for _, e := range x {
			if m, ok := e.(map[string]any); ok {
				for k := range m {
					keys[k] = true
				}
			}
		}
		cols := slices.Sorted(maps.Keys(keys))
		if len(cols) == 0 {
			cols = []string{"VALUE"}
		}
		header := make([]string, len(cols))
		for i, c := range cols {
			header[i] = strings.ToUpper(c)
		}
		t := NewTable(w, opts, header...)
		for _, e := range x {
			m, ok := e.(map[string]any)
			if !ok {
				t.Row(cell(e))
				continue
			}
			row := make([]string, len(cols))
			for i, c := range cols {
				row[i] = cell(m[c])
			}
			t.Row(row...)
		}
		return t.Flush()
	case map[string]any:
		t := NewTable(w, opts, "FIELD", "VALUE")
		for _, k := range slices.Sorted(maps.Keys(x)) {
			t.Row(k, cell(x[k]))
		}
		return t.Flush()
	}
	_, err := fmt.Fprintln(w, cell(v))
	return err
}

// cell shows a JSON value in one table cell.
func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case string:
		return dash(x)
	case float64, bool:
		return fmt.Sprint(x)
	}
	b, _ := json.Marshal(v)
	s := string(b)
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

// age is kubectl's short duration: 45s, 12m, 3h, 2d.
func age(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
