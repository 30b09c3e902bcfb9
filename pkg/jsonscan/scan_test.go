package jsonscan

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestParseRejectsBrokenJSON(t *testing.T) {
	for _, tc := range []struct {
		name, in  string
		truncated bool
	}{
		{"empty", "", true},
		{"truncated object", `{"configs": [{"a": 1}`, true},
		{"unterminated string", `{"a": "b`, true},
		{"mismatched brackets", `{"a": [1, 2}`, false},
		{"garbage after value", `{"a": 1} x`, false},
		{"stray closer", `]`, false},
		{"missing colon", `{"a" 1}`, false},
		{"number as key", `{1:2}`, false},
		{"missing comma", `[1 2]`, false},
		{"bad literal", `[tru]`, false},
		{"lone comma", `{,}`, false},
		{"lone comma in array", `[,]`, false},
		{"two commas", `[1,,2]`, false},
		{"colon in array", `[1:2]`, false},
		{"comma for colon", `{"a",1}`, false},
		{"key without value", `{"a":}`, false},
		{"value without key", `{"a":1,2}`, false},
		{"leading zero", `[01]`, false},
		{"bare minus", `[-]`, false},
		{"no fraction digits", `[1.]`, false},
		{"no exponent digits", `[1e]`, false},
		{"control character in a string", "[\"a\tb\"]", false},
		{"bad escape", `["\x41"]`, false},
		{"short unicode escape", `["\u12"]`, false},
		{"bad top-level literal", `nul`, false},
		{"garbage between values", `{"a": 1 x}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Parse([]byte(tc.in))
			if err == nil {
				// Structure errors inside an object surface when it is walked.
				err = v.Fields(func([]byte, Value) bool { return true })
			}
			if err == nil {
				t.Fatalf("Parse(%q) accepted broken input", tc.in)
			}
			if got := errors.Is(err, ErrUnexpectedEnd); got != tc.truncated {
				t.Errorf("Parse(%q): truncated = %v, want %v (%v)", tc.in, got, tc.truncated, err)
			}
		})
	}
}

func TestParseAcceptsTrailingCommaLikeEnvoy(t *testing.T) {
	// Envoy's router_check test files (TestRoutes.golden.proto.json) have one.
	v, err := Parse([]byte(`{"tests": [{"a": 1},],}`))
	if err != nil {
		t.Fatal(err)
	}
	if n := v.Get("tests").Len(); n != 1 {
		t.Errorf("tests has %d items, want 1", n)
	}
}

func TestKeysMatchInBothProtoSpellings(t *testing.T) {
	for _, in := range []string{
		`{"rds": {"route_config_name": "80"}}`,
		`{"rds": {"routeConfigName": "80"}}`,
	} {
		v, err := Parse([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		if got := v.Get("rds", "route_config_name").Str(); got != "80" {
			t.Errorf("%s: got %q, want 80", in, got)
		}
	}
	if KeyIs([]byte("route_config"), "route_config_name") || KeyIs([]byte("name"), "names") {
		t.Error("KeyIs matched a different field")
	}
}

func TestScalars(t *testing.T) {
	v, err := Parse([]byte(`{"s": "a\"b\u00e9", "n": 15001, "big": "4294967295", "neg": -3, "t": true, "f": "false", "nil": null}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := v.Get("s").Str(); got != "a\"bé" {
		t.Errorf("escaped string: %q", got)
	}
	if n, ok := v.Get("n").Uint(); !ok || n != 15001 {
		t.Errorf("number: %d %v", n, ok)
	}
	if n, ok := v.Get("big").Uint(); !ok || n != 4294967295 {
		t.Errorf("protojson 64-bit integer as a string: %d %v", n, ok)
	}
	if _, ok := v.Get("neg").Uint(); ok {
		t.Error("negative number read as unsigned")
	}
	if !v.Get("t").Bool() || v.Get("f").Bool() {
		t.Error("booleans")
	}
	if v.Get("nil").Exists() || !v.Get("nil").Present() || v.Get("missing").Present() {
		t.Error("null is present but does not exist; a missing key is neither")
	}
}

func TestPickReadsSeveralFieldsInOnePass(t *testing.T) {
	v, _ := Parse([]byte(`{"name": "l", "activeState": {"listener": {}}, "error_state": {"details": "bad"}}`))
	f := v.Pick("name", "active_state", "warming_state", "error_state")
	if f[0].Str() != "l" || !f[1].Exists() || f[2].Present() || f[3].Get("details").Str() != "bad" {
		t.Errorf("Pick = %v", f)
	}
}

// The index of container ends must give the same answers as scanning.
func TestLargeContainersSkipTheSameWithTheIndex(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"list": [`)
	for i := 0; i < 200; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"name": "x", "pad": "` + strings.Repeat("y", 40*i) + `", "inner": {"deep": [1, 2, {"k": "v"}]}}`)
	}
	b.WriteString(`], "after": 7}`)
	v, err := Parse([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(v.d.ends) == 0 {
		t.Fatal("no container was indexed; the test does not exercise the index")
	}
	if n := v.Get("list").Len(); n != 200 {
		t.Errorf("list has %d items, want 200", n)
	}
	if n, _ := v.Get("after").Uint(); n != 7 {
		t.Errorf("after = %d", n)
	}
	var std map[string]any
	if err := json.Unmarshal([]byte(b.String()), &std); err != nil {
		t.Fatal(err)
	}
	last := v.Get("list")
	var got Value
	_ = last.Items(func(_ int, it Value) bool { got = it; return true })
	if got.Get("inner", "deep").Len() != 3 {
		t.Error("nested value inside an indexed container read wrong")
	}
}

// FuzzParse: whatever the input, no panic, and a value that parses can be walked.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `{"a":[1,{"b":"c\"d"}],"e":null}`, `{"x":[1,2,],}`, `"s"`, `{"a":`, `[{]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Parse(data)
		if err != nil {
			return
		}
		var walk func(Value, int)
		walk = func(v Value, depth int) {
			if depth > 50 {
				return
			}
			_ = v.Fields(func(_ []byte, c Value) bool { walk(c, depth+1); _ = c.Str(); return true })
			_ = v.Items(func(_ int, c Value) bool { walk(c, depth+1); return true })
		}
		walk(v, 0)
	})
}

