package jsonscan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// splitSmall makes Parse split even small documents, every n bytes, on
// two cores at least, for the duration of a test.
func splitSmall(tb testing.TB, n int) {
	tb.Helper()
	oldMin, oldEvery, oldProcs := parallelMin, splitEvery, runtime.GOMAXPROCS(0)
	parallelMin, splitEvery = 0, n
	if oldProcs < 2 {
		runtime.GOMAXPROCS(2)
	}
	tb.Cleanup(func() {
		parallelMin, splitEvery = oldMin, oldEvery
		runtime.GOMAXPROCS(oldProcs)
	})
}

// serial is the answer of Parse in one walk: the error, or the index of
// large containers.
func serial(data []byte) (map[int]int, error) {
	old := parallelMin
	parallelMin = math.MaxInt
	defer func() { parallelMin = old }()
	v, err := Parse(data)
	if err != nil {
		return nil, err
	}
	if v.d == nil {
		return map[int]int{}, nil
	}
	return v.d.ends, nil
}

// agree checks that the split check gives one walk's answer: the same
// error (offset and words), or the same index of large containers.
func agree(t *testing.T, name string, data []byte) {
	t.Helper()
	wantEnds, wantErr := serial(data)
	v, err := Parse(data)
	switch {
	case (err == nil) != (wantErr == nil):
		t.Fatalf("%s: split check says %v, one walk %v", name, err, wantErr)
	case err != nil:
		if err.Error() != wantErr.Error() {
			t.Fatalf("%s: split check says %v, one walk %v", name, err, wantErr)
		}
	case v.d == nil:
	default:
		if len(v.d.ends) != len(wantEnds) {
			t.Fatalf("%s: split check indexed %d containers, one walk %d", name, len(v.d.ends), len(wantEnds))
		}
		for s, e := range wantEnds {
			if v.d.ends[s] != e || !v.d.marked(s) {
				t.Fatalf("%s: container at %d ends at %d (marked %v), one walk says %d", name, s, v.d.ends[s], v.d.marked(s), e)
			}
		}
	}
}

// indented is a document with many arrays of objects, indented as Envoy
// writes its dumps, with large containers among them.
func indented(r *rand.Rand, n int) []byte {
	var obj func(depth int) any
	obj = func(depth int) any {
		m := map[string]any{"name": fmt.Sprintf("item-%d", r.IntN(1e6)), "n": r.IntN(100), "ok": r.IntN(2) == 0}
		if depth < 4 {
			var items []any
			for range r.IntN(6) {
				items = append(items, obj(depth+1))
			}
			m["items"] = items
			if r.IntN(3) == 0 {
				m["blob"] = strings.Repeat("x", r.IntN(3000))
			}
		}
		return m
	}
	var top []any
	for range n {
		top = append(top, obj(0))
	}
	b, _ := json.MarshalIndent(map[string]any{"configs": top, "tail": []any{1, 2, 3}}, "", "  ")
	return b
}

// TestSplitCheckAgreesWithOneWalk: on generated documents, the fixtures,
// and each of them broken (a byte changed, cut short, a bracket dropped)
// at random places, the split check answers exactly as one walk.
func TestSplitCheckAgreesWithOneWalk(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	docs := map[string][]byte{}
	for i := range 4 {
		docs[fmt.Sprintf("generated-%d", i)] = indented(r, 20+i*20)
	}
	_ = filepath.WalkDir("../../../shared/fixtures", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") && len(docs) < 60 {
			if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(",\n")) {
				docs[p] = b
			}
		}
		return nil
	})
	if len(docs) < 20 {
		t.Fatalf("only %d documents", len(docs))
	}
	before := taken.Load()
	for _, every := range []int{64, 500, 4096} {
		splitSmall(t, every)
		for name, data := range docs {
			agree(t, name, data)
			for k := range 8 {
				broken := bytes.Clone(data)
				at := r.IntN(len(broken))
				switch k % 4 {
				case 0:
					broken[at] = "{}[],:\"x\\\n"[r.IntN(10)]
				case 1:
					broken = broken[:at]
				case 2:
					if i := bytes.LastIndexAny(broken[:at+1], "]}"); i >= 0 {
						broken = append(broken[:i], broken[i+1:]...)
					}
				case 3:
					broken = append(broken[:at], append([]byte(",\n  {"), broken[at:]...)...)
				}
				agree(t, fmt.Sprintf("%s broken (%d at %d, every %d)", name, k%4, at, every), broken)
			}
		}
	}
	// Which walk gets where first varies from run to run; over all these
	// documents, many answers of split walks must have been taken.
	n := taken.Load() - before
	t.Logf("%d split walks' answers taken", n)
	if n < 100 {
		t.Errorf("only %d split walks' answers were taken: the test proves little", n)
	}
}

