package render

import (
	"io"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
)

// Dump writes entries as an Envoy admin config dump ({"configs": [...]},
// one section per kind, entries in their original lists), so that what
// -o json prints can be read back with -f by this tool, istioctl or egctl.
// Entries of /clusters?format=json are written as {"cluster_statuses": [...]}.
// The entries' bytes are streamed out; nothing is copied or decoded.
func Dump(w io.Writer, entries []envoyadmin.Entry, yaml bool) error {
	return DumpReleasing(w, entries, yaml, nil)
}

// releaseEvery is how many entries are written between releases.
const releaseEvery = 256

// DumpReleasing is Dump calling release(first, last) on each run of entries
// written (in the order written), so the memory holding their bytes can be
// let go of as the output goes (envoyadmin's Dump.Done): writing a large
// dump out then keeps little of it resident.
func DumpReleasing(w io.Writer, entries []envoyadmin.Entry, yaml bool, release func(first, last envoyadmin.Entry)) error {
	e := NewEmitter(w, yaml)
	var run []envoyadmin.Entry // the entries written since the last release
	flush := func() {
		if release != nil && len(run) > 0 {
			release(run[0], run[len(run)-1])
			run = run[:0]
		}
	}
	written := func(en envoyadmin.Entry) {
		if release != nil {
			if run = append(run, en); len(run) >= releaseEvery {
				flush()
			}
		}
	}
	if len(entries) > 0 && entries[0].Kind == envoyadmin.KindClusterStatus {
		e.open()
		e.list("cluster_statuses", 0)
		for _, en := range entries {
			e.item(en.Raw, "", 1)
		}
		e.closeList(0)
		e.close()
		return e.Flush()
	}
	order := []envoyadmin.Kind{envoyadmin.KindBootstrap, envoyadmin.KindCluster, envoyadmin.KindECDS, envoyadmin.KindListener,
		envoyadmin.KindScopedRoute, envoyadmin.KindRouteConfig, envoyadmin.KindSecret, envoyadmin.KindEndpoints}
	seen := map[*byte]bool{}
	e.open()
	e.list("configs", 0)
	for _, k := range order {
		// Lists in order of first appearance; an entry shown in two states once.
		var lists []string
		byList := map[string][]envoyadmin.Entry{}
		for _, en := range entries {
			raw := en.Raw.Raw()
			if en.Kind != k || len(raw) == 0 || seen[&raw[0]] {
				continue
			}
			seen[&raw[0]] = true
			if _, ok := byList[en.List]; !ok {
				lists = append(lists, en.List)
			}
			byList[en.List] = append(byList[en.List], en)
		}
		if len(lists) == 0 {
			continue
		}
		e.sectionStart("type.googleapis.com/envoy.admin.v3." + k.Section())
		if k == envoyadmin.KindBootstrap {
			e.member("bootstrap", byList[lists[0]][0].Raw, 2)
		} else {
			for _, l := range lists {
				e.list(l, 2)
				for _, en := range byList[l] {
					wrap := ""
					if en.Bare {
						wrap = k.ResourceKey()
					}
					e.item(en.Raw, wrap, 3)
					written(en)
				}
				flush() // a run never spans two lists
				e.closeList(2)
			}
		}
		e.sectionEnd()
	}
	e.closeList(0)
	e.close()
	return e.Flush()
}

// The wrapper is written by hand around the streamed entries. In JSON each
// level is an object or list whose members are separated by commas; the
// emitter remembers whether a comma is due at each depth.

func (e *Emitter) open() {
	if !e.yaml {
		e.ws("{")
	}
	e.first = append(e.first[:0], true)
}

func (e *Emitter) close() {
	if !e.yaml {
		e.ws("\n}")
	}
	e.ws("\n")
}

func (e *Emitter) sep(depth int) {
	for len(e.first) <= depth {
		e.first = append(e.first, true)
	}
	if !e.first[depth] {
		e.ws(",")
	}
	e.first[depth] = false
}

// list starts a member holding a list; depth is the member's object depth.
func (e *Emitter) list(name string, depth int) {
	if e.yaml {
		e.indent(depth)
		e.ws(name + ":") // the line ends when the first item comes
		e.listEmpty = true
		return
	}
	e.sep(depth)
	e.ws("\n")
	e.indent(2 * (depth + 1))
	e.ws(`"` + name + `": [`)
	e.first = append(e.first[:depth+1], true)
}

func (e *Emitter) closeList(depth int) {
	if e.yaml {
		if e.listEmpty {
			e.ws(" []\n")
			e.listEmpty = false
		}
		return
	}
	if len(e.first) > depth+1 && e.first[depth+1] {
		e.ws("]")
		return
	}
	e.ws("\n")
	e.indent(2 * (depth + 1))
	e.ws("]")
}

// item writes one list element at depth, optionally wrapped as {wrap: v}.
func (e *Emitter) item(v jsonscan.Value, wrap string, depth int) {
	if e.yaml {
		e.yamlListStarted()
		ind := yamlIndent(depth)
		e.indent(ind)
		e.ws("- ")
		if wrap != "" {
			e.ws(wrap + ":")
			e.yamlAfterKey(v, ind+2)
			return
		}
		if (v.Kind() == jsonscan.Object || v.Kind() == jsonscan.Array) && !v.Empty() {
			e.yamlBlock(v, ind+2)
		} else {
			e.yamlScalarOrEmpty(v)
			e.ws("\n")
		}
		return
	}
	e.sep(depth)
	e.ws("\n")
	e.indent(2 * (depth + 1))
	if wrap != "" {
		e.ws("{\n")
		e.indent(2 * (depth + 2))
		e.ws(`"` + wrap + `": `)
		e.json(v, depth+2)
		e.ws("\n")
		e.indent(2 * (depth + 1))
		e.ws("}")
		return
	}
	e.json(v, depth+1)
}

// sectionStart opens a config section: a list element of "configs".
func (e *Emitter) sectionStart(typeURL string) {
	if e.yaml {
		e.yamlListStarted()
		e.ws(`- "@type": ` + typeURL + "\n")
		return
	}
	e.sep(1)
	e.ws("\n    {\n      \"@type\": \"" + typeURL + `"`)
	e.first = append(e.first[:2], false)
}

func (e *Emitter) sectionEnd() {
	if !e.yaml {
		e.ws("\n    }")
	}
}

// member writes "name": v inside a section.
func (e *Emitter) member(name string, v jsonscan.Value, depth int) {
	if e.yaml {
		e.indent(2)
		e.ws(name + ":")
		e.yamlAfterKey(v, 2)
		return
	}
	e.sep(depth)
	e.ws("\n")
	e.indent(2 * (depth + 1))
	e.ws(`"` + name + `": `)
	e.json(v, depth+1)
}

func (e *Emitter) yamlListStarted() {
	if e.listEmpty {
		e.ws("\n")
		e.listEmpty = false
	}
}

// yamlIndent maps the wrapper's JSON depth to YAML columns: configs at 0,
// a section's members at 2, their list items at 2.
func yamlIndent(depth int) int {
	if depth <= 1 {
		return 0
	}
	return 2
}
