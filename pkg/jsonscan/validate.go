package jsonscan

import (
	"encoding/binary"
	"math/bits"
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
	data := d.data
	var closeBuf [64]byte
	var startBuf [64]int
	closers, starts := closeBuf[:0], startBuf[:0]
	st := wantValue
	for {
		j := nextStructural(data, i)
		if j > i {
			// The usual gaps first: ": " after a key, "," and indentation
			// after a value; anything else is checked in full.
			k := i
			switch {
			case st == wantColon && data[k] == ':':
				k, st = k+1, wantValue
			case st == wantCommaOrEnd && data[k] == ',':
				k, st = k+1, wantItem
				if closers[len(closers)-1] == '}' {
					st = wantKey
				}
			}
			if k = skipSpaceTo(data, k, j); k < j {
				var err error
				if st, err = gap(data, k, j, st, closers); err != nil {
					return 0, err
				}
			}
		}
		if j >= len(data) {
			return 0, endErr(j)
		}
		c := data[j]
		switch c {
		case '"':
			end, err := skipStringStrict(data, j)
			if err != nil {
				return 0, err
			}
			switch st {
			case wantKeyOrEnd, wantKey:
				st = wantColon
			case wantValue, wantItemOrEnd, wantItem:
				st = wantCommaOrEnd
			default:
				return 0, syntaxErr(j, "expected %s, found a string", stateWords[st])
			}
			i = end
			continue
		case '{', '[':
			if st != wantValue && st != wantItemOrEnd && st != wantItem {
				return 0, syntaxErr(j, "expected %s, found %q", stateWords[st], c)
			}
			if len(closers) >= maxDepth {
				return 0, syntaxErr(j, "nesting deeper than %d", maxDepth)
			}
			if c == '{' {
				closers, st = append(closers, '}'), wantKeyOrEnd
			} else {
				closers, st = append(closers, ']'), wantItemOrEnd
			}
			starts = append(starts, j)
		default: // '}' or ']'
			if len(closers) == 0 || closers[len(closers)-1] != c {
				return 0, syntaxErr(j, "unexpected %q", c)
			}
			ok := st == wantCommaOrEnd || (c == '}' && (st == wantKeyOrEnd || st == wantKey)) ||
				(c == ']' && (st == wantItemOrEnd || st == wantItem))
			if !ok {
				return 0, syntaxErr(j, "expected %s, found %q", stateWords[st], c)
			}
			closers = closers[:len(closers)-1]
			start := starts[len(starts)-1]
			starts = starts[:len(starts)-1]
			if j+1-start >= indexMin {
				d.ends[start] = j + 1
				d.marks[start>>12] |= 1 << ((start >> 6) & 63)
				if d.progress != nil && j >= d.next {
					d.progress(j)
					d.next = j + progressStep
				}
			}
			if len(closers) == 0 {
				return j + 1, nil
			}
			st = wantCommaOrEnd
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

// skipSpaceTo is SkipSpace bounded by j, eight spaces at a time over
// indentation.
func skipSpaceTo(data []byte, i, j int) int {
	const spaces = 0x2020202020202020
	for i < j {
		switch data[i] {
		case ' ':
			for i+8 <= j && binary.LittleEndian.Uint64(data[i:]) == spaces {
				i += 8
			}
			for i < j && data[i] == ' ' {
				i++
			}
		case '\n', '\t', '\r':
			i++
		default:
			return i
		}
	}
	return i
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
			m := hasByte(w, '"') | hasByte(w, '\\') | hasLess(w, 0x20)
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

// hasLess has the high bit set in the lowest byte of w below n (n <= 128;
// bytes above a match may be flagged falsely).
func hasLess(w, n uint64) uint64 {
	return (w - n*ones) &^ w & highs
}
