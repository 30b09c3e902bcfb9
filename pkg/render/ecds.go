package render

import (
	"io"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// ExtensionConfigs writes one row per ECDS filter config.
func ExtensionConfigs(w io.Writer, xs []*xds.ExtensionConfig, opts TableOptions) error {
	cols := []string{"ECDS NAME", "TYPE", "STATE"}
	if opts.Wide {
		cols = append(cols, "VERSION", "LAST UPDATED")
	}
	t := NewTable(w, opts, cols...)
	var ns []note
	for _, x := range xs {
		ns = addNote(ns, note{x.Name, x.State, x.Version, x.LastUpdated, x.Error})
		cells := []string{x.Name, x.Type, string(x.State)}
		if opts.Wide {
			cells = append(cells, dash(x.Version), dash(x.LastUpdated))
		}
		t.Row(cells...)
	}
	if err := t.Flush(); err != nil {
		return err
	}
	return stateNotes(w, "extension config", ns)
}
