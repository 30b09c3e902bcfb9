// Command gendump writes a large Istio sidecar config dump for benchmarks,
// or istiod's /debug/syncz for that many proxies:
//
//	go run ./hack/gendump -services 5000 -o /tmp/mesh-5000.json
//	go run ./hack/gendump -syncz 5000 -o /tmp/syncz-5000.json
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/kubectl-mesh/kubectl-mesh/internal/dumpgen"
)

func main() {
	services := flag.Int("services", 1000, "number of services")
	endpoints := flag.Int("endpoints", 3, "endpoints per cluster")
	template := flag.String("template", "examples/istio-sidecar.json", "real sidecar dump to copy resources from")
	out := flag.String("o", "-", "output file")
	syncz := flag.Int("syncz", 0, "write istiod's /debug/syncz for this many proxies instead, scaled from examples/istiod-syncz.json")
	varied := flag.Bool("varied", false, "write the other generator's gateway-shaped dump (names, filter chains, routes, subsets, endpoints varied) instead of scaling the sidecar template")
	flag.Parse()
	if *varied {
		if err := writeVaried(*out, dumpgen.Options{Services: *services}); err != nil {
			fmt.Fprintln(os.Stderr, "gendump:", err)
			os.Exit(1)
		}
		return
	}
	if *syncz > 0 {
		if err := writeSyncz("examples/istiod-syncz.json", *out, *syncz); err != nil {
			fmt.Fprintln(os.Stderr, "gendump:", err)
			os.Exit(1)
		}
		return
	}
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

func writeVaried(out string, opts dumpgen.Options) error {
	w := os.Stdout
	if out != "-" {
		var err error
		if w, err = os.Create(out); err != nil {
			return err
		}
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	if err := dumpgen.WriteVaried(bw, opts); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return w.Close()
}

// writeSyncz repeats a real syncz's entries, each copy's proxy renamed, up
// to n proxies.
func writeSyncz(template, out string, n int) error {
	data, err := os.ReadFile(template)
	if err != nil {
		return err
	}
	var entries []map[string]any
	if err := json.Unmarshal(data, &entries); err != nil {
		return fmt.Errorf("%s: %v", template, err)
	}
	if len(entries) == 0 {
		return fmt.Errorf("%s has no entries", template)
	}
	all := make([]map[string]any, 0, n)
	for i := 0; i < n; i++ {
		e := map[string]any{}
		for k, v := range entries[i%len(entries)] {
			e[k] = v
		}
		name, _ := e["proxy"].(string)
		pod, ns, _ := strings.Cut(name, ".")
		e["proxy"] = fmt.Sprintf("%s-%d.%s", pod, i, ns)
		all = append(all, e)
	}
	b, err := json.Marshal(all)
	if err != nil {
		return err
	}
	if out == "-" {
		_, err = os.Stdout.Write(b)
		return err
	}
	return os.WriteFile(out, b, 0o644)
}
