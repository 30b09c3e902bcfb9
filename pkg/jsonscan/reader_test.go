package jsonscan

import (
	"bytes"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// choice is how a walk reads the value starting at off: the same for the
// Reader and for the walk by Fields and Items it is compared with.
func choice(off, seed int) int { return int((uint64(off+seed) * 0x9E3779B97F4A7C15) >> 62) }

// byFields writes out v as Fields and Items walk it; a value choice says
// to leave is written "_", one to take whole is written as its bytes.
func byFields(b *strings.Builder, v Value, seed int) {
	switch choice(v.Offset(), seed) {
	case 0:
		b.WriteString("_")
		return
	case 1:
		fmt.Fprintf(b, "%q", v.Raw())
		return
	}
	switch v.Kind() {
	case Object:
		b.WriteString("{")
		_ = v.Fields(func(key []byte, c Value) bool {
			fmt.Fprintf(b, "%s:", key)
			byFields(b, c, seed)
			b.WriteString(",")
			return true
		})
		b.WriteString("}")
	case Array:
		b.WriteString("[")
		_ = v.Items(func(_ int, c Value) bool {
			byFields(b, c, seed)
			b.WriteString(",")
			return true
		})
		b.WriteString("]")
	default:
		fmt.Fprintf(b, "%q", v.Str())
	}
}

// byReader is byFields with a Reader.
func byReader(b *strings.Builder, r *Reader, seed int) {
	switch choice(r.i, seed) {
	case 0:
		b.WriteString("_")
		return
	case 1:
		fmt.Fprintf(b, "%q", r.Value().Raw())
		return
	}
	// Object and Array return the value they read: a wrong span shows.
	start := r.i
	read := func(v Value) {
		if v.Offset() != start || v.End() != r.i || v.Kind() != Value.Kind(Value{d: r.d, off: start, end: start + 1}) {
			fmt.Fprintf(b, "(read %d-%d, the value is %d-%d)", v.Offset(), v.End(), start, r.i)
		}
	}
	switch r.Kind() {
	case Object:
		b.WriteString("{")
		read(r.Object(func(key []byte) {
			fmt.Fprintf(b, "%s:", key)
			byReader(b, r, seed)
			b.WriteString(",")
		}))
		b.WriteString("}")
	case Array:
		b.WriteString("[")
		read(r.Array(func() {
			byReader(b, r, seed)
			b.WriteString(",")
		}))
		b.WriteString("]")
	default:
		fmt.Fprintf(b, "%q", r.Str())
	}
}

func readerDocs(t *testing.T) map[string][]byte {
	r := rand.New(rand.NewPCG(3, 4))
	docs := map[string][]byte{
		"scalars":    []byte(`{"a": 1, "b": "x\"y", "c": true, "d": null, "e": [], "f": {}, "g": [1, "2", [3], {"h": -4.5e1}],}`),
		"compact":    []byte(`{"a":{"b":{"c":[{"d":1},{"e":[2,3]}]}},"f":"g"}`),
		"top string": []byte(`"s"`),
		"top number": []byte(`12`),
	}
	for i := range 3 {
		docs[fmt.Sprintf("generated-%d", i)] = indented(r, 10+i*20)
	}
	_ = filepath.WalkDir("../../../shared/fixtures", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") && len(docs) < 80 {
			if b, err := os.ReadFile(p); err == nil {
				docs[p] = b
			}
		}
		return nil
	})
	if len(docs) < 40 {
		t.Fatalf("only %d documents", len(docs))
	}
	return docs
}

// TestReaderReadsAsFieldsAndItems: on generated documents and the
// fixtures, a Reader going into some values, taking some whole and leaving
// others reads what Fields and Items give, value for value.
func TestReaderReadsAsFieldsAndItems(t *testing.T) {
	for name, data := range readerDocs(t) {
		v, err := Parse(data)
		if err != nil {
			continue // a fixture that is not JSON
		}
		for seed := range 6 {
			var want, got strings.Builder
			byFields(&want, v, seed)
			rd := v.Reader()
			byReader(&got, &rd, seed)
			if rd.Err() != nil {
				t.Fatalf("%s (seed %d): %v", name, seed, rd.Err())
			}
			if got.String() != want.String() {
				t.Fatalf("%s (seed %d): the Reader read\n%.300s\nFields and Items\n%.300s", name, seed, got.String(), want.String())
			}
		}
	}
}

// TestReaderReadsEachValueOnce: a value read twice, or read after its
// member's function returned, reads nothing and disturbs nothing.
func TestReaderReadsEachValueOnce(t *testing.T) {
	v := MustLiteral(`{"a": "x", "b": {"c": 1}, "d": [2]}`)
	rd := v.Reader()
	var got []string
	rd.Object(func(key []byte) {
		first := rd.Str()
		second := rd.Str()
		got = append(got, string(key)+"="+first+"/"+second+fmt.Sprint(rd.Value().Present()))
	})
	if want := []string{"a=x/false", "b=/false", "d=/false"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if rd.Str() != "" || rd.Value().Present() || rd.Err() != nil {
		t.Fatal("the Reader read past its value")
	}
	var zero Reader
	zero.Object(func([]byte) { t.Fatal("called on nothing") })
	zero.Array(func() { t.Fatal("called on nothing") })
	if zero.Str() != "" {
		t.Fatal("zero Reader read something")
	}
}

// TestReaderOnChangedBytes: a parsed document whose bytes then change (a
// mapped file rewritten) is read to an error or to the end, never a panic
// or a loop.
func TestReaderOnChangedBytes(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	failed := 0
	for name, data := range readerDocs(t) {
		for k := range 20 {
			data := bytes.Clone(data)
			v, err := Parse(data)
			if err != nil || len(data) == 0 {
				continue
			}
			for range 1 + k%4 {
				data[r.IntN(len(data))] = "{}[],:\"x\\ \n"[r.IntN(11)]
			}
			var b strings.Builder
			rd := v.Reader()
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("%s changed (%d): panic %v", name, k, p)
					}
				}()
				byReader(&b, &rd, k)
			}()
			if rd.Err() != nil {
				failed++
			}
		}
	}
	if failed == 0 {
		t.Fatal("no change was ever noticed")
	}
}

