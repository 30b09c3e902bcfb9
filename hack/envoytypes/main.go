// Command envoytypes writes the descriptors of the Envoy extension types
// kubectl mesh renders without linking (see internal/envoytypes):
//
//	go run ./hack/envoytypes > pkg/xds/envoytypes.binpb
package main

import (
	"fmt"
	"os"

	"github.com/kubectl-mesh/kubectl-mesh/internal/envoytypes"
)

func main() {
	b, err := envoytypes.DescriptorSet()
	if err != nil {
		fmt.Fprintln(os.Stderr, "envoytypes:", err)
		os.Exit(1)
	}
	if _, err := os.Stdout.Write(b); err != nil {
		fmt.Fprintln(os.Stderr, "envoytypes:", err)
		os.Exit(1)
	}
}
