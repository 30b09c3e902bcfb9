package jsonscan

import "bytes"

// Reader reads one value of a parsed document front to back, once. Fields
// and Pick find the end of each member before the caller looks inside it,
// and the caller's walk of the member then passes over its bytes again; a
// Reader goes into the members it is asked to read and passes over the
// others, so a decoder that wants something at every level (an EDS host's
// address, inside its endpoint, inside its lb_endpoint) reads each byte
// once.
//
// Object and Array call a function for each member or element with the
// Reader at its value; the function reads it with one of the Reader's
// methods (Str, Uint, Value, Read, Object, Array) or leaves it, and it is
// passed over. A second read of the same value, or a read outside such a
// function, reads nothing. Input that is not what Parse checked (a file
// changed under a mapping) ends the reading with an error, never a panic.
type Reader struct {
	d    *doc
	data []byte // the document up to the end of the value being read
	i    int    // where the next value starts
	// pending: the value at i has not been read yet.
	pending bool
	err     error
	// strict: the bytes read have not been checked by Parse (a Hole):
	// the Reader checks the grammar of all it reads and passes over, as
	// the check would, and fails where the check would fail (or, on
	// nesting deeper than holeDepth, where it would not).
	strict bool
	depth  int // objects and arrays the Reader is in
	// The stacks of the strict Reader's checks of values passed over,
	// kept from one to the next.
	closers []byte
	starts  []int
}

// Seen is the members of an object a reader has met, a bit each, for
// reading the first of repeated members as Pick does.
type Seen uint8

// First reports whether the member of the given bit is met for the first
// time, and notes it.
func (s *Seen) First(bit uint8) bool {
	if *s&Seen(bit) != 0 {
		return false
	}
	*s |= Seen(bit)
	return true
}

// Reader returns a Reader at v.
func (v Value) Reader() Reader {
	if v.d == nil {
		return Reader{}
	}
	return Reader{d: v.d, data: v.d.data[:v.end], i: v.off, pending: true}
}

// Err is the first error the reading met, if any.
func (r *Reader) Err() error { return r.err }

func (r *Reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.pending = false
	r.i = len(r.data)
}

// take marks the pending value read and reports whether there was one.
func (r *Reader) take() bool {
	ok := r.pending && r.err == nil && r.i < len(r.data)
	r.pending = false
	return ok
}

// Value passes over the value at the Reader and returns it, to be read
// with Value's methods.
func (r *Reader) Value() Value {
	if !r.take() {
		return Value{}
	}
	var end int
	var err error
	if r.strict {
		end, err = r.skipStrict(r.i)
	} else {
		end, err = r.d.skipIn(r.i, len(r.data))
	}
	if err != nil {
		r.fail(err)
		return Value{}
	}
	v := Value{d: r.d, off: r.i, end: end}
	r.i = end
	return v
}

// Str is Value().Str() without making the Value: a string unquoted,
// numbers and booleans as written, anything else "".
func (r *Reader) Str() string {
	if r.pending && r.i < len(r.data) && r.data[r.i] == '"' {
		r.pending = false
		end, err := r.skipString(r.i)
		if err != nil {
			r.fail(err)
			return ""
		}
		v := Value{d: r.d, off: r.i, end: end}
		r.i = end
		return v.Str()
	}
	return r.Value().Str()
}

// Uint is Value().Uint().
func (r *Reader) Uint() (uint64, bool) { return r.Value().Uint() }

// Kind is the kind of the value at the Reader, Invalid when there is none
// to read.
func (r *Reader) Kind() Kind {
	if !r.pending || r.err != nil || r.i >= len(r.data) {
		return Invalid
	}
	return Value{d: r.d, off: r.i, end: r.i + 1}.Kind()
}