// TestKeyIsIsTheFoldedComparison: KeyIs's quick answers agree with the
// byte-by-byte comparison on every pair of proto names and their
// camelCase, upper-case and underscored spellings, and on random keys of
// the bytes that matter (letters of both cases, digits, '_', '@', '`').
func TestKeyIsIsTheFoldedComparison(t *testing.T) {
	names := []string{"address", "port_value", "socket_address", "lb_endpoints", "endpoint", "health_status",
		"load_balancing_weight", "cluster_name", "_private", "@type", "a", "", "x_", "route_config_name"}
	var keys []string
	for _, n := range names {
		keys = append(keys, n, strings.ToUpper(n), "_"+n, n+"_", strings.ReplaceAll(n, "_", ""))
		parts := strings.Split(n, "_")
		for i := 1; i < len(parts); i++ {
			if parts[i] != "" {
				parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
			}
		}
		keys = append(keys, strings.Join(parts, ""))
	}
	r := rand.New(rand.NewPCG(9, 10))
	const alphabet = "aAbBzZ09_@`[{~\x00\xff"
	for range 50000 {
		b := make([]byte, r.IntN(6))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		keys = append(keys, string(b))
	}
	for _, k := range keys {
		for _, n := range append(names, keys[r.IntN(len(keys))], keys[r.IntN(len(keys))]) {
			if got, want := KeyIs([]byte(k), n), keyIsFolded([]byte(k), n); got != want {
				t.Fatalf("KeyIs(%q, %q) = %v, the comparison says %v", k, n, got, want)
			}
		}
	}
}

// TestReadItemsFromAnywhere: ReadItems from a true element's start reads
// the elements Items gives from there and reaches a true start it is given;
// from any other offset it reads without a panic.
func TestReadItemsFromAnywhere(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for name, data := range readerDocs(t) {
		v, err := Parse(data)
		if err != nil {
			continue
		}
		var arrays []Value
		var walk func(Value)
		walk = func(v Value) {
			if v.Kind() == Array && len(arrays) < 200 {
				arrays = append(arrays, v)
			}
			_ = v.Fields(func(_ []byte, c Value) bool { walk(c); return true })
			_ = v.Items(func(_ int, c Value) bool { walk(c); return true })
		}
		walk(v)
		for _, a := range arrays {
			var starts []int
			_ = a.Items(func(_ int, e Value) bool { starts = append(starts, e.Offset()); return true })
			if len(starts) == 0 {
				if a.FirstItem() != -1 {
					t.Fatalf("%s: empty array has a first item", name)
				}
				continue
			}
			if a.FirstItem() != starts[0] {
				t.Fatalf("%s: FirstItem %d, Items starts at %d", name, a.FirstItem(), starts[0])
			}
			i := r.IntN(len(starts))
			j := i + r.IntN(len(starts)-i)
			var got []int
			reached, err := a.ReadItems(starts[i], starts[j], func(rd *Reader) {
				got = append(got, rd.i)
				if r.IntN(2) == 0 {
					rd.Value()
				}
			})
			if want := starts[i:j]; err != nil || !reached || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%s: ReadItems(%d, %d) = %v, %v reading %v; want reached, reading %v", name, starts[i], starts[j], reached, err, got, want)
			}
			for range 5 {
				from, until := a.Offset()+r.IntN(a.End()-a.Offset()), a.Offset()+r.IntN(a.End()-a.Offset())
				_, _ = a.ReadItems(from, until, func(rd *Reader) { rd.Str() })
			}
		}
	}
}

// FuzzReaderReadsAsFields: whatever the document, the Reader reads what
// Fields and Items give, without a panic.
func FuzzReaderReadsAsFields(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `{"a":[1,{"b":"c\"d"}],"e":null}`, `{"x":[1,2,],}`, `"s"`, "[\n {\"a\": 1},\n {\"b\": [\n {}]}\n]"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Parse(data)
		if err != nil {
			return
		}
		for seed := range 4 {
			var want, got strings.Builder
			byFields(&want, v, seed)
			rd := v.Reader()
			byReader(&got, &rd, seed)
			if rd.Err() != nil || got.String() != want.String() {
				t.Fatalf("seed %d: the Reader read %q (%v), Fields and Items %q", seed, got.String(), rd.Err(), want.String())
			}
		}
		if v.Kind() == Array {
			first := v.FirstItem()
			for _, s := range append(v.ItemStarts(1), first) {
				_, _ = v.ReadItems(s, -1, func(r *Reader) { r.Str() })
			}
		}
	})
}
