package jsonscan

import (
	"encoding/json"
	"strconv"
	"sync/atomic"
)

// Value is one JSON value inside a parsed document. The zero Value stands
// for "absent"; accessors on it return zero values.
type Value struct {
	d        *doc
	off, end int
}

// Kind is what a Value holds.
type Kind uint8

const (
	Invalid Kind = iota
	Null
	Bool
	Number
	String
	Array
	Object
)

// Parse checks that data holds exactly one JSON value (with optional
// surrounding white space) and returns it. data must not change afterwards.
func Parse(data []byte) (Value, error) { return ParseWithPages(data, nil) }

// Pages tells the caller, while Parse checks a large document, which
// stretches it has passed and which it reads next, so the pages of a
// memory-mapped file can be dropped and read ahead. Several walks may call
// them at once, each for its own stretch (a large document is checked on
// several cores); none after Parse returns.
type Pages struct {
	// Passed: data[from:to] has been checked and is not in use; it may
	// be let go of until it is needed again.
	Passed func(from, to int)
	// Ahead: data[from:to] is read next.
	Ahead func(from, to int)
	// Peek, when set, is a copy of data[from:to] read without mapping
	// it, into dst when it has room (the looks reuse their buffers: 128
	// looks of 16 kB made 2 MB of fresh heap, each page of it faulted in
	// and cleared), or nil when it cannot be read so, for the short looks that pick
	// where the walks on several cores start. A look at a mapped file
	// maps more than it reads: since Linux 6.16 ext4 keeps files in the
	// page cache in folios of up to 2 MB, and a fault maps the folio it
	// lands in whole, so 128 looks of 16 kB at an 85 MB dump made 46 MB
	// of it resident at once.
	Peek func(dst []byte, from, to int) []byte
}

// ParseWithPages is Parse telling pages about its progress.
func ParseWithPages(data []byte, pages *Pages) (Value, error) { return ParseWith(data, pages, nil) }

// A Hole is an array of the document its caller reads, checking its
// grammar as it goes, in place of Parse's check: the check passes over
// the array instead, so a caller that wants every byte of a large array
// (the endpoints of a dump) reads it once.
//
// Read is given the array at At (its end not yet known) and reads it
// with ReadItemsStrict; it returns the index just past the array's ']'
// and true when every byte of it was read strictly, without error. It is
// called when the check's walk arrives at At wanting a value (the array
// really is a value of the document, not bytes inside a string), after
// the check of what comes before the array (so that the check's pages of
// a mapped file are let go of before the reading's results are made);
// when it returns false the array is checked as the rest is, and any
// error is the check's. A strict reading never decides that the document
// is broken. The check does not share out what follows At among its
// walks (Envoy writes the endpoints last): a walk from the start checks
// it.
type Hole struct {
	At   int
	Read func(list Value) (end int, ok bool)
}

// holeDepth bounds the nesting a strict reading accepts below a hole's
// array, and what the check assumes is there when it passes over it.
const holeDepth = 64

// ParseWith is ParseWithPages with a hole (nil: none).
func ParseWith(data []byte, pages *Pages, hole *Hole) (Value, error) {
	d := &doc{data: data, ends: make(map[int]int, len(data)/1024), marks: make([]uint64, len(data)>>12+1),
		pages: pages, hole: -1}
	if len(data) >= 64<<10 && len(data) < 1<<32 {
		d.recent = make([]atomic.Uint64, recentSlots)
	}
	start := SkipSpace(data, 0)
	if start == len(data) {
		return Value{}, endErr(start)
	}
	if hole != nil && hole.At > start && hole.At < len(data) && data[hole.At] == '[' {
		at := hole.At
		d.hole, d.holeRead = at, &holeRead{read: func() (int, bool) {
			end, ok := hole.Read(Value{d: d, off: at, end: len(data)})
			return end, ok && end > at+1 && end <= len(data) && data[end-1] == ']'
		}}
	}
	var end int
	var err error
	switch class[data[start]] {
	case clsOpen:
		end, err = d.validateParallel(start)
	case clsQuote:
		end, err = skipStringStrict(data, start)
	default:
		end, err = d.skip(start)
		if err == nil {
			err = checkScalar(data[start:end], start)
		}
	}
	d.pages = nil
	if err != nil {
		return Value{}, err
	}
	if rest := SkipSpace(data, end); rest != len(data) {
		return Value{}, syntaxErr(rest, "unexpected %q after the top-level value", data[rest])
	}
	return Value{d: d, off: start, end: end}, nil
}

