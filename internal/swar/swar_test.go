package swar

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// TestWordTestsAreByteTests: on random words and words built of the
// bytes around the ones tested, each word test flags what the byte-wise
// test finds: BytesEqual exactly the equal bytes; HasByte and HasLess at
// least the lowest match (bytes above it may be flagged), and nothing
// when there is no match.
func TestWordTestsAreByteTests(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	near := []byte{0, 1, 0x09, 0x0a, 0x0b, 0x0c, 0x1f, 0x20, 0x21, '"', '\\', 0x7f, 0x80, 0x81, 0xff}
	for range 200000 {
		var b [8]byte
		for i := range b {
			if r.IntN(2) == 0 {
				b[i] = near[r.IntN(len(near))]
			} else {
				b[i] = byte(r.Uint32())
			}
		}
		w := binary.LittleEndian.Uint64(b[:])
		c := near[r.IntN(len(near))]
		n := uint64(r.IntN(129))
		lowestEq, lowestLess := -1, -1
		var eq uint64
		for i := 7; i >= 0; i-- {
			if b[i] == c {
				eq |= 0x80 << (8 * i)
				lowestEq = i
			}
			if uint64(b[i]) < n {
				lowestLess = i
			}
		}
		if got := BytesEqual(w, uint64(c)); got != eq {
			t.Fatalf("BytesEqual(%x, %#x) = %x, want %x", b, c, got, eq)
		}
		for _, tc := range []struct {
			name   string
			got    uint64
			lowest int
		}{{"HasByte", HasByte(w, uint64(c)), lowestEq}, {"HasLess", HasLess(w, n), lowestLess}} {
			switch {
			case tc.lowest < 0 && tc.got != 0:
				t.Fatalf("%s(%x) = %x with no match", tc.name, b, tc.got)
			case tc.lowest >= 0 && (tc.got&(1<<(8*tc.lowest+7)) == 0 || tc.got&(1<<(8*tc.lowest+7)-1) != 0):
				t.Fatalf("%s(%x) = %x, want byte %d the lowest flagged", tc.name, b, tc.got, tc.lowest)
			}
		}
	}
}
