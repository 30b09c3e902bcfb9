// Command gendump writes a large Istio sidecar config dump for benchmarks:
//
//	go run ./hack/gendump -services 5000 -o /tmp/mesh-5000.json
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"

	"github.com/kubectl-mesh/kubectl-mesh/internal/dumpgen"
)

func main() {
	services := flag.Int("services", 1000, "number of services")
	endpoints := flag.Int("endpoints", 3, "endpoints per cluster")
	template := flag.String("template", "examples/istio-sidecar.json", "real sidecar dump to copy resources from")
	out := flag.String("o", "-", "output file")
	flag.Parse()
	if err := run(*template, *out, dumpgen.Options{Services: *services, EndpointsPerShard: *endpoints}); err != nil {
		fmt.Fprintln(os.Stderr, "gendump:", err)
		os.Exit(1)
	}
}

func run(template, out string, opts dumpgen.Options) error {
	tpl, err := os.ReadFile(template)
	if err != nil {
		return err
	}
	w := os.Stdout
	if out != "-" {
		if w, err = os.Create(out); err != nil {
			return err
		}
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	if err := dumpgen.Write(bw, tpl, opts); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return w.Close()
}
