package cmd

import (
	"io"
	"os"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// BenchmarkListing runs each listing command on a large generated dump:
//
//	go run ./hack/gendump -services 5000 -o /tmp/mesh-5000.json
//	MESH_BENCH_DUMP=/tmp/mesh-5000.json go test -run '^$' -bench Listing ./pkg/cmd
func BenchmarkListing(b *testing.B) {
	path := os.Getenv("MESH_BENCH_DUMP")
	if path == "" {
		b.Skip("set MESH_BENCH_DUMP to a large dump (make bench generates them)")
	}
	for _, args := range [][]string{
		{"listeners"}, {"routes"}, {"clusters"}, {"endpoints"}, {"secrets"}, {"listeners", "-o", "json"}, {"endpoints", "-o", "json"}, {"endpoints", "-o", "yaml"}, {"config", "-o", "yaml"},
	} {
		b.Run(args[0]+outputSuffix(args), func(b *testing.B) {
			for b.Loop() {
				streams := genericiooptions.IOStreams{In: nil, Out: io.Discard, ErrOut: io.Discard}
				root := NewRootCmd(streams)
				root.SetArgs(append(args, "-f", path))
				if err := root.Execute(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func outputSuffix(args []string) string {
	if len(args) == 3 {
		return "-" + args[2]
	}
	return ""
}