// FuzzSplitCheckAgreesWithOneWalk: any input, split every few bytes.
func FuzzSplitCheckAgreesWithOneWalk(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 4))
	f.Add(indented(r, 3))
	f.Add([]byte("[\n  {\"a\": [\n    {},\n    {\"b\": 1}\n  ]},\n  {\"c\": \"x\"}\n]"))
	f.Add([]byte("{\"a\": [\n {\"x\": \"\n\"},\n {}\n]}"))
	f.Add([]byte("{\"a\": {\n \"k\": 1,\n {}\n}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		splitSmall(t, 16)
		agree(t, "fuzz", data)
	})
}

// TestRememberedEndsAreEnds: walking a document with the cache of recent
// container ends gives every value the same end as walking it without,
// also with several goroutines walking at once (their entries collide).
func TestRememberedEndsAreEnds(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	docs := [][]byte{indented(r, 200)}
	_ = filepath.WalkDir("../../../shared/fixtures", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") && len(docs) < 40 {
			if b, err := os.ReadFile(p); err == nil && len(b) > 64<<10 {
				docs = append(docs, b)
			}
		}
		return nil
	})
	var walk func(a, b Value, depth int) int
	walk = func(a, b Value, depth int) int {
		if a.End() != b.End() || a.off != b.off {
			t.Errorf("value at %d ends at %d with the cache, %d without", a.off, a.End(), b.End())
			return 1
		}
		n := 1
		if depth > 64 {
			return n
		}
		var bs []Value
		_ = b.Items(func(_ int, v Value) bool { bs = append(bs, v); return true })
		_ = b.Fields(func(_ []byte, v Value) bool { bs = append(bs, v); return true })
		k := 0
		_ = a.Items(func(_ int, v Value) bool { n += walk(v, bs[k], depth+1); k++; return true })
		_ = a.Fields(func(_ []byte, v Value) bool { n += walk(v, bs[k], depth+1); k++; return true })
		return n
	}
	total := 0
	for _, data := range docs {
		with, err := Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		if with.d.recent == nil {
			t.Fatalf("a %d-byte document has no cache", len(data))
		}
		without, _ := Parse(data)
		without.d.recent = nil
		done := make(chan int, 3)
		for range 3 {
			go func() { done <- walk(with, without, 0) }()
		}
		for range 3 {
			total += <-done
		}
	}
	if total < 100000 {
		t.Errorf("only %d values compared", total)
	}
}

// TestUintIsStrconvs: Uint's own digit loop answers as strconv.ParseUint
// on numbers and numeric strings of every length, signs, fractions,
// exponents, leading zeros and overflow.
func TestUintIsStrconvs(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	cases := []string{"0", "007", "18446744073709551615", "18446744073709551616", "9999999999999999999", "-1", "1.5", "1e3", "", "x"}
	for range 2000 {
		n := r.IntN(22)
		b := make([]byte, n)
		for i := range b {
			b[i] = "0123456789-+.e"[r.IntN(14)]
			if r.IntN(10) > 0 {
				b[i] = byte('0' + r.IntN(10))
			}
		}
		cases = append(cases, string(b))
	}
	for _, c := range cases {
		for _, doc := range []string{`[` + c + `]`, `["` + c + `"]`} {
			v, err := Parse([]byte(doc))
			if err != nil {
				continue
			}
			var item Value
			_ = v.Items(func(_ int, x Value) bool { item = x; return false })
			got, ok := item.Uint()
			want, err := strconv.ParseUint(c, 10, 64)
			if ok != (err == nil) || got != want && ok {
				t.Errorf("Uint(%s) = %d, %v; strconv says %d, %v", doc, got, ok, want, err)
			}
		}
	}
}

// layoutDocs are indented documents for the layout tests: generated ones,
// fixtures with line breaks after commas, and the first again with
// carriage returns and tabs in its indentation.
func layoutDocs(r *rand.Rand) [][]byte {
	var docs [][]byte
	for i := range 4 {
		docs = append(docs, indented(r, 30+i*30))
	}
	_ = filepath.WalkDir("../../../shared/fixtures", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") && len(docs) < 40 {
			if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(",\n")) {
				docs = append(docs, b)
			}
		}
		return nil
	})
	return append(docs, bytes.ReplaceAll(docs[0], []byte(",\n  "), []byte(",\r\n\t ")))
}