func TestParseAcceptsWhatJSONAllows(t *testing.T) {
	for _, in := range []string{
		`{}`, `[]`, `{"a":{"b":[1,-2.5e+3,0,true,false,null,"x\u00e9\n"]}}`, ` [ 1 , 2 ] `,
		`"top-level string"`, `-0.0E-0`, `null`, `{"a":1,}`, `[1,]`, `[[],{}]`, "[\"\xff\xfe\"]",
	} {
		if _, err := Parse([]byte(in)); err != nil {
			t.Errorf("Parse(%q): %v", in, err)
		}
	}
}

// withoutTrailingCommas drops a comma before a closing bracket outside
// strings: the one thing Parse accepts on purpose that JSON does not.
func withoutTrailingCommas(b []byte) []byte {
	out := make([]byte, 0, len(b))
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inString && c == '\\' && i+1 < len(b):
			out = append(out, c, b[i+1])
			i++
			continue
		case inString && c == '"':
			inString = false
		case !inString && c == '"':
			inString = true
		case !inString && c == ',':
			j := SkipSpace(b, i+1)
			if j < len(b) && (b[j] == '}' || b[j] == ']') {
				continue
			}
		}
		out = append(out, c)
	}
	return out
}

// FuzzParseAgreesWithEncodingJSON: Parse accepts exactly what
// encoding/json accepts, plus trailing commas (as Envoy's reader does).
func FuzzParseAgreesWithEncodingJSON(f *testing.F) {
	for _, s := range []string{`{"a" 1}`, `{1:2}`, `[1 2]`, `[tru]`, `{,}`, `{"a":[1,2,{"b":null}],}`, `[1e5,-0.5,"\u00ff"]`,
		`{"configs":[{"@type":"x","a":true}]}`, "[\"a\x01\"]", `[01]`, `"\q"`, `  `, `[[[]]]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := Parse(b)
		if err != nil && strings.Contains(err.Error(), "nesting deeper") {
			return
		}
		if json.Valid(b) && err != nil {
			t.Fatalf("Parse(%q) rejects valid JSON: %v", b, err)
		}
		if err == nil && !json.Valid(withoutTrailingCommas(b)) {
			t.Fatalf("Parse(%q) accepts what is not JSON, trailing commas aside", b)
		}
	})
}

// TestBytesShapedLikeBracketsAgreeWithEncodingJSON: the word test for
// brackets also stops at 'Y', '_', 'y' and DEL (the same bits but 0x26).
// Each of them, and each bracket, put at every place outside strings of an
// indented document (so that the word test, not the byte loop at the end,
// meets them) is accepted or rejected as encoding/json does.
func TestBytesShapedLikeBracketsAgreeWithEncodingJSON(t *testing.T) {
	doc, err := json.MarshalIndent(map[string]any{
		"listeners": []any{map[string]any{"name": "virtualOutbound", "port": 15001, "on": true, "off": nil,
			"chains": []any{map[string]any{"match": map[string]any{"y": "Y_y"}}, 2.5}}},
	}, "", "        ")
	if err != nil {
		t.Fatal(err)
	}
	inString := false
	tried := 0
	for i := 0; i < len(doc); i++ {
		switch c := doc[i]; {
		case inString && c == '\\':
			i++
			continue
		case c == '"':
			inString = !inString
		}
		if inString {
			continue
		}
		for _, b := range []byte{'Y', '_', 'y', 0x7f, '[', ']', '{', '}', 'x'} {
			for _, in := range [][]byte{
				append(append(append([]byte{}, doc[:i]...), b), doc[i:]...),   // inserted
				append(append(append([]byte{}, doc[:i]...), b), doc[i+1:]...), // in place of a byte
			} {
				_, err := Parse(in)
				if got, want := err == nil, json.Valid(withoutTrailingCommas(in)); got != want {
					t.Fatalf("Parse(%q) error %v; encoding/json valid: %v", in, err, want)
				}
				tried++
			}
		}
	}
	if tried < 1000 {
		t.Fatalf("only %d documents tried", tried)
	}
}

// TestNextStructuralStopsOnlyAtQuotesAndBrackets: every byte value, at every
// place of a word and of the bytes after the last whole word.
func TestNextStructuralStopsOnlyAtQuotesAndBrackets(t *testing.T) {
	for c := 0; c < 256; c++ {
		want := strings.IndexByte(`"{}[]`, byte(c)) >= 0
		for at := 0; at < 19; at++ {
			buf := []byte(strings.Repeat(" ", 19))
			buf[at] = byte(c)
			got := nextStructural(buf, 0)
			if want && got != at || !want && got != len(buf) {
				t.Fatalf("nextStructural with %q at %d = %d", byte(c), at, got)
			}
		}
	}
}

