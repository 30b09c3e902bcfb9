// Package swar tests the eight bytes of a word at once (SIMD within a
// register): the scans of the JSON checker and the table's cell
// measures read their input a word at a time with these.
package swar

const (
	// Ones has 1 in each byte; b*Ones is b in each byte.
	Ones = 0x0101010101010101
	// Highs has the high bit of each byte set.
	Highs = 0x8080808080808080
)

// HasByte has the high bit set in the lowest byte of w equal to b (bytes
// above a match may be flagged falsely; only the lowest one is used).
func HasByte(w, b uint64) uint64 {
	x := w ^ (b * Ones)
	return (x - Ones) &^ x & Highs
}

// HasLess has the high bit set in the lowest byte of w below n (n <= 128;
// bytes above a match may be flagged falsely).
func HasLess(w, n uint64) uint64 {
	return (w - n*Ones) &^ w & Highs
}

// BytesEqual has the high bit set in exactly the bytes of w equal to b
// (unlike HasByte, no byte is flagged falsely: the low seven bits of each
// byte are added without a carry into the next).
func BytesEqual(w, b uint64) uint64 {
	const lows = ^uint64(Highs)
	x := w ^ (b * Ones)
	return ^((x&lows + lows) | x | lows)
}
