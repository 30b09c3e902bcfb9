package main

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func gcSettings() (percent, limit int64, cycles uint64) {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64()), int64(s[1].Value.Uint64()), s[2].Value.Uint64()
}

// TestFirstGCIsDeferred: no collection runs until the process has taken
// the limit; the first one restores Go's defaults (GOGC 100, no limit).
func TestFirstGCIsDeferred(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	t.Setenv("MESH_FIRST_GC_MB", "")
	defer debug.SetGCPercent(100)
	defer debug.SetMemoryLimit(math.MaxInt64)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	limit := int64(ms.Sys) + 32<<20 // what the runtime holds now, and 32 MB more
	deferFirstGC(limit)
	if p, l, _ := gcSettings(); p != -1 || l != limit {
		t.Fatalf("after deferFirstGC: GOGC %d, limit %d; want off and %d", p, l, limit)
	}
	_, _, before := gcSettings()
	var keep [][]byte
	for range 8 { // 8 MB, well under the limit
		keep = append(keep, make([]byte, 1<<20))
	}
	if _, _, n := gcSettings(); n != before {
		t.Fatalf("%d collections under the limit", n-before)
	}
	for range 64 { // 64 MB more: past it
		keep = append(keep, make([]byte, 1<<20))
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		p, l, n := gcSettings()
		if p == 100 && l == math.MaxInt64 && n > before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("past the limit: GOGC %d, limit %d, %d collections; want the defaults back after one", p, l, n-before)
		}
		time.Sleep(time.Millisecond)
	}
	runtime.KeepAlive(keep)
}

// TestFirstGCLeavesUsersSettings: GOGC or GOMEMLIMIT in the environment,
// or MESH_FIRST_GC_MB=0, leave the runtime as it is.
func TestFirstGCLeavesUsersSettings(t *testing.T) {
	defer debug.SetGCPercent(100)
	defer debug.SetMemoryLimit(math.MaxInt64)
	for _, env := range [][2]string{{"GOGC", "50"}, {"GOMEMLIMIT", "1GiB"}, {"MESH_FIRST_GC_MB", "0"}} {
		t.Run(env[0], func(t *testing.T) {
			t.Setenv("GOGC", "")
			t.Setenv("GOMEMLIMIT", "")
			t.Setenv("MESH_FIRST_GC_MB", "")
			t.Setenv(env[0], env[1])
			p0, l0, _ := gcSettings()
			deferFirstGC(64 << 20)
			if p, l, _ := gcSettings(); p != p0 || l != l0 {
				t.Fatalf("%s=%s: GOGC %d, limit %d; want them untouched", env[0], env[1], p, l)
			}
		})
	}
}
