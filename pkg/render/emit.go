package render

import (
	"bufio"
	"io"
	"strings"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/redact"
)

// Emitter writes raw JSON values (parts of a dump) as indented JSON or as
// YAML, straight from their bytes: nothing is decoded, so printing a
// 100 MB dump costs about as much as reading it. Key material and
// credentials are replaced by "[redacted]" on the way out.
type Emitter struct {
	w    *bufio.Writer
	yaml bool
	err  error
	// For the hand-written wrapper of Dump: whether the next member at each
	// depth is the first (no comma due), and whether a YAML list is still empty.
	first     []bool
	listEmpty bool
}

// NewEmitter writes JSON, or YAML when yaml is true.
func NewEmitter(w io.Writer, yaml bool) *Emitter {
	return &Emitter{w: bufio.NewWriterSize(w, 256<<10), yaml: yaml}
}

// Flush writes what is buffered and returns the first error met.
func (e *Emitter) Flush() error {
	if err := e.w.Flush(); e.err == nil {
		e.err = err
	}
	return e.err
}

func (e *Emitter) ws(s string) {
	if e.err == nil {
		_, e.err = e.w.WriteString(s)
	}
}

func (e *Emitter) wb(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}

func (e *Emitter) indent(n int) {
	const spaces = "                                                                "
	for n > len(spaces) {
		e.ws(spaces)
		n -= len(spaces)
	}
	e.ws(spaces[:n])
}

// Value writes one document: v followed by a newline.
func (e *Emitter) Value(v jsonscan.Value) {
	if e.yaml {
		e.yamlTop(v)
	} else {
		e.json(v, 0)
		e.ws("\n")
	}
}

func (e *Emitter) json(v jsonscan.Value, depth int) {
	switch v.Kind() {
	case jsonscan.Object:
		if v.Empty() {
			e.ws("{}")
			return
		}
		e.ws("{")
		first, header := true, ""
		_ = v.Fields(func(k []byte, val jsonscan.Value) bool {
			if !first {
				e.ws(",")
			}
			first = false
			e.ws("\n")
			e.indent(2 * (depth + 1))
			e.ws(`"`)
			e.wb(k)
			e.ws(`": `)
			e.json(redact.ObjectMember(k, val, header), depth+1)
			if jsonscan.KeyIs(k, "key") {
				header = val.Str()
			}
			return e.err == nil
		})
		e.ws("\n")
		e.indent(2 * depth)
		e.ws("}")
	case jsonscan.Array:
		if v.Empty() {
			e.ws("[]")
			return
		}
		e.ws("[")
		_ = v.Items(func(i int, val jsonscan.Value) bool {
			if i > 0 {
				e.ws(",")
			}
			e.ws("\n")
			e.indent(2 * (depth + 1))
			e.json(redact.ArrayItem(val), depth+1)
			return e.err == nil
		})
		e.ws("\n")
		e.indent(2 * depth)
		e.ws("]")
	default:
		e.wb(v.Raw())
	}
}

func (e *Emitter) yamlTop(v jsonscan.Value) {
	switch v.Kind() {
	case jsonscan.Object, jsonscan.Array:
		if v.Empty() {
			e.yamlScalarOrEmpty(v)
			e.ws("\n")
			return
		}
		e.yamlBlock(v, 0)
	default:
		e.yamlScalarOrEmpty(v)
		e.ws("\n")
	}
}

// yamlBlock writes a non-empty object or array whose first line starts at the
// current position (the start of a line, or after "- "), indented by ind.
func (e *Emitter) yamlBlock(v jsonscan.Value, ind int) {
	if v.Kind() == jsonscan.Object {
		first, header := true, ""
		_ = v.Fields(func(k []byte, val jsonscan.Value) bool {
			if !first {
				e.indent(ind)
			}
			first = false
			e.yamlKey(k)
			e.ws(":")
			val = redact.ObjectMember(k, val, header)
			if jsonscan.KeyIs(k, "key") {
				header = val.Str()
			}
			e.yamlAfterKey(val, ind)
			return e.err == nil
		})
		return
	}
	first := true
	_ = v.Items(func(_ int, val jsonscan.Value) bool {
		if !first {
			e.indent(ind)
		}
		first = false
		e.ws("- ")
		val = redact.ArrayItem(val)
		if (val.Kind() == jsonscan.Object || val.Kind() == jsonscan.Array) && !val.Empty() {
			e.yamlBlock(val, ind+2)
		} else {
			e.yamlScalarOrEmpty(val)
			e.ws("\n")
		}
		return e.err == nil
	})
}

func (e *Emitter) yamlAfterKey(val jsonscan.Value, ind int) {
	switch {
	case val.Kind() == jsonscan.Object && !val.Empty():
		e.ws("\n")
		e.indent(ind + 2)
		e.yamlBlock(val, ind+2)
	case val.Kind() == jsonscan.Array && !val.Empty():
		// Lists sit at their key's indentation, as kubectl writes them.
		e.ws("\n")
		e.indent(ind)
		e.yamlBlock(val, ind)
	default:
		e.ws(" ")
		e.yamlScalarOrEmpty(val)
		e.ws("\n")
	}
}

func (e *Emitter) yamlScalarOrEmpty(v jsonscan.Value) {
	switch v.Kind() {
	case jsonscan.Object:
		e.ws("{}")
	case jsonscan.Array:
		e.ws("[]")
	case jsonscan.String:
		raw := v.Raw()
		if inner := raw[1 : len(raw)-1]; plainSafe(inner) {
			e.wb(inner)
		} else {
			e.wb(raw) // a JSON string is a valid YAML double-quoted scalar
		}
	default:
		e.wb(v.Raw())
	}
}

func (e *Emitter) yamlKey(k []byte) {
	if plainSafe(k) {
		e.wb(k)
		return
	}
	e.ws(`"`)
	e.wb(k)
	e.ws(`"`)
}

// plainSafe reports whether a string (raw JSON contents) can be written as a
// plain YAML scalar and read back as the same string.
func plainSafe(s []byte) bool {
	if len(s) == 0 || len(s) > 512 {
		return false
	}
	c := s[0]
	if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '/' || c == '_' || c == '.') {
		return false
	}
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '_' || c == '-' || c == '.' || c == '/' || c == '|' || c == '(' || c == ')' || c == ',' || c == ';':
		case c == ':':
			if i == len(s)-1 {
				return false
			}
			if n := s[i+1]; n == ' ' || n == '/' && i+2 < len(s) && s[i+2] == '/' {
				// "a: b" is a mapping; "http://x" is fine to YAML but easier to read quoted.
				return false
			}
		default:
			return false
		}
	}
	switch strings.ToLower(string(s)) {
	case "true", "false", "yes", "no", "on", "off", "y", "n", "null", "nan", ".nan", ".inf", "~":
		return false
	}
	return true
}
