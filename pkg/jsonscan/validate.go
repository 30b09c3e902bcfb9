package jsonscan

import (
	"encoding/binary"
	"math/bits"
	"sync/atomic"

	"github.com/kubectl-mesh/kubectl-mesh/internal/swar"
)

// The grammar check of Parse. It runs once, over the whole document, and
// records where large containers end; later walks of the checked document
// only pair brackets (skipContainer).
//
// Between two structural bytes (quotes and brackets, found eight bytes at a
// time) lies a gap: white space, at most one ':' or ',' and at most one
// scalar (number, true, false, null). What a gap may hold depends on where
// the scan is, so the scan keeps one state:

type state uint8

const (
	wantKeyOrEnd   state = iota // just after '{'
	wantKey                     // after ',' in an object (a trailing comma before '}' is accepted, as Envoy does)
	wantColon                   // after a key
	wantValue                   // after ':'
	wantItemOrEnd               // just after '['
	wantItem                    // after ',' in an array (trailing comma accepted)
	wantCommaOrEnd              // after a value
)

var stateWords = [...]string{
	wantKeyOrEnd:   "an object key or '}'",
	wantKey:        "an object key",
	wantColon:      "':' after the object key",
	wantValue:      "a value",
	wantItemOrEnd:  "a value or ']'",
	wantItem:       "a value",
	wantCommaOrEnd: "',' or a closing bracket",
}

// validate checks the container starting at i and everything in it, and
// returns the index just past it.
func (d *doc) validate(i int) (int, error) {
	sc := &scanner{data: d.data, st: wantValue, pages: d.pages, next: progressStep, limit: len(d.data), record: d.record,
		hole: d.hole, holeRead: d.holeRead}
	return sc.run(i)
}

// take uses the answer of the walk from split point s, if it has one: it
// returns where this walk goes on (the ']' that closes the array, or the
// next split point the walk stopped at). The walk from the start waits for
// a walk that is running; the others check the stretch themselves rather
// than hold a worker waiting. A walk not started yet is never waited for:
// it is taken over (absorbed).
func (sc *scanner) take(s *split) (int, bool) {
	switch {
	case s.state.CompareAndSwap(splitPending, splitAbsorbed):
		return 0, false
	case s.state.Load() == splitRunning && sc.speculative:
		return 0, false
	case s.state.Load() == splitAbsorbed:
		return 0, false
	}
	<-s.done
	if s.err != nil || len(sc.closers)+s.depth > maxDepth {
		return 0, false
	}
	sc.depth = max(sc.depth, len(sc.closers)+s.depth)
	for p := 0; p < len(s.pairs); p += 2 {
		sc.record(s.pairs[p], s.pairs[p+1])
	}
	taken.Add(1)
	if s.linked {
		return s.end, true // still wantItem, at the next split point
	}
	sc.st = wantCommaOrEnd
	return s.end, true
}

// record notes where a large container ends.
func (d *doc) record(start, end int) {
	d.ends[start] = end
	d.marks[start>>12] |= 1 << ((start >> 6) & 63)
}

// scanner is one walk of the grammar check: the whole document, or, when
// Parse checks a large document on several cores, the elements of an array
// from one of its split points on (see parallel.go).
type scanner struct {
	data    []byte
	closers []byte
	starts  []int
	st      state
	// record notes a large container's end (directly into the document's
	// index for the walk from the start; into pairs for the others).
	record func(start, end int)
	// pages is told of the stretch the walk has passed every progressStep
	// bytes (from is where the last one ended), and of what it reads next,
	// up to limit (the next walk's stretch is that walk's to read).
	pages             *Pages
	from, next, limit int
	// splits are the split points ahead of the walk; k is the next one.
	splits []*split
	k      int
	// depth is the deepest nesting this walk saw (below its array, for a
	// walk from a split point).
	depth int
	// speculative: the walk starts inside an array it did not open (a
	// split point); it ends at that array's ']' and returns its index.
	speculative bool
	stop        *atomic.Bool
	// hole is where the array read strictly in place of the check starts
	// (see Hole), -1 when there is none; holeRead reads it.
	hole     int
	holeRead *holeRead
}

// holesPassed counts the walks that passed over a hole (for tests).
var holesPassed atomic.Int64

