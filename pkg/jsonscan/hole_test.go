package jsonscan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// strictHole is a Hole at at read strictly from its first element in one
// reading, as byReader reads with seed (going into some values, taking
// some whole, leaving others).
func strictHole(at, seed int) *Hole {
	return &Hole{At: at, Read: func(list Value) (int, bool) {
		first := list.FirstItem()
		if first < 0 {
			return 0, false
		}
		var b strings.Builder
		reached, end, err := list.ReadItemsStrict(first, -1, func(r *Reader) { byReader(&b, r, seed) })
		return end, !reached && err == nil
	}}
}

// holeAgrees checks that Parse with a hole at at answers as Parse without:
// the same error (offset and words), or the same value and the same index
// of large containers but those inside the hole (not recorded: a walk
// rescans them). It reports whether the check passed over the hole.
func holeAgrees(t *testing.T, name string, data []byte, at, seed int) bool {
	t.Helper()
	want, wantErr := Parse(data)
	before := holesPassed.Load()
	got, err := ParseWith(data, nil, strictHole(at, seed))
	passed := holesPassed.Load() > before
	switch {
	case (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error():
		t.Fatalf("%s, hole at %d: Parse says %v, without the hole %v", name, at, err, wantErr)
	case err != nil || want.d == nil:
		return passed
	case got.Offset() != want.Offset() || got.End() != want.End():
		t.Fatalf("%s, hole at %d: the value is %d-%d, without the hole %d-%d", name, at, got.Offset(), got.End(), want.Offset(), want.End())
	}
	inHole := func(s int) bool { return passed && got.d.hole < s && s < got.d.holeRead.end }
	for s, e := range want.d.ends {
		if g, ok := got.d.ends[s]; !inHole(s) && (!ok || g != e || !got.d.marked(s)) {
			t.Fatalf("%s, hole at %d: the container at %d ends at %d (indexed %v), without the hole at %d", name, at, s, g, ok, e)
		}
	}
	for s, g := range got.d.ends {
		if want.d.ends[s] != g {
			t.Fatalf("%s, hole at %d: the container at %d is indexed to end at %d, without the hole at %d", name, at, s, g, want.d.ends[s])
		}
	}
	return passed
}

// holeDocs are documents with arrays everywhere: generated ones, the
// fixtures, and arrays inside strings (a hole there is bytes of a string).
func holeDocs(t *testing.T) map[string][]byte {
	docs := readerDocs(t)
	for name, data := range docs {
		if len(data) > 256<<10 {
			delete(docs, name) // the checks here are each a Parse of the whole
		}
	}
	docs["in strings"] = []byte(`{"s": "[1, 2]", "a": [1, [2, {"b": "[3]"}], 4], "t": "x[\"y\", [\"z\"]]", "u": [["[", "]"], []]}`)
	docs["trailing commas"] = []byte("{\"a\": [\n {\"b\": [1, 2,],},\n {\"c\": {},},\n],\n \"d\": [[],[[]],],}")
	deep := strings.Repeat("[", holeDepth+2) + strings.Repeat("]", holeDepth+2)
	docs["deep"] = []byte(`{"a": [1, ` + deep + `], "b": [` + deep[2:len(deep)-2] + `]}`)
	return docs
}

// arrayStarts are the offsets of up to n '[' of data, spread over it.
func arrayStarts(data []byte, n int, r *rand.Rand) []int {
	var all []int
	for i, c := range data {
		if c == '[' {
			all = append(all, i)
		}
	}
	if len(all) <= n {
		return all
	}
	r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	return all[:n]
}

// TestHoleAgreesWithNoHole: on generated documents, the fixtures and
// crafted ones, each of them also broken at random places, a hole at any
// '[' (of an array, of an inner array, inside a string) leaves Parse's
// answer as it is without one: the same error, or the same value and index
// (but for the hole's inside), on one walk and split on several.
func TestHoleAgreesWithNoHole(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	docs := holeDocs(t)
	passed, tried := 0, 0
	for _, every := range []int{0, 200} {
		if every > 0 {
			splitSmall(t, every)
		}
		for name, data := range docs {
			for _, at := range arrayStarts(data, 6, r) {
				tried++
				if holeAgrees(t, name, data, at, r.IntN(100)) {
					passed++
				}
				for k := range 4 {
					broken := bytes.Clone(data)
					i := r.IntN(len(broken))
					if k%2 == 0 && at < len(broken)-1 {
						i = at + 1 + r.IntN(min(len(broken)-at-1, 400)) // inside or just past the hole
					}
					switch k {
					case 0, 1:
						broken[i] = "{}[],:\"x\\\n 1e-"[r.IntN(14)]
					case 2:
						broken = append(broken[:i], broken[i+1:]...)
					case 3:
						broken = broken[:i]
					}
					if at < len(broken) && broken[at] == '[' {
						holeAgrees(t, fmt.Sprintf("%s broken (%d at %d, every %d)", name, k, i, every), broken, at, r.IntN(100))
					}
				}
			}
		}
	}
	t.Logf("%d of %d holes passed over", passed, tried)
	if passed < tried/3 {
		t.Errorf("only %d of %d holes were passed over: the test proves little", passed, tried)
	}
}

// TestStrictReadingIsTheCheck: a strict reading of an array accepts it
// only where the check (and, without Envoy's trailing commas,
// encoding/json) accepts it as a whole value ending where the reading
// ended; on valid documents it accepts every array not nested too deep.
func TestStrictReadingIsTheCheck(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	accepted, rejected := 0, 0
	for name, data := range holeDocs(t) {
		for _, at := range arrayStarts(data, 20, r) {
			for k := range 6 {
				buf := bytes.Clone(data)
				if k > 0 {
					i := at + 1 + r.IntN(min(len(buf)-at, 300))
					if i < len(buf) {
						buf[i] = "{}[],:\"x\\\n 1e-\x01"[r.IntN(15)]
					}
				}
				d := &doc{data: buf, ends: map[int]int{}, hole: -1}
				end, ok := strictHole(at, r.IntN(100)).Read(Value{d: d, off: at, end: len(buf)})
				old := parallelMin
				parallelMin = math.MaxInt
				whole, err := Parse(buf[at:max(end, at+1)])
				parallelMin = old
				if !ok {
					rejected++
					continue
				}
				accepted++
				if err != nil || whole.End() != end-at {
					t.Fatalf("%s, array at %d (change %d): the strict reading accepts %d-%d, the check says %v", name, at, k, at, end, err)
				}
				if !trailingComma.Match(buf[at:end]) && !json.Valid(buf[at:end]) {
					t.Fatalf("%s, array at %d (change %d): the strict reading accepts %q, encoding/json does not", name, at, k, buf[at:end])
				}
			}
			if _, err := Parse(data); err == nil && !inString(data, at) && depthBelow(data[at:]) < holeDepth-1 {
				// Valid documents: each array (not one in a string) is read.
				d := &doc{data: data, ends: map[int]int{}, hole: -1}
				end, ok := strictHole(at, 1).Read(Value{d: d, off: at, end: len(data)})
				if first := (Value{d: d, off: at, end: len(data)}).FirstItem(); first >= 0 && (!ok || arrayEnd(data, at) != end) {
					t.Fatalf("%s: the valid array at %d is not read strictly (%v, to %d)", name, at, ok, end)
				}
			}
		}
	}
	t.Logf("%d changed arrays accepted, %d rejected", accepted, rejected)
	if accepted < 100 || rejected < 100 {
		t.Errorf("%d accepted, %d rejected: the test proves little", accepted, rejected)
	}
}

// trailingComma finds a comma before a closing bracket, which Envoy (and
// the check) accept and encoding/json does not.
var trailingComma = regexp.MustCompile(`,[ \t\r\n]*[\]}]`)

// inString reports whether offset at of a valid document lies inside a
// string, by the quotes before it.
func inString(data []byte, at int) bool {
	in := false
	for i := 0; i < at; i++ {
		switch {
		case in && data[i] == '\\':
			i++
		case data[i] == '"':
			in = !in
		}
	}
	return in
}

// arrayEnd is the end of the array at at of a valid document.
func arrayEnd(data []byte, at int) int {
	d := &doc{data: data, ends: map[int]int{}, hole: -1}
	end, _ := d.skipContainer(at)
	return end
}

// depthBelow is the deepest nesting of the value data starts with.
func depthBelow(data []byte) int {
	depth, deepest, in := 0, 0, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case in && c == '\\':
			i++
		case c == '"':
			in = !in
		case in:
		case c == '[' || c == '{':
			depth++
			deepest = max(deepest, depth)
		case c == ']' || c == '}':
			depth--
			if depth == 0 {
				return deepest
			}
		}
	}
	return deepest
}

// FuzzHoleAgreesWithNoHole: any input, a hole at any '[', split every few
// bytes or not.
func FuzzHoleAgreesWithNoHole(f *testing.F) {
	f.Add([]byte(`{"a": [1, {"b": [2]}], "c": "[3]"}`), uint16(6), uint8(0))
	f.Add([]byte("{\"a\": [\n {\"b\": 1},\n {\"c\": [1,]},\n]}"), uint16(6), uint8(16))
	f.Fuzz(func(t *testing.T, data []byte, at uint16, every uint8) {
		if every > 0 {
			splitSmall(t, int(every))
		}
		if int(at) < len(data) && data[at] == '[' {
			holeAgrees(t, "fuzz", data, int(at), int(every))
		}
	})
}
