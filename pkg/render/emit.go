package render

import (
	"bufio"
	"bytes"
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
	// fast is the buffer of jsonFast; slowOnly turns it off (for tests).
	fast     []byte
	slowOnly bool
}

// NewEmitter writes JSON, or YAML when yaml is true.
func NewEmitter(w io.Writer, yaml bool) *Emitter {
	return &Emitter{w: bufio.NewWriterSize(w, 256<<10), yaml: yaml, slowOnly: slowJSON}
}

// slowJSON turns jsonFast off (for tests comparing the two).
var slowJSON = false

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
	if !e.slowOnly && e.jsonFast(v, depth) {
		return
	}
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
	if !e.slowOnly && e.yamlFast(v, ind) {
		return
	}
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
	if c == '.' && len(s) > 1 && '0' <= s[1] && s[1] <= '9' {
		return false // ".5", ".5e3", ".1_0" read as numbers
	}
	for i, c := range s {
		if plainByte[c] {
			continue
		}
		if c != ':' || i == len(s)-1 {
			return false
		}
		if n := s[i+1]; n == ' ' || n == '/' && i+2 < len(s) && s[i+2] == '/' {
			// "a: b" is a mapping; "http://x" is fine to YAML but easier to read quoted.
			return false
		}
	}
	if len(s) <= yamlWordMax {
		for _, w := range yamlWords {
			if asciiLowerIs(s, w) {
				return false
			}
		}
	}
	return true
}

// plainByte are the bytes a plain scalar may hold anywhere (':' aside).
var plainByte = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_-./|(),;", byte(c)) >= 0
	}
	return t
}()

// yamlWordMax is the length of the longest of yamlWords.
var yamlWordMax = func() (n int) {
	for _, w := range yamlWords {
		n = max(n, len(w))
	}
	return n
}()

// yamlWords are the plain scalars YAML reads as something other than a
// string, in lower case (any case is read so).
var yamlWords = []string{"true", "false", "yes", "no", "on", "off", "y", "n", "null", "nan", ".nan", ".inf", "~"}

// asciiLowerIs reports whether s, with ASCII letters in lower case, is w
// (strings.ToLower(string(s)) == w, without the copy).
func asciiLowerIs(s []byte, w string) bool {
	if len(s) != len(w) {
		return false
	}
	for i, c := range s {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != w[i] {
			return false
		}
	}
	return true
}

// jsonFast writes a container as json does, in one linear pass over its
// bytes, when nothing in it needs redacting; it writes nothing and returns
// false when something may (a sensitive key, a credential header pair, a
// string that looks like a credential), and json then walks it member by
// member, so only the part that needs it takes the slow way.
func (e *Emitter) jsonFast(v jsonscan.Value, depth int) bool {
	k := v.Kind()
	if (k != jsonscan.Object && k != jsonscan.Array) || e.err != nil {
		return false
	}
	data := v.Raw()
	out := e.fast[:0]
	defer func() { e.fast = out[:0] }()
	// One entry per open container: whether it is an object, and whether
	// a member has been written (a comma is due before the next).
	type frame struct{ obj, written bool }
	var stackBuf [32]frame
	stack := stackBuf[:0]
	const spaces = "\n                                                                "
	newline := func(d int) {
		if 2*d < len(spaces) {
			out = append(out, spaces[:1+2*d]...)
			return
		}
		out = append(out, '\n')
		for range d {
			out = append(out, ' ', ' ')
		}
	}
	// expectKey: the next string is an object's key, not a value.
	i := 0
	expectKey := false
	for i < len(data) {
		c := data[i]
		switch c {
		case ' ', '\t', '\n', '\r':
			i = jsonscan.SkipSpace(data, i)
			continue
		case ',', ':':
			i++
			continue
		case '}', ']':
			stack = stack[:len(stack)-1]
			newline(depth + len(stack))
			out = append(out, c)
			i++
			expectKey = len(stack) > 0 && stack[len(stack)-1].obj
			continue
		}
		// A member's key, or an element: the separator and indentation.
		if len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.written && !(top.obj && !expectKey) {
				out = append(out, ',')
			}
			if !(top.obj && !expectKey) {
				newline(depth + len(stack))
			}
			top.written = true
		}
		switch c {
		case '{', '[':
			j := jsonscan.SkipSpace(data, i+1)
			if j < len(data) && (data[j] == '}' || data[j] == ']') {
				out = append(out, c, data[j])
				i = j + 1
				expectKey = len(stack) > 0 && stack[len(stack)-1].obj
				continue
			}
			if len(stack) == cap(stack) {
				return false // deeper than the fast path keeps: the slow one
			}
			stack = append(stack, frame{obj: c == '{'})
			out = append(out, c)
			i = j // past the white space after it
			expectKey = c == '{'
		case '"':
			end := stringEnd(data, i)
			if end < 0 {
				return false
			}
			if len(stack) > 0 && stack[len(stack)-1].obj && expectKey {
				key := data[i+1 : end-1]
				if redact.KeyMayRedact(key) {
					return false
				}
				if jsonscan.KeyIs(key, "key") || jsonscan.KeyIs(key, "value") {
					// Header pairs: the slow path decides exactly.
					if pairNeedsRedaction(data, end) {
						return false
					}
				}
				out = append(out, data[i:end]...)
				out = append(out, ':', ' ')
				i = end
				expectKey = false
				continue
			}
			if redact.String(data[i:end]) {
				return false
			}
			out = append(out, data[i:end]...)
			i = end
			expectKey = len(stack) > 0 && stack[len(stack)-1].obj
		default: // number, true, false, null
			j := i
			for j < len(data) && !isDelim(data[j]) {
				j++
			}
			out = append(out, data[i:j]...)
			i = j
			expectKey = len(stack) > 0 && stack[len(stack)-1].obj
		}
	}
	if len(stack) != 0 {
		return false
	}
	e.wb(out)
	return true
}