// TestSplitPointIsTheLeastIndentedRecurring: splitPoint is, read the plain
// way (every line of the stretch, by a regular pattern), the '{' of the
// first ",\n<indent>{" of the least indentation that occurs twice in the
// stretch, or -1; at many places of indented fixtures and generated
// documents, with tabs and carriage returns mixed in.
func TestSplitPointIsTheLeastIndentedRecurring(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	docs := layoutDocs(r)
	line := regexp.MustCompile(`,[ \t\r]*\n([ \t]*)\{`)
	checked := 0
	for _, data := range docs {
		lines := line.FindAllSubmatchIndex(data, -1)
		for n := range 50 {
			at := r.IntN(len(data))
			window := []int{splitSearch, splitSearch / 4, 1 + r.IntN(splitSearch)}[n%3]
			limit := min(len(data), at+window)
			want, wantIndent := -1, math.MaxInt
			seen := map[int]int{} // indentation: first '{'
			for _, m := range lines {
				indent, brace, newline := m[3]-m[2], m[3], m[2]-1
				if newline < at || newline >= limit || indent >= 64 {
					continue // lines whose line break is in the stretch
				}
				if first, ok := seen[indent]; !ok {
					seen[indent] = brace
				} else if indent < wantIndent {
					want, wantIndent = first, indent
				}
			}
			if want < 0 {
				wantIndent = 64
			}
			if got, indent := splitPoint(data, at, window); got != want || indent != wantIndent {
				t.Fatalf("splitPoint at %d within %d: %d at indentation %d, want %d at %d", at, window, got, indent, want, wantIndent)
			}
			// Through the pages' Peek: the document's own bytes are not
			// read (here they are all zero; only Peek has the text), and
			// a Peek that cannot read falls back to them.
			peeked := &doc{data: make([]byte, len(data)), pages: &Pages{Peek: func(dst []byte, from, to int) []byte { return append(dst[:0], data[from:to]...) }}}
			if got, indent := peeked.splitPoint(at, window); got != want || indent != wantIndent {
				t.Fatalf("splitPoint through Peek at %d within %d: %d at indentation %d, want %d at %d", at, window, got, indent, want, wantIndent)
			}
			unread := &doc{data: data, pages: &Pages{Peek: func([]byte, int, int) []byte { return nil }}}
			if got, indent := unread.splitPoint(at, window); got != want || indent != wantIndent {
				t.Fatalf("splitPoint, Peek failing, at %d within %d: %d at indentation %d, want %d at %d", at, window, got, indent, want, wantIndent)
			}
			checked++
		}
	}
	t.Logf("%d places", checked)
}

// TestItemStartsFollowTheLayout: ItemStarts is, read the plain way (every
// ",\n<indent>{" of the array, by a regular pattern), the first such line
// with the first element's indentation at least every bytes past the first
// element, then the first at least every bytes past that one, and so on;
// nothing when the first element is not an object on a line of its own.
// On the arrays of indented fixtures and generated documents, with tabs
// and carriage returns mixed in.
func TestItemStartsFollowTheLayout(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	docs := layoutDocs(r)
	docs = append(docs, bytes.ReplaceAll(docs[1], []byte("\n"), []byte(" "))) // no layout at all
	line := regexp.MustCompile(`,[ \t\r]*\n([ \t]*)\{`)
	checked, offered := 0, 0
	for _, data := range docs {
		root, err := Parse(data)
		if err != nil {
			continue
		}
		lines := line.FindAllSubmatchIndex(data, -1)
		var arrays []Value
		var walk func(v Value)
		walk = func(v Value) {
			switch v.Kind() {
			case Array:
				arrays = append(arrays, v)
				_ = v.Items(func(_ int, e Value) bool { walk(e); return len(arrays) < 200 })
			case Object:
				_ = v.Fields(func(_ []byte, e Value) bool { walk(e); return len(arrays) < 200 })
			}
		}
		walk(root)
		for _, v := range arrays {
			for _, every := range []int{1, 64, 1024} {
				var want []int
				first := v.FirstItem()
				nl := first - 1
				for first >= 0 && nl > v.off && (data[nl] == ' ' || data[nl] == '\t') {
					nl--
				}
				if first >= 0 && data[first] == '{' && data[nl] == '\n' {
					indent := data[nl+1 : first]
					at := first + every
					for _, m := range lines {
						if start, brace := m[2], m[3]; start >= at && brace < v.end && bytes.Equal(data[start:brace], indent) {
							want = append(want, brace)
							at = brace + every
						}
					}
				}
				got := v.ItemStarts(every)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("ItemStarts(%d) of the array at %d: %v, want %v", every, v.off, got, want)
				}
				checked++
				offered += len(got)
			}
		}
	}
	if offered == 0 {
		t.Fatal("no array offered a start")
	}
	t.Logf("%d arrays, %d offers", checked, offered)
}