func (sc *scanner) run(i int) (int, error) {
	data := sc.data
	for {
		// The usual gaps first: ": " after a key, "," and indentation
		// after a value, passed in one go up to the next structural byte;
		// anything else is checked in full.
		k := i
		if k < len(data) {
			switch {
			case sc.st == wantColon && data[k] == ':':
				k, sc.st = k+1, wantValue
			case sc.st == wantCommaOrEnd && data[k] == ',':
				k, sc.st = k+1, wantItem
				if sc.closers[len(sc.closers)-1] == '}' {
					sc.st = wantKey
				}
			}
		}
		// Then the white space, the usual kinds without a call (a call a
		// token was a fifth of the check): one space (": " before a
		// value), or a line feed and spaces (indentation). Only white
		// space is passed here; whatever follows is checked below.
		j := k
		if j+1 < len(data) && data[j] == ' ' && class[data[j+1]] != clsSpace {
			j++
		} else if j < len(data) && data[j] == '\n' {
			j = SkipSpaces(data, j+1)
			if j >= len(data) || class[data[j]] == clsSpace {
				j = skipSpaceTo(data, j, len(data)) // a tab, a carriage return, the end
			}
		} else {
			j = skipSpaceTo(data, k, len(data))
		}
		if j < len(data) && !structural[data[j]] {
			k, j = j, nextStructural(data, j)
			var err error
			if sc.st, err = gap(data, k, j, sc.st, sc.closers); err != nil {
				return 0, err
			}
		}
		if j >= len(data) {
			return 0, endErr(j)
		}
		// A split point: another walk checks the elements from here on;
		// take its word when this walk is where that walk assumed (in an
		// array, after a comma).
		for sc.k < len(sc.splits) && sc.splits[sc.k].at < j {
			sc.k++
		}
		if sc.k < len(sc.splits) && sc.splits[sc.k].at == j {
			s := sc.splits[sc.k]
			sc.k++
			if sc.st == wantItem && sc.closers[len(sc.closers)-1] == ']' {
				if sc.speculative && len(sc.closers) == 1 {
					// The next element of this walk's own array: the
					// walk from here goes on, this one stops.
					return j, errLinked
				}
				if next, ok := sc.take(s); ok {
					i = next
					continue
				}
			}
		}
		if j == sc.hole && (sc.st == wantValue || sc.st == wantItemOrEnd || sc.st == wantItem) &&
			len(sc.closers)+holeDepth < maxDepth {
			// The array read strictly in place of the check, as a value
			// here: read, then passed over (its nesting, below
			// holeDepth, counted), or checked as the rest when the
			// reading failed.
			if sc.pages != nil {
				sc.pages.Passed(sc.from, j)
				sc.from = j
			}
			if end, ok := sc.holeRead.get(); ok {
				sc.depth = max(sc.depth, len(sc.closers)+holeDepth)
				if end-j >= indexMin {
					sc.record(j, end)
				}
				sc.from = end
				holesPassed.Add(1)
				i, sc.st = end, wantCommaOrEnd
				continue
			}
		}
		c := data[j]
		switch c {
		case '"':
			end, err := skipStringStrict(data, j)
			if err != nil {
				return 0, err
			}
			switch sc.st {
			case wantKeyOrEnd, wantKey:
				sc.st = wantColon
			case wantValue, wantItemOrEnd, wantItem:
				sc.st = wantCommaOrEnd
			default:
				return 0, syntaxErr(j, "expected %s, found a string", stateWords[sc.st])
			}
			i = end
			continue
		case '{', '[':
			if sc.st != wantValue && sc.st != wantItemOrEnd && sc.st != wantItem {
				return 0, syntaxErr(j, "expected %s, found %q", stateWords[sc.st], c)
			}
			if len(sc.closers) >= maxDepth {
				return 0, syntaxErr(j, "nesting deeper than %d", maxDepth)
			}
			if c == '{' {
				sc.closers, sc.st = append(sc.closers, '}'), wantKeyOrEnd
			} else {
				sc.closers, sc.st = append(sc.closers, ']'), wantItemOrEnd
			}
			sc.starts = append(sc.starts, j)
			sc.depth = max(sc.depth, len(sc.closers))
		default: // '}' or ']'
			if len(sc.closers) == 0 || sc.closers[len(sc.closers)-1] != c {
				return 0, syntaxErr(j, "unexpected %q", c)
			}
			ok := sc.st == wantCommaOrEnd || (c == '}' && (sc.st == wantKeyOrEnd || sc.st == wantKey)) ||
				(c == ']' && (sc.st == wantItemOrEnd || sc.st == wantItem))
			if !ok {
				return 0, syntaxErr(j, "expected %s, found %q", stateWords[sc.st], c)
			}
			sc.closers = sc.closers[:len(sc.closers)-1]
			start := sc.starts[len(sc.starts)-1]
			sc.starts = sc.starts[:len(sc.starts)-1]
			if len(sc.closers) == 0 && sc.speculative {
				return j, nil // the array this walk started in: its opener is another walk's
			}
			if j+1-start >= indexMin {
				sc.record(start, j+1)
				if j >= sc.next {
					if sc.pages != nil {
						sc.pages.Passed(sc.from, j)
						// Up to the next split point: past it is another walk's.
						limit := sc.limit
						for sc.k < len(sc.splits) && sc.splits[sc.k].at < j {
							sc.k++
						}
						if sc.k < len(sc.splits) {
							limit = min(limit, sc.splits[sc.k].at)
						}
						sc.pages.Ahead(j, min(j+readAhead, limit))
					}
					sc.from, sc.next = j, j+progressStep
					if sc.stop != nil && sc.stop.Load() {
						return 0, errStopped
					}
				}
			}
			if len(sc.closers) == 0 {
				return j + 1, nil
			}
			sc.st = wantCommaOrEnd
		}
		i = j + 1
	}
}