// MustLiteral parses a small constant; it is for literals in the program, not input.
func MustLiteral(s string) Value {
	v, err := Parse([]byte(s))
	if err != nil {
		panic(err)
	}
	return v
}

// Raw returns the value's bytes, as written in the input.
func (v Value) Raw() []byte {
	if v.d == nil {
		return nil
	}
	return v.d.data[v.off:v.end]
}

// Offset and End are where the value lies in the parsed document's bytes.
func (v Value) Offset() int { return v.off }

// End is the offset just past the value.
func (v Value) End() int { return v.end }

// Present reports whether the value was found at all (null included).
func (v Value) Present() bool { return v.d != nil }

// Kind reports what v holds, from its first byte.
func (v Value) Kind() Kind {
	if v.d == nil || v.off >= v.end {
		return Invalid
	}
	switch v.d.data[v.off] {
	case '{':
		return Object
	case '[':
		return Array
	case '"':
		return String
	case 't', 'f':
		return Bool
	case 'n':
		return Null
	}
	return Number
}

// Exists reports whether v holds anything other than null.
func (v Value) Exists() bool { k := v.Kind(); return k != Invalid && k != Null }

// Fields calls fn for each member of the object v, in order, with the raw key
// (without quotes, escapes left as they are). fn returns false to stop early.
// A v that is not an object yields no fields and no error.
func (v Value) Fields(fn func(key []byte, val Value) bool) error {
	if v.Kind() != Object {
		return nil
	}
	data := v.d.data[:v.end]
	i := v.off + 1
	for {
		i = SkipSpace(data, i)
		if i >= len(data) {
			return endErr(i)
		}
		if data[i] == '}' {
			return nil
		}
		if data[i] != '"' {
			return syntaxErr(i, "expected an object key, found %q", data[i])
		}
		kEnd, err := skipString(data, i)
		if err != nil {
			return err
		}
		key := data[i+1 : kEnd-1]
		i = SkipSpace(data, kEnd)
		if i >= len(data) || data[i] != ':' {
			return syntaxErr(i, "expected ':' after object key")
		}
		vStart := SkipSpace(data, i+1)
		vEnd, err := v.d.skipIn(vStart, v.end)
		if err != nil {
			return err
		}
		if !fn(key, Value{d: v.d, off: vStart, end: vEnd}) {
			return nil
		}
		i = SkipSpace(data, vEnd)
		if i < len(data) && data[i] == ',' {
			i++
		}
	}
}

// skipIn is skip bounded by the end of the enclosing value.
func (d *doc) skipIn(i, limit int) (int, error) {
	end, err := d.skip(i)
	if err == nil && end > limit {
		return 0, endErr(limit)
	}
	return end, err
}

// Items calls fn for each element of the array v, in order. fn returns false
// to stop early. A v that is not an array yields nothing.
func (v Value) Items(fn func(i int, val Value) bool) error {
	if v.Kind() != Array {
		return nil
	}
	data := v.d.data[:v.end]
	i, n := v.off+1, 0
	for {
		i = SkipSpace(data, i)
		if i >= len(data) {
			return endErr(i)
		}
		if data[i] == ']' {
			return nil
		}
		end, err := v.d.skipIn(i, v.end)
		if err != nil {
			return err
		}
		if !fn(n, Value{d: v.d, off: i, end: end}) {
			return nil
		}
		n++
		i = SkipSpace(data, end)
		if i < len(data) && data[i] == ',' {
			i++
		}
	}
}

// Len counts the elements of an array or the members of an object.
func (v Value) Len() int {
	n := 0
	if v.Kind() == Array {
		_ = v.Items(func(int, Value) bool { n++; return true })
	} else {
		_ = v.Fields(func([]byte, Value) bool { n++; return true })
	}
	return n
}

