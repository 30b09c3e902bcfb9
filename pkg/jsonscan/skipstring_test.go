package jsonscan

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// TestSkipStringEndsWhereJSONDoes: for strings encoding/json writes (with
// quotes, backslashes, control bytes and multi-byte runes, escaped as it
// escapes them, and with \u escapes and raw backslash runs of our own),
// skipString ends just past the closing quote whatever follows, and a
// string cut anywhere before its end is an error.
func TestSkipStringEndsWhereJSONDoes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "Z", " ", "\"", "\\", "\\\\", "\n", "\t", "\x01", "\x1f", "/", "é", "世", "\u2028", "'", "{", "}", ",", ":"}
	for n := range 20000 {
		var s []byte
		for range rng.IntN(40) {
			s = append(s, alphabet[rng.IntN(len(alphabet))]...)
		}
		enc, err := json.Marshal(string(s))
		if err != nil {
			t.Fatal(err)
		}
		if n%3 == 0 {
			// Escapes encoding/json does not write: \/ and \u0022.
			enc = append(append([]byte(`"\/\u0022`), enc[1:len(enc)-1]...), `\\"`...)
		}
		var check string
		if err := json.Unmarshal(enc, &check); err != nil {
			t.Fatalf("%q: %v", enc, err)
		}
		tail := []string{"", ",", `"`, `\"`, ` : "x"`, "        }"}[rng.IntN(6)]
		data := append(append([]byte{}, enc...), tail...)
		if end, err := skipString(data, 0); err != nil || end != len(enc) {
			t.Fatalf("%q: skipString = %d, %v; want %d", data, end, err, len(enc))
		}
		for k := 1; k < len(enc); k++ {
			if end, err := skipString(enc[:k], 0); err == nil {
				t.Fatalf("%q cut to %q: ended at %d, want an error", enc, enc[:k], end)
			}
		}
	}
}
