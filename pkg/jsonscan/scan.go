// Package jsonscan reads JSON without decoding it: it finds where values
// begin and end, walks objects and arrays in place, and converts only the
// scalars a caller asks for. Config dumps run to hundreds of megabytes and a
// command shows a small part of them; everything else is skipped.
//
// Parse makes one structural pass over the document and records where every
// large object and array ends. Walking a value at any depth then costs its
// own members, not everything below them: skipping a nested listener is a
// map lookup, not a rescan.
//
// Parse checks the whole grammar of JSON (RFC 8259: keys, colons, commas,
// literals, numbers, string escapes and control characters) and is lenient
// only where Envoy is: a trailing comma before a closing bracket is
// accepted. Broken and truncated input are errors, never panics.
package jsonscan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"sync"
	"sync/atomic"

	"github.com/kubectl-mesh/kubectl-mesh/internal/swar"
)

// SyntaxError says where and why input stopped being JSON.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.Offset, e.Msg)
}

// ErrUnexpectedEnd is wrapped by errors for truncated input.
var ErrUnexpectedEnd = errors.New("unexpected end of input")

func syntaxErr(off int, format string, args ...any) error {
	return &SyntaxError{Offset: off, Msg: fmt.Sprintf(format, args...)}
}

type truncatedError struct{ SyntaxError }

func (e *truncatedError) Unwrap() error { return ErrUnexpectedEnd }

func endErr(off int) error {
	return &truncatedError{SyntaxError{Offset: off, Msg: "unexpected end of input (is the file truncated?)"}}
}

// class of each byte outside strings, for the skip loop.
const (
	clsOther = iota
	clsSpace
	clsQuote
	clsOpen
	clsClose
	clsDelim // , and :
)

var class = func() (t [256]uint8) {
	for _, c := range " \t\r\n" {
		t[c] = clsSpace
	}
	t['"'] = clsQuote
	t['{'], t['['] = clsOpen, clsOpen
	t['}'], t[']'] = clsClose, clsClose
	t[','], t[':'] = clsDelim, clsDelim
	return t
}()

// SkipSpace returns the index of the first non-space byte at or after i:
// the indentation after a line feed eight bytes at a time.
func SkipSpace(data []byte, i int) int {
	for i < len(data) && class[data[i]] == clsSpace {
		if data[i] == '\n' {
			i = SkipSpaces(data, i+1)
			continue
		}
		i++
	}
	return i
}

// SkipSpaces returns the index of the first byte at or after i that is not
// a space (' '), looking at eight bytes at a time: a line's indentation in
// one step. Fewer than eight bytes from the end, it stops where it is.
func SkipSpaces(data []byte, i int) int {
	for i+8 <= len(data) {
		if w := binary.LittleEndian.Uint64(data[i:]) ^ (' ' * swar.Ones); w != 0 {
			return i + bits.TrailingZeros64(w)/8
		}
		i += 8
	}
	return i
}

// SkipString returns the index just past the string whose opening quote is
// at i, in a document Parse has checked.
func SkipString(data []byte, i int) (int, error) { return skipString(data, i) }

// skipString returns the index just past the string whose opening quote is at i.
func skipString(data []byte, i int) (int, error) {
	j := i + 1
	for {
		// Eight bytes at a time to the next quote or backslash (most
		// strings are short: a call to IndexByte a key cost more).
		for j+8 <= len(data) {
			w := binary.LittleEndian.Uint64(data[j:])
			if m := swar.HasByte(w, '"') | swar.HasByte(w, '\\'); m != 0 {
				j += bits.TrailingZeros64(m) / 8
				break
			}
			j += 8
		}
		if j >= len(data) {
			return 0, endErr(len(data))
		}
		switch data[j] {
		case '"':
			return j + 1, nil
		case '\\':
			j += 2 // the escaped byte too
		default:
			j++ // the last bytes, one at a time
		}
	}
}

// nextStructural returns the index of the first quote or bracket at or after
// i, or len(data): indentation, keys' colons, numbers and literals are
// passed over eight bytes at a time.
//
// The four brackets differ from 0x59 only in the bits 0x26, so one test
// finds them all, together with the four other bytes of that shape ('Y',
// '_', 'y' and DEL). Outside strings those appear only in broken input; a
// word test that stops at one goes on past it.
func nextStructural(data []byte, i int) int {
	for i+8 <= len(data) {
		w := binary.LittleEndian.Uint64(data[i:])
		m := swar.HasByte(w, '"') | swar.HasByte(w&^(0x26*swar.Ones), 0x59)
		if m == 0 {
			i += 8
			continue
		}
		i += bits.TrailingZeros64(m) / 8
		if structural[data[i]] {
			return i
		}
		i++
	}
	for i < len(data) && !structural[data[i]] {
		i++
	}
	return i
}