// gap checks data[i:j], which holds no quote or bracket, against the state,
// and returns the state after it.
func gap(data []byte, i, j int, st state, closers []byte) (state, error) {
	for {
		i = skipSpaceTo(data, i, j)
		if i >= j {
			return st, nil
		}
		c := data[i]
		switch {
		case c == ':':
			if st != wantColon {
				return st, syntaxErr(i, "expected %s, found ':'", stateWords[st])
			}
			st = wantValue
			i++
		case c == ',':
			if st != wantCommaOrEnd {
				return st, syntaxErr(i, "expected %s, found ','", stateWords[st])
			}
			if closers[len(closers)-1] == '}' {
				st = wantKey
			} else {
				st = wantItem
			}
			i++
		default:
			if st != wantValue && st != wantItemOrEnd && st != wantItem {
				return st, syntaxErr(i, "expected %s, found %q", stateWords[st], c)
			}
			end := i
			for end < j && class[data[end]] == clsOther {
				end++
			}
			if err := checkScalar(data[i:end], i); err != nil {
				return st, err
			}
			st = wantCommaOrEnd
			i = end
		}
	}
}

// skipSpaceTo is SkipSpace bounded by j, eight bytes at a time: a word is
// tested for spaces and line feeds at once, without branching on each
// byte. The check's loop passes the usual gaps itself and calls this for
// the others (and gap for white space around scalars).
func skipSpaceTo(data []byte, i, j int) int {
	for i < j {
		if i+8 <= len(data) {
			w := binary.LittleEndian.Uint64(data[i:])
			other := ^(swar.BytesEqual(w, ' ') | swar.BytesEqual(w, '\n')) & swar.Highs
			if other == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(other) / 8
			if i >= j {
				break
			}
		}
		switch data[i] {
		case ' ', '\n', '\t', '\r':
			i++
		default:
			return i
		}
	}
	return min(i, j)
}

// checkScalar checks a number or literal (a value that is not a string or
// container): true, false, null, or a JSON number.
func checkScalar(s []byte, off int) error {
	switch string(s) {
	case "true", "false", "null":
		return nil
	}
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return syntaxErr(off, "%q is not a value (a number, string, true, false or null)", s)
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return syntaxErr(off, "number %q has no digits after '.'", s)
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return syntaxErr(off, "number %q has no exponent digits", s)
		}
	}
	if i != len(s) {
		return syntaxErr(off, "%q is not a value (a number, string, true, false or null)", s)
	}
	return nil
}

// skipStringStrict returns the index just past the string whose opening
// quote is at i, checking what JSON allows inside: no control characters,
// and only its escapes (\" \\ \/ \b \f \n \r \t \uXXXX).
func skipStringStrict(data []byte, i int) (int, error) {
	j := i + 1
	for {
		// Eight bytes at a time to the next quote, backslash or control character.
		for j+8 <= len(data) {
			w := binary.LittleEndian.Uint64(data[j:])
			m := swar.HasByte(w, '"') | swar.HasByte(w, '\\') | swar.HasLess(w, 0x20)
			if m != 0 {
				j += bits.TrailingZeros64(m) / 8
				break
			}
			j += 8
		}
		if j >= len(data) {
			return 0, endErr(len(data))
		}
		switch c := data[j]; {
		case c == '"':
			return j + 1, nil
		case c == '\\':
			if j+1 >= len(data) {
				return 0, endErr(len(data))
			}
			switch data[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(data) {
					return 0, endErr(len(data))
				}
				for _, h := range data[j+2 : j+6] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return 0, syntaxErr(j, `invalid \u escape in a string`)
					}
				}
				j += 6
			default:
				return 0, syntaxErr(j, "invalid escape %q in a string", data[j:j+2])
			}
		case c < 0x20:
			return 0, syntaxErr(j, "control character %#x in a string (it must be escaped)", c)
		default:
			j++ // a byte the word test flagged falsely
		}
	}
}