// Object reads the object at the Reader: fn is called with each member's
// key (raw, as Fields gives it) and the Reader at the member's value. A
// value that is not an object is passed over without calling fn. It
// returns the value read or passed over.
func (r *Reader) Object(fn func(key []byte)) Value {
	if !r.pending || r.i >= len(r.data) || r.data[r.i] != '{' {
		return r.Value()
	}
	r.pending = false
	if !r.enter() {
		return Value{}
	}
	defer func() { r.depth-- }()
	data := r.data
	start, i := r.i, r.i+1
	for {
		i = SkipSpace(data, i)
		if i >= len(data) {
			r.fail(endErr(i))
			return Value{}
		}
		if data[i] == '}' {
			r.i = i + 1
			return Value{d: r.d, off: start, end: r.i}
		}
		if data[i] != '"' {
			r.fail(syntaxErr(i, "expected an object key, found %q", data[i]))
			return Value{}
		}
		kStart := i
		kEnd, err := r.skipString(i)
		if err != nil {
			r.fail(err)
			return Value{}
		}
		i = SkipSpace(data, kEnd)
		if i >= len(data) || data[i] != ':' {
			r.fail(syntaxErr(i, "expected ':' after object key"))
			return Value{}
		}
		r.i, r.pending = SkipSpace(data, i+1), true
		fn(data[kStart+1 : kEnd-1])
		if !r.next('}') {
			return Value{}
		}
		i = r.i
	}
}

// next passes over the value fn left unread, then over the comma after
// it; false when the reading has failed. A strict Reader fails when
// neither a comma nor the container's closer follows.
func (r *Reader) next(closer byte) bool {
	if r.pending {
		r.Value()
	}
	if r.err != nil {
		return false
	}
	i := SkipSpace(r.data, r.i)
	switch {
	case i < len(r.data) && r.data[i] == ',':
		i++
	case !r.strict:
	case i >= len(r.data):
		r.fail(endErr(i))
		return false
	case r.data[i] != closer:
		r.fail(syntaxErr(i, "expected ',' or %q, found %q", closer, r.data[i]))
		return false
	}
	r.i = i
	return true
}

// skipString passes over the string at i, checking it when strict.
func (r *Reader) skipString(i int) (int, error) {
	if r.strict {
		return skipStringStrict(r.data, i)
	}
	return skipString(r.data, i)
}

// skipStrict returns the index just past the value at i, checking its
// grammar as Parse does (a strict Reader's Value).
func (r *Reader) skipStrict(i int) (int, error) {
	data := r.data
	switch class[data[i]] {
	case clsQuote:
		return skipStringStrict(data, i)
	case clsOpen:
		sc := scanner{data: data, closers: r.closers[:0], starts: r.starts[:0], st: wantValue, next: len(data) + 1,
			limit: len(data), record: func(int, int) {}, hole: -1}
		end, err := sc.run(i)
		r.closers, r.starts = sc.closers, sc.starts
		if err == nil && r.depth+sc.depth > holeDepth {
			err = syntaxErr(i, "nesting deeper than %d in a strict reading", holeDepth)
		}
		return end, err
	}
	j := i
	for j < len(data) && class[data[j]] == clsOther {
		j++
	}
	return j, checkScalar(data[i:j], i)
}

// enter notes one more container the Reader is in, false when that is
// deeper than a strict reading goes.
func (r *Reader) enter() bool {
	r.depth++
	if r.strict && r.depth > holeDepth {
		r.fail(syntaxErr(r.i, "nesting deeper than %d in a strict reading", holeDepth))
		return false
	}
	return true
}

// Array reads the array at the Reader: fn is called for each element with
// the Reader at it. A value that is not an array is passed over without
// calling fn. It returns the value read or passed over.
func (r *Reader) Array(fn func()) Value {
	if !r.pending || r.i >= len(r.data) || r.data[r.i] != '[' {
		return r.Value()
	}
	r.pending = false
	if !r.enter() {
		return Value{}
	}
	defer func() { r.depth-- }()
	start := r.i
	if !r.items(start+1, -1, fn) && r.err == nil {
		return Value{d: r.d, off: start, end: r.i}
	}
	return Value{}
}

// items reads the elements of an array from i (just past its '[', or
// where one of them begins), calling fn with the Reader at each, up to the
// ']' (the Reader then just past it) or, when it gets there, the element
// that begins at until (reached: the Reader at it).
func (r *Reader) items(i, until int, fn func()) (reached bool) {
	data := r.data
	for {
		i = SkipSpace(data, i)
		if i >= len(data) {
			r.fail(endErr(i))
			return false
		}
		if data[i] == ']' {
			r.i = i + 1
			return false
		}
		if i == until {
			r.i = i
			return true
		}
		r.i, r.pending = i, true
		fn()
		if !r.next(']') {
			return false
		}
		i = r.i
	}
}