// TestSkipSpaceToIsTheByteLoop: the word-wise skip stops where a loop over
// single bytes stops, bounded by j, on random runs of white space among
// bytes one bit away from white space (where a word test could err).
func TestSkipSpaceToIsTheByteLoop(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		b := make([]byte, r.IntN(40))
		for k := range b {
			b[k] = " \n\t\r x!\x0b\x00\x01*\xff\"\x8a\xa0"[r.IntN(15)]
			if r.IntN(3) > 0 {
				b[k] = ' '
			}
		}
		i, j := r.IntN(len(b)+1), r.IntN(len(b)+1)
		want := i
		for want < j && class[b[want]] == clsSpace {
			want++
		}
		if i > j {
			want = j
		}
		if got := skipSpaceTo(b, i, j); got != want {
			t.Fatalf("skipSpaceTo(%q, %d, %d) = %d, want %d", b, i, j, got, want)
		}
	}
}

// TestGapsAgreeWithEncodingJSON: the check passes the usual gaps between
// tokens (one space; a line feed and spaces) without the general skip.
// Documents whose gaps are drawn from every shape near those (a space
// before more white space, a line feed and 0-17 spaces then a tab, a
// carriage return, a stray byte, a control byte, the end of the input) are
// accepted or rejected as encoding/json does, and Parse agrees with one
// walk on which containers end where.
func TestGapsAgreeWithEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	gap := func() string {
		switch r.IntN(8) {
		case 0:
			return ""
		case 1:
			return " "
		case 2:
			return " " + string(" \t\r\n"[r.IntN(4)])
		case 3:
			return "\n" + strings.Repeat(" ", r.IntN(18))
		case 4:
			return "\n" + strings.Repeat(" ", r.IntN(18)) + string("\t\r\n x\x01\x0b"[r.IntN(7)])
		case 5:
			return "\r\n" + strings.Repeat(" ", r.IntN(10))
		case 6:
			return "\n" + strings.Repeat(" ", 8*(1+r.IntN(2)))
		}
		return string(" \t\n\r"[r.IntN(4)])
	}
	var value func(depth int) string
	value = func(depth int) string {
		switch k := r.IntN(6); {
		case depth < 4 && k == 0:
			var b strings.Builder
			b.WriteString("{")
			for i := range r.IntN(4) {
				if i > 0 {
					b.WriteString(gap() + ",")
				}
				fmt.Fprintf(&b, "%s\"k%d\"%s:%s%s", gap(), i, gap(), gap(), value(depth+1))
			}
			b.WriteString(gap() + "}")
			return b.String()
		case depth < 4 && k == 1:
			var b strings.Builder
			b.WriteString("[")
			for i := range r.IntN(4) {
				if i > 0 {
					b.WriteString(gap() + ",")
				}
				b.WriteString(gap() + value(depth+1))
			}
			b.WriteString(gap() + "]")
			return b.String()
		case k == 2:
			return `"s"`
		case k == 3:
			return "12"
		}
		return "true"
	}
	accepted := 0
	for range 20000 {
		doc := []byte(gap() + value(0) + gap())
		_, err := Parse(doc)
		if (err == nil) != json.Valid(doc) {
			t.Fatalf("Parse(%q): %v; encoding/json says valid: %v", doc, err, json.Valid(doc))
		}
		if err == nil {
			accepted++
		}
	}
	if accepted < 2000 || accepted > 18000 {
		t.Fatalf("%d of 20000 documents accepted: the gaps are too rarely (or too often) wrong", accepted)
	}
}