// Empty reports whether an object or array has no members, without walking it.
func (v Value) Empty() bool {
	if k := v.Kind(); k != Object && k != Array {
		return false
	}
	i := SkipSpace(v.d.data, v.off+1)
	return i < v.end && (v.d.data[i] == '}' || v.d.data[i] == ']')
}

// Get follows a path of object keys. Keys are given in proto (snake_case)
// spelling and match either spelling in the input: Envoy's admin writes
// snake_case, protojson and egctl write lowerCamelCase.
func (v Value) Get(path ...string) Value {
	for _, name := range path {
		var found Value
		_ = v.Fields(func(key []byte, val Value) bool {
			if KeyIs(key, name) {
				found = val
				return false
			}
			return true
		})
		if !found.Present() {
			return Value{}
		}
		v = found
	}
	return v
}

// Pick reads several members of an object in one pass: out[i] is the value
// of names[i] (proto spelling, either case style), absent when missing.
// Use it where a decoder needs more than one or two fields of an object.
func (v Value) Pick(names ...string) []Value {
	out := make([]Value, len(names))
	v.PickTo(out, names...)
	return out
}

// PickTo is Pick into out (len(out) >= len(names)), which the caller may
// keep on its stack: Pick on every host of a large EDS set allocates.
func (v Value) PickTo(out []Value, names ...string) {
	clear(out[:len(names)])
	found := 0
	_ = v.Fields(func(key []byte, val Value) bool {
		for i, n := range names {
			if !out[i].Present() && KeyIs(key, n) {
				out[i] = val
				found++
				break
			}
		}
		return found < len(names)
	})
}

// KeyIs reports whether a raw key names the proto field name, comparing
// without underscores and ASCII case: "route_config_name" matches
// "routeConfigName". Proto style forbids field names that differ only so.
func KeyIs(key []byte, name string) bool {
	// The usual answers first: the key as given (Envoy writes the proto
	// spelling), or a first byte that differs in any spelling (folding
	// ASCII case by setting 0x20 never makes two bytes unequal that the
	// comparison below finds equal).
	if len(key) == len(name) && string(key) == name {
		return true
	}
	if len(key) > 0 && len(name) > 0 && key[0] != '_' && name[0] != '_' && key[0]|0x20 != name[0]|0x20 {
		return false
	}
	return keyIsFolded(key, name)
}

// keyIsFolded is KeyIs's comparison, byte by byte.
func keyIsFolded(key []byte, name string) bool {
	i, j := 0, 0
	for {
		for i < len(key) && key[i] == '_' {
			i++
		}
		for j < len(name) && name[j] == '_' {
			j++
		}
		if i == len(key) || j == len(name) {
			return i == len(key) && j == len(name)
		}
		a, b := key[i], name[j]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
		i++
		j++
	}
}

// Str returns a string value unquoted; numbers and booleans are returned as
// written; anything else gives "".
func (v Value) Str() string {
	raw := v.Raw()
	switch v.Kind() {
	case String:
		inner := raw[1 : len(raw)-1]
		for _, c := range inner {
			if c == '\\' {
				var s string
				if json.Unmarshal(raw, &s) != nil {
					return string(inner)
				}
				return s
			}
		}
		return string(inner)
	case Number, Bool:
		return string(raw)
	}
	return ""
}

// Uint returns a non-negative integer written as a number or, as protojson
// writes 64-bit integers, as a string. ok is false for anything else.
func (v Value) Uint() (n uint64, ok bool) {
	raw := v.Raw()
	if v.Kind() == String {
		raw = raw[1 : len(raw)-1]
	}
	// The common case without strconv's allocations (an absent or
	// non-numeric value is common: its error would allocate).
	if len(raw) == 0 || len(raw) > 19 {
		if len(raw) == 0 {
			return 0, false
		}
		n, err := strconv.ParseUint(string(raw), 10, 64)
		return n, err == nil
	}
	for _, c := range raw {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// Bool reports whether v is the literal true (or the string "true").
func (v Value) Bool() bool {
	s := string(v.Raw())
	return s == "true" || s == `"true"`
}

// Strings returns the string elements of an array.
func (v Value) Strings() []string {
	var out []string
	_ = v.Items(func(_ int, e Value) bool {
		out = append(out, e.Str())
		return true
	})
	return out
}
