//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/kube"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/portforward"
)

// TestTunnelsLeaveNothingBehind opens tunnels with pkg/portforward, uses
// each for several requests, and ends them by Close and by cancelling their
// context: afterwards the local port is closed and the goroutines are gone.
func TestTunnelsLeaveNothingBehind(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, _, k, dump := startWithKubelet(t, ctx)
	startAdmin(t, "127.0.1.5:15000", dump, nil)
	if _, err := k.RunPod(ctx, "default", "tunnel", "127.0.1.5", "192.0.2.14", nil, "istio-proxy"); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	core, err := kube.NewCore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	before := settledGoroutines()

	for i, end := range []string{"close", "cancel", "close"} {
		tctx, tcancel := context.WithCancel(ctx)
		tun, err := portforward.Open(tctx, cfg, core, "default", "tunnel", 15000)
		if err != nil {
			t.Fatal(err)
		}
		tr := &http.Transport{}
		for j := 0; j < 3; j++ { // several requests over one tunnel
			resp, err := (&http.Client{Transport: tr}).Get(tun.URL() + "/config_dump")
			if err != nil {
				t.Fatalf("tunnel %d request %d: %v", i, j, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if len(body) != len(dump) {
				t.Fatalf("tunnel %d request %d: %d bytes, want %d", i, j, len(body), len(dump))
			}
		}
		tr.CloseIdleConnections()
		addr := fmt.Sprintf("127.0.0.1:%d", tun.LocalPort)
		if end == "close" {
			tun.Close()
		} else {
			tcancel()
			tun.Close() // after cancellation Close must still return
		}
		tcancel()
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			t.Errorf("tunnel %d (%s): %s still accepts connections", i, end, addr)
		}
	}
	// A closed SPDY connection's shutdown goroutine may wait out a timer
	// of a second (spdystream's Close, when closing the socket reports an
	// error) before it ends: what is left after closeWait is left behind.
	after := runtime.NumGoroutine()
	for deadline := time.Now().Add(closeWait); after > before && time.Now().Before(deadline); after = runtime.NumGoroutine() {
		time.Sleep(100 * time.Millisecond)
	}
	if after > before {
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		t.Errorf("goroutines: %d before the tunnels, %d after\n%s", before, after, buf[:n])
	}
}

// closeWait is how long the goroutines of ended tunnels may take to end:
// more than spdystream's timer of a second on a close error.
const closeWait = 5 * time.Second

// settledGoroutines counts goroutines once the count stops falling.
func settledGoroutines() int {
	n := runtime.NumGoroutine()
	for i := 0; i < 50; i++ {
		time.Sleep(100 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m >= n && i > 5 {
			return m
		}
		n = m
	}
	return n
}
