//go:build linux

package envoyadmin

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
)

// TestShrinkDuringTheCheckIsOneError: a mapped dump truncated while its
// grammar is being checked on several cores faults on whichever goroutine
// reads a lost page first (the walk from the start, a walk from a split
// point, a search for split points); each is one error naming the cause,
// never SIGBUS killing the process. The file is cut at the n-th time the
// check asks for pages ahead, for several n, so that the fault lands in
// different walks.
func TestShrinkDuringTheCheckIsOneError(t *testing.T) {
	var clusters []map[string]any
	for i := range 30000 {
		clusters = append(clusters, map[string]any{"cluster": map[string]any{
			"@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster",
			"name":  fmt.Sprintf("outbound|%d||svc-%d.default.svc.cluster.local", 8000+i%100, i),
			"type":  "EDS", "connect_timeout": "10s",
			"eds_cluster_config": map[string]any{"service_name": fmt.Sprintf("svc-%d", i), "eds_config": map[string]any{"ads": map[string]any{}}},
		}})
	}
	src, err := json.MarshalIndent(map[string]any{"configs": []any{map[string]any{
		"@type":                   "type.googleapis.com/envoy.admin.v3.ClustersConfigDump",
		"dynamic_active_clusters": clusters,
	}}}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if len(src) < 8<<20 {
		t.Fatalf("the dump is %d bytes: too small to be checked on several cores", len(src))
	}
	for _, n := range []int32{2, 3, 5, 9} {
		for range 3 {
			in, path := mappedFile(t, src, "shrinking.json")
			in.Evict(0, len(in.Data))
			ahead, asked := in.Prefetch, atomic.Int32{}
			in.Prefetch = func(from, to int) {
				if asked.Add(1) == n {
					_ = os.Truncate(path, 4096)
				}
				ahead(from, to)
			}
			err = Guard(func() error {
				_, err := LoadInput(in)
				return err
			})
			if asked.Load() < n {
				continue // checked before the n-th: nothing was cut
			}
			if !errors.Is(err, ErrFileChanged) {
				t.Fatalf("cut at the %d-th read ahead: %v, want ErrFileChanged", n, err)
			}
		}
	}
}