// structural is class's quotes and brackets, as one lookup.
var structural = func() (t [256]bool) {
	for c, k := range class {
		t[c] = k == clsQuote || k == clsOpen || k == clsClose
	}
	return t
}()

// maxDepth bounds nesting so hostile input cannot make the stack grow without limit.
const maxDepth = 10000

// indexMin is the size from which a container's end is recorded: smaller
// ones are rescanned, which costs less than remembering them.
const indexMin = 2048

// doc is a parsed document: its bytes and the ends of its large containers.
type doc struct {
	data []byte
	ends map[int]int
	// marks has a bit for each 64-byte block where an indexed container
	// starts: most containers are small, and a miss here skips the map.
	marks []uint64
	// While parsing: told of the stretches passed and read next.
	pages *Pages
	// recent remembers where containers a walk has passed end (see
	// knownEnd), for documents under 4 GB.
	recent []atomic.Uint64
	// hole is where an array the caller reads strictly starts (-1: none),
	// and holeRead reads it when the check gets there (see Hole).
	hole     int
	holeRead *holeRead
}

// holeRead is the reading of a hole: done once, by the first walk to get
// there wanting a value (the others wait for it); end is just past the
// array when ok.
type holeRead struct {
	once sync.Once
	read func() (end int, ok bool)
	end  int
	ok   bool
}

func (h *holeRead) get() (int, bool) {
	h.once.Do(func() { h.end, h.ok = h.read() })
	return h.end, h.ok
}

// recentSlots is the size of the cache of container ends.
const recentSlots = 1 << 14

// knownEnd is the end of the container starting at i, if the index of
// large containers or the cache of recently passed ones has it.
func (d *doc) knownEnd(i int) (int, bool) {
	if d.marked(i) {
		if end, ok := d.ends[i]; ok {
			return end, true
		}
	}
	if d.recent != nil {
		if v := d.recent[slot(i)].Load(); int(v>>32) == i && v != 0 {
			return int(uint32(v)), true
		}
	}
	return 0, false
}

// remember notes where the container starting at i ends. Walks over a
// document go down level by level (Fields finds a member's end, then the
// member's own members are walked): a container passed while skipping its
// parent is asked for again right after, and found here instead of
// rescanned.
func (d *doc) remember(i, end int) {
	if d.recent != nil && end-i >= 16 {
		d.recent[slot(i)].Store(uint64(i)<<32 | uint64(end))
	}
}

func slot(i int) int { return int((uint64(i) * 0x9E3779B97F4A7C15) >> (64 - 14)) }

// progressStep is how often, in bytes, a walk reports the stretch it has
// passed; readAhead is how far ahead of itself it asks for pages.
const (
	progressStep = 2 << 20
	readAhead    = 4 << 20
)

func (d *doc) marked(i int) bool {
	w := i >> 12
	return w < len(d.marks) && d.marks[w]&(1<<((i>>6)&63)) != 0
}

// skip returns the index just past the value starting at i (no white space).
func (d *doc) skip(i int) (int, error) {
	data := d.data
	if i >= len(data) {
		return 0, endErr(i)
	}
	switch class[data[i]] {
	case clsQuote:
		return skipString(data, i)
	case clsOpen:
		if end, ok := d.knownEnd(i); ok {
			return end, nil
		}
		return d.skipContainer(i)
	case clsClose, clsDelim:
		return 0, syntaxErr(i, "unexpected %q", data[i])
	}
	// number, true, false, null: runs to the next delimiter.
	j := i
	for j < len(data) && class[data[j]] == clsOther {
		j++
	}
	if j == i {
		return 0, syntaxErr(i, "unexpected %q", data[i])
	}
	return j, nil
}

// skipContainer returns the index just past the object or array at i of
// a document Parse has checked: it only pairs brackets, and passes strings
// over.
func (d *doc) skipContainer(i int) (int, error) {
	data := d.data
	var starts [32]int
	depth := 0
	for i < len(data) {
		i = nextStructural(data, i)
		if i >= len(data) {
			break
		}
		switch class[data[i]] {
		case clsQuote:
			j, err := skipString(data, i)
			if err != nil {
				return 0, err
			}
			i = j
			continue
		case clsOpen:
			if depth > 0 {
				if end, ok := d.knownEnd(i); ok {
					i = end
					continue
				}
			}
			if depth < len(starts) {
				starts[depth] = i
			}
			depth++
		case clsClose:
			depth--
			if depth < len(starts) {
				d.remember(starts[depth], i+1)
			}
			if depth == 0 {
				return i + 1, nil
			}
		}
		i++
	}
	return 0, endErr(i)
}
