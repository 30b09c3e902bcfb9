package jsonscan

import (
	"encoding/json"
	"os"
	"testing"
)

// BenchmarkSkipLargeDump measures a structural pass over a generated dump:
// MESH_BENCH_DUMP=/tmp/mesh-5000.json go test -bench SkipLarge ./pkg/jsonscan
func BenchmarkSkipLargeDump(b *testing.B) {
	path := os.Getenv("MESH_BENCH_DUMP")
	if path == "" {
		b.Skip("set MESH_BENCH_DUMP to a large dump (make bench generates them)")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.Run("jsonscan", func(b *testing.B) {
		for b.Loop() {
			if _, err := Parse(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("jsonscan-one-walk", func(b *testing.B) {
		old := parallelMin
		parallelMin = len(data) + 1
		defer func() { parallelMin = old }()
		for b.Loop() {
			if _, err := Parse(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json-valid", func(b *testing.B) {
		for b.Loop() {
			if !json.Valid(data) {
				b.Fatal("invalid")
			}
		}
	})
}