// yamlFast writes a non-empty container as yamlBlock does, in one linear
// pass over its bytes, when nothing in it needs redacting (the rules of
// jsonFast); it writes nothing and returns false when something may, or
// it is nested deeper than it keeps, and yamlBlock then walks it member
// by member. The walk finds each member's end before writing it, and
// goes down a level to write it: it passed over deep bytes once a level.
func (e *Emitter) yamlFast(v jsonscan.Value, ind int) bool {
	data := v.Raw()
	if len(data) < 2 || (data[0] != '{' && data[0] != '[') || e.err != nil {
		return false
	}
	out := e.fast[:0]
	defer func() { e.fast = out[:0] }()
	const spaces = "                                                                "
	indent := func(n int) {
		for n > len(spaces) {
			out = append(out, spaces...)
			n -= len(spaces)
		}
		out = append(out, spaces[:n]...)
	}
	// One entry per open container: whether it is an object, whether a
	// member or element has been written, and its indentation.
	type frame struct {
		obj, written bool
		ind          int
	}
	var stackBuf [32]frame
	stack := append(stackBuf[:0], frame{obj: data[0] == '{', ind: ind})
	// afterKey: the next value is the value of the key just written.
	afterKey := false
	i := 1
	for i < len(data) {
		c := data[i]
		switch c {
		case ' ', '\t', '\n', '\r':
			i = jsonscan.SkipSpace(data, i)
			continue
		case ',', ':':
			i++
			continue
		case '}', ']':
			stack = stack[:len(stack)-1]
			i++
			if len(stack) == 0 {
				if jsonscan.SkipSpace(data, i) != len(data) {
					return false
				}
				e.wb(out)
				return true
			}
			continue
		}
		top := &stack[len(stack)-1]
		if top.obj && !afterKey {
			// A member's key.
			end := stringEnd(data, i)
			if c != '"' || end < 0 {
				return false
			}
			key := data[i+1 : end-1]
			if redact.KeyMayRedact(key) || (jsonscan.KeyIs(key, "key") || jsonscan.KeyIs(key, "value")) && pairNeedsRedaction(data, end) {
				return false
			}
			if top.written {
				indent(top.ind)
			}
			top.written = true
			if plainSafe(key) {
				out = append(out, key...)
			} else {
				out = append(append(append(out, '"'), key...), '"')
			}
			out = append(out, ':')
			i, afterKey = end, true
			continue
		}
		if !top.obj {
			// An element.
			if top.written {
				indent(top.ind)
			}
			top.written = true
			out = append(out, '-', ' ')
		}
		member := afterKey
		afterKey = false
		switch c {
		case '{', '[':
			j := jsonscan.SkipSpace(data, i+1)
			if j < len(data) && (data[j] == '}' || data[j] == ']') {
				if member {
					out = append(out, ' ')
				}
				out = append(out, c, data[j], '\n')
				i = j + 1
				continue
			}
			if len(stack) == cap(stack) {
				return false // deeper than the fast path keeps: the slow one
			}
			switch {
			case member && c == '{':
				out = append(out, '\n')
				indent(top.ind + 2)
				stack = append(stack, frame{obj: true, ind: top.ind + 2})
			case member:
				// Lists sit at their key's indentation, as kubectl writes them.
				out = append(out, '\n')
				indent(top.ind)
				stack = append(stack, frame{ind: top.ind})
			default: // an element's block starts after its "- "
				stack = append(stack, frame{obj: c == '{', ind: top.ind + 2})
			}
			i = j // past the white space after it
		case '"':
			end := stringEnd(data, i)
			if end < 0 || redact.String(data[i:end]) {
				return false
			}
			if member {
				out = append(out, ' ')
			}
			if inner := data[i+1 : end-1]; plainSafe(inner) {
				out = append(out, inner...)
			} else {
				out = append(out, data[i:end]...) // a JSON string is a valid YAML double-quoted scalar
			}
			out = append(out, '\n')
			i = end
		default: // number, true, false, null
			j := i
			for j < len(data) && !isDelim(data[j]) {
				j++
			}
			if member {
				out = append(out, ' ')
			}
			out = append(append(out, data[i:j]...), '\n')
			i = j
		}
	}
	return false
}

// pairNeedsRedaction reports whether the "key" member whose key ends at
// data[end] has a string value naming a credential header, so that a
// "value" beside it is redacted: then, or when unsure (escapes), the slow
// path writes the object.
func pairNeedsRedaction(data []byte, end int) bool {
	j := jsonscan.SkipSpace(data, end)
	if j < len(data) && data[j] == ':' {
		j = jsonscan.SkipSpace(data, j+1)
	}
	if j >= len(data) || data[j] != '"' {
		return false
	}
	e := stringEnd(data, j)
	if e < 0 {
		return true
	}
	s := data[j+1 : e-1]
	return bytes.IndexByte(s, '\\') >= 0 || redact.CredentialName(string(s))
}

// stringEnd is the index after the string starting at data[i], or -1.
func stringEnd(data []byte, i int) int {
	end, err := jsonscan.SkipString(data, i)
	if err != nil {
		return -1
	}
	return end
}

func isDelim(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\n', '\r', ':':
		return true
	}
	return false
}
