package jsonscan

import (
	"encoding/json"
	"strconv"
)

// Value is the raw bytes of one JSON value, without surrounding white space.
// A nil Value stands for "absent"; accessors on it return zero values.
type Value []byte

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
// surrounding white space) and returns it.
func Parse(data []byte) (Value, error) {
	start := SkipSpace(data, 0)
	end, err := Skip(data, start)
	if err != nil {
		return nil, err
	}
	if rest := SkipSpace(data, end); rest != len(data) {
		return nil, syntaxErr(rest, "unexpected %q after the top-level value", data[rest])
	}
	return Value(data[start:end]), nil
}

// Kind reports what v holds, from its first byte.
func (v Value) Kind() Kind {
	if len(v) == 0 {
		return Invalid
	}
	switch v[0] {
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
func (v Value) Exists() bool { return len(v) > 0 && v.Kind() != Null }

// Fields calls fn for each member of the object v, in order, with the raw key
// (without quotes, escapes left as they are). fn returns false to stop early.
// A v that is not an object yields no fields and no error.
func (v Value) Fields(fn func(key []byte, val Value) bool) error {
	if v.Kind() != Object {
		return nil
	}
	i := 1
	for {
		i = SkipSpace(v, i)
		if i >= len(v) {
			return endErr(i)
		}
		if v[i] == '}' {
			return nil
		}
		if v[i] != '"' {
			return syntaxErr(i, "expected an object key, found %q", v[i])
		}
		kEnd, err := skipString(v, i)
		if err != nil {
			return err
		}
		key := v[i+1 : kEnd-1]
		i = SkipSpace(v, kEnd)
		if i >= len(v) || v[i] != ':' {
			return syntaxErr(i, "expected ':' after object key")
		}
		vStart := SkipSpace(v, i+1)
		vEnd, err := Skip(v, vStart)
		if err != nil {
			return err
		}
		if !fn(key, v[vStart:vEnd]) {
			return nil
		}
		i = SkipSpace(v, vEnd)
		if i < len(v) && v[i] == ',' {
			i++
		}
	}
}

// Items calls fn for each element of the array v, in order. fn returns false
// to stop early. A v that is not an array yields nothing.
func (v Value) Items(fn func(i int, val Value) bool) error {
	if v.Kind() != Array {
		return nil
	}
	i, n := 1, 0
	for {
		i = SkipSpace(v, i)
		if i >= len(v) {
			return endErr(i)
		}
		if v[i] == ']' {
			return nil
		}
		end, err := Skip(v, i)
		if err != nil {
			return err
		}
		if !fn(n, v[i:end]) {
			return nil
		}
		n++
		i = SkipSpace(v, end)
		if i < len(v) && v[i] == ',' {
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
		if found == nil {
			return nil
		}
		v = found
	}
	return v
}

// KeyIs reports whether a raw key names the proto field name, comparing
// without underscores and ASCII case: "route_config_name" matches
// "routeConfigName". Proto style forbids field names that differ only so.
func KeyIs(key []byte, name string) bool {
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
	switch v.Kind() {
	case String:
		inner := v[1 : len(v)-1]
		for _, c := range inner {
			if c == '\\' {
				var s string
				if json.Unmarshal(v, &s) != nil {
					return string(inner)
				}
				return s
			}
		}
		return string(inner)
	case Number, Bool:
		return string(v)
	}
	return ""
}

// Uint returns a non-negative integer written as a number or, as protojson
// writes 64-bit integers, as a string. ok is false for anything else.
func (v Value) Uint() (n uint64, ok bool) {
	s := v
	if v.Kind() == String {
		s = v[1 : len(v)-1]
	}
	n, err := strconv.ParseUint(string(s), 10, 64)
	return n, err == nil
}

// Int is Uint for signed integers.
func (v Value) Int() (n int64, ok bool) {
	s := v
	if v.Kind() == String {
		s = v[1 : len(v)-1]
	}
	n, err := strconv.ParseInt(string(s), 10, 64)
	return n, err == nil
}

// Float returns a number (or a string holding one).
func (v Value) Float() (f float64, ok bool) {
	s := v
	if v.Kind() == String {
		s = v[1 : len(v)-1]
	}
	f, err := strconv.ParseFloat(string(s), 64)
	return f, err == nil
}

// Bool reports whether v is the literal true (or the string "true").
func (v Value) Bool() bool {
	return string(v) == "true" || string(v) == `"true"`
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

// Empty reports whether an object or array has no members, without walking it.
func (v Value) Empty() bool {
	if k := v.Kind(); k != Object && k != Array {
		return false
	}
	i := SkipSpace(v, 1)
	return i < len(v) && (v[i] == '}' || v[i] == ']')
}
