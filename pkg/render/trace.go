package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/trace"
)

// TraceDoc is what "kubectl mesh trace -o json" prints: the request and
// each hop (DESIGN.md's schema).
type TraceDoc struct {
	Request TraceRequest `json:"request"`
	Hops    []*trace.Hop `json:"hops"`
}

// TraceRequest is the request as traced.
type TraceRequest struct {
	From     string            `json:"from,omitempty"`
	URL      string            `json:"url,omitempty"`
	Method   string            `json:"method,omitempty"`
	Headers  map[string]string `json:"headers,omitempty"`
	Address  string            `json:"address"`
	Port     uint32            `json:"port"`
	Protocol string            `json:"protocol"`
	TLS      string            `json:"tls"`
	SNI      string            `json:"sni,omitempty"`
	ALPN     []string          `json:"alpn,omitempty"`
	Host     string            `json:"host,omitempty"`
	Path     string            `json:"path,omitempty"`
	Mode     string            `json:"mode"`
	// Inferred says how the destination was found when it was not given.
	Inferred string `json:"inferred,omitempty"`
}

// Trace writes the hops as a tree: each stage, what was chosen and why,
// then the outcome, notes and the candidates that did not match.
func Trace(w io.Writer, doc *TraceDoc, color bool) error {
	var b strings.Builder
	r := doc.Request
	what := r.Protocol
	if r.Method != "" && r.Protocol != "tcp" {
		what = r.Method + " " + r.Host + r.Path + " (" + r.Protocol + ")"
	}
	to := fmt.Sprintf("%s:%d", r.Address, r.Port)
	if r.Address == "" {
		to = fmt.Sprintf("port %d", r.Port)
	}
	fmt.Fprintf(&b, "Request: %s to %s, %s\n", what, to, r.TLS)
	if r.Inferred != "" {
		fmt.Fprintf(&b, "note: %s\n", r.Inferred)
	}
	for i, h := range doc.Hops {
		proxy := h.Proxy
		if proxy == "" {
			proxy = "proxy"
		}
		fmt.Fprintf(&b, "\n%d. %s (%s)\n", i+1, proxy, h.Direction)
		for _, s := range h.Steps {
			name := s.Name
			if name == "" {
				name = "-"
			}
			fmt.Fprintf(&b, "   %-16s %s\n   %-16s   %s\n", strings.ReplaceAll(s.Stage, "_", " "), name, "", s.Reason)
		}
		if c := h.ClusterInfo; c != nil {
			fmt.Fprintf(&b, "   %-16s type %s, load balancing %s, TLS %s", "cluster", dash(c.Type), dash(c.LBPolicy), dash(c.TLS))
			if c.SNI != "" {
				fmt.Fprintf(&b, ", SNI %s", c.SNI)
			}
			if c.CircuitBreakers != "" {
				fmt.Fprintf(&b, ", circuit breakers %s", c.CircuitBreakers)
			}
			b.WriteString("\n")
		}
		for _, wc := range h.Weighted {
			mark := ""
			if wc.Picked {
				mark = "  <- picked"
			}
			fmt.Fprintf(&b, "   %-16s %s %.4g%% (weight %d)%s\n", "split", wc.Cluster, wc.Percent, wc.Weight, mark)
		}
		for _, e := range h.Endpoints {
			fmt.Fprintf(&b, "   %-16s %s %s", "endpoint", e.Address, e.Health)
			if e.Locality != "" {
				fmt.Fprintf(&b, " %s", e.Locality)
			}
			b.WriteString("\n")
		}
		for _, rw := range h.Rewrites {
			fmt.Fprintf(&b, "   %-16s %s\n", "rewrite", rw)
		}
		result := h.Result
		if h.Status != 0 {
			result += fmt.Sprintf(" (%d)", h.Status)
		}
		if h.Flag != "" {
			result += ", response flag " + h.Flag
		}
		if h.Location != "" {
			result += " to " + h.Location
		}
		if h.Result == trace.Unknown && h.UnknownDependsOn != "" {
			result += ": depends on " + h.UnknownDependsOn
		}
		if color {
			c := colorRed
			switch {
			case h.Result == trace.Unknown:
				c = "\x1b[33m"
			case !trace.Failed(h.Result):
				c = "\x1b[32m"
			}
			result = c + result + colorReset
		}
		for _, a := range h.Authorization {
			line := fmt.Sprintf("%s %s: %s", a.Action, a.Decision, a.Reason)
			fmt.Fprintf(&b, "   %-16s %s (%s)\n", "authorization", line, a.Filter)
		}
		fmt.Fprintf(&b, "   %-16s %s\n", "=> result", result)
		for _, n := range h.Notes {
			fmt.Fprintf(&b, "   note: %s\n", n)
		}
		if len(h.Rejected) > 0 {
			fmt.Fprintf(&b, "   not taken (%d):\n", len(h.Rejected))
			shown := h.Rejected
			if len(shown) > 20 {
				shown = shown[:20]
			}
			for _, rj := range shown {
				fmt.Fprintf(&b, "     %s %s: %s\n", strings.ReplaceAll(rj.Stage, "_", " "), rj.Name, rj.Reason)
			}
			if len(h.Rejected) > len(shown) {
				fmt.Fprintf(&b, "     ... and %d more (-o json lists them all)\n", len(h.Rejected)-len(shown))
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// TraceDot writes the path as a Graphviz graph: one node per stage, hops
// in clusters, the failing stage in red.
func TraceDot(w io.Writer, doc *TraceDoc) error {
	var b strings.Builder
	b.WriteString("digraph trace {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n")
	prev := "request"
	fmt.Fprintf(&b, "  request [label=%q, shape=ellipse];\n", fmt.Sprintf("%s:%d %s", doc.Request.Address, doc.Request.Port, doc.Request.Protocol))
	for i, h := range doc.Hops {
		fmt.Fprintf(&b, "  subgraph cluster_%d {\n    label=%q;\n", i, h.Proxy+" ("+h.Direction+")")
		for j, s := range h.Steps {
			id := fmt.Sprintf("h%d_%d", i, j)
			fmt.Fprintf(&b, "    %s [label=%q];\n", id, strings.ReplaceAll(s.Stage, "_", " ")+"\\n"+dash(s.Name))
			fmt.Fprintf(&b, "  %s -> %s;\n", prev, id)
			prev = id
		}
		id := fmt.Sprintf("h%d_result", i)
		color := "darkgreen"
		switch {
		case h.Result == trace.Unknown:
			color = "orange"
		case trace.Failed(h.Result):
			color = "red"
		}
		label := h.Result
		if h.Flag != "" {
			label += " " + h.Flag
		}
		fmt.Fprintf(&b, "    %s [label=%q, color=%s, fontcolor=%s];\n  }\n", id, label, color, color)
		fmt.Fprintf(&b, "  %s -> %s;\n", prev, id)
		prev = id
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}
