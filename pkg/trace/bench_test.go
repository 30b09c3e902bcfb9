package trace

import (
	"bytes"
	"os"
	"testing"

	"github.com/kubectl-mesh/kubectl-mesh/internal/dumpgen"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// BenchmarkTrace5000 is one trace on a 5000-service sidecar dump (the
// size DESIGN.md's performance target names), after the dump is loaded:
// the target is under 50 ms a request. make bench prints it.
func BenchmarkTrace5000(b *testing.B) {
	template, err := os.ReadFile("../../examples/istio-sidecar.json")
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := dumpgen.Write(&buf, template, dumpgen.Options{Services: 5000}); err != nil {
		b.Fatal(err)
	}
	dumps, err := envoyadmin.Load(buf.Bytes())
	if err != nil {
		b.Fatal(err)
	}
	cfg := xds.New(dumps[0])
	// Requests to services across the dump: to each listener bound to a
	// Service IP, plaintext HTTP with its Host.
	var reqs []Request
	for _, l := range cfg.Listeners() {
		if l.Address != "" && l.Address != "0.0.0.0" && l.Port != 0 && len(reqs) < 64 {
			reqs = append(reqs, Request{Mode: Outbound, Address: l.Address, Port: l.Port, Protocol: "http", TLS: "plaintext",
				Host: l.Name, Path: "/", Method: "GET", Headers: map[string][]string{}})
		}
	}
	if len(reqs) == 0 {
		b.Fatal("no listeners to trace to")
	}
	Trace(cfg, reqs[0]) // the model is decoded on first use: that is load, not trace
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h := Trace(cfg, reqs[i%len(reqs)])
		if h.Result == "" {
			b.Fatal("no result")
		}
	}
}