// TestSkipSpacesPassesSpacesOnly: from every offset of lines indented
// with up to 40 spaces (and tabs, line feeds, the end), SkipSpaces passes
// spaces only, and stops at the first other byte unless that is within
// the last eight bytes, where it stops before the rest of the spaces;
// SkipSpace stops exactly at the first byte that is not white space.
func TestSkipSpacesPassesSpacesOnly(t *testing.T) {
	var inputs []string
	for n := range 41 {
		for _, after := range []string{"x", "\t", "\n ", "", "}]", "\r\n  \t\n         y"} {
			inputs = append(inputs, "\n"+strings.Repeat(" ", n)+after, strings.Repeat(" ", n)+after+strings.Repeat(" ", 9))
		}
	}
	for _, in := range inputs {
		data := []byte(in)
		for i := range len(data) + 1 {
			j := SkipSpaces(data, i)
			want := i
			for want < len(data) && data[want] == ' ' {
				want++
			}
			if j < i || j > want || j < want && len(data)-j >= 8 {
				t.Fatalf("SkipSpaces(%q, %d) = %d, the first other byte is at %d", in, i, j, want)
			}
			white := i
			for white < len(data) && strings.IndexByte(" \t\r\n", data[white]) >= 0 {
				white++
			}
			if got := SkipSpace(data, i); got != white {
				t.Fatalf("SkipSpace(%q, %d) = %d, the first byte not white space is at %d", in, i, got, white)
			}
		}
	}
}
