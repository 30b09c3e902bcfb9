package routecheck

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkRouteCheck runs the 33 tests of Envoy's TestRoutes corpus file
// against TestRoutes.yaml; tests per second is reported as tests/s.
func BenchmarkRouteCheck(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(corpus, "TestRoutes.golden.proto.json"))
	if err != nil {
		b.Skip(err)
	}
	s, err := Parse(data)
	if err != nil {
		b.Fatal(err)
	}
	c := NewChecker(load(b, "TestRoutes.yaml"))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, tc := range s.Tests {
			c.Run(tc)
		}
	}
	b.ReportMetric(float64(b.N*len(s.Tests))/b.Elapsed().Seconds(), "tests/s")
}