// Read calls fn with the Reader at its value (fn reads it, or not) and
// returns the value's span: read by fn, or passed over after it.
func (r *Reader) Read(fn func()) Value {
	if !r.pending || r.err != nil || r.i >= len(r.data) {
		return r.Value()
	}
	start := r.i
	fn()
	if r.pending && r.i == start {
		r.Value()
	}
	if r.err != nil || r.pending {
		return Value{}
	}
	return Value{d: r.d, off: start, end: r.i}
}

// ReadItems reads elements of the array v as Array does, starting at the
// element that begins at offset from (v's first, or one ItemStarts
// offers), and stops before the element that begins at until, if it gets
// there (reached), else at the end of the array. A from that is not where
// an element begins reads what follows as if it were (without a panic);
// until is proven an element's start when a read from a true one reaches
// it exactly.
func (v Value) ReadItems(from, until int, fn func(r *Reader)) (reached bool, err error) {
	reached, _, err = v.readItems(from, until, false, fn)
	return reached, err
}

// ReadItemsStrict is ReadItems on an array Parse has not checked (a Hole
// being read, whose end is not known yet): every byte read or passed over
// is checked as Parse checks it, and any error ends the reading. end is
// the index just past the array's ']' when the reading got there (not
// reached, no error). It proves, with the reading from the array's first
// element, that the array is JSON from there to end: exactly, when each
// reading from an offered start begins where the one before it reached.
func (v Value) ReadItemsStrict(from, until int, fn func(r *Reader)) (reached bool, end int, err error) {
	return v.readItems(from, until, true, fn)
}

func (v Value) readItems(from, until int, strict bool, fn func(r *Reader)) (reached bool, end int, err error) {
	if v.Kind() != Array || from <= v.off || from >= v.end {
		return false, 0, nil
	}
	r := Reader{d: v.d, data: v.d.data[:v.end], strict: strict, depth: 1}
	reached = r.items(from, until, func() { fn(&r) })
	if !reached && r.err == nil {
		end = r.i
	}
	return reached, end, r.err
}

// FirstItem is the offset where the array v's first element begins, or -1.
func (v Value) FirstItem() int {
	if v.Kind() != Array {
		return -1
	}
	i := SkipSpace(v.d.data[:v.end], v.off+1)
	if i >= v.end || v.d.data[i] == ']' {
		return -1
	}
	return i
}

// ItemStarts offers offsets in the array v, about every bytes apart after
// its first element, where an element may begin, from the document's
// layout alone: a comma, a line break and the first element's indentation
// before a '{'. Indented documents (Envoy's admin, kubectl, egctl) are laid
// out so; a compact array offers none. The offers are not checked: a
// reader from a true element's start that reaches one exactly (ReadItems)
// proves it.
func (v Value) ItemStarts(every int) []int {
	first := v.FirstItem()
	if first < 0 || v.d.data[first] != '{' || every <= 0 {
		return nil
	}
	data := v.d.data[:v.end]
	nl := first - 1
	for nl > v.off && (data[nl] == ' ' || data[nl] == '\t') {
		nl--
	}
	if data[nl] != '\n' {
		return nil // compact: no layout to go by
	}
	indent := data[nl+1 : first]
	var out []int
	for at := first + every; at < len(data); {
		// An element's line starting at or after at: its line break at or
		// after at-1.
		brace, n := nextElementLine(data, at-1, len(data))
		if brace < 0 {
			break
		}
		if n == len(indent) && bytes.Equal(data[brace-n:brace], indent) {
			out = append(out, brace)
			at = brace + every
		} else {
			at = brace - n + 1 // past that line's break
		}
	}
	return out
}

// afterComma reports whether the line break at nl follows a comma (and
// nothing but white space).
func afterComma(data []byte, nl int) bool {
	b := nl - 1
	for b >= 0 && (data[b] == ' ' || data[b] == '\t' || data[b] == '\r') {
		b--
	}
	return b >= 0 && data[b] == ','
}
