//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// meshEnv is the environment kubectl runs the plugin in: the freshly built
// kubectl-mesh first on PATH, and the stack's kubeconfig.
func meshEnv(bin, kubeconfig string) []string {
	return append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "KUBECONFIG="+kubeconfig)
}

// syncBuffer is a buffer the test may read while a process writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// meshProcess is a long-running "kubectl mesh ..." (--watch, --follow) in
// its own process group, so Ctrl-C reaches kubectl and the plugin alike.
type meshProcess struct {
	cmd *exec.Cmd
	out syncBuffer
}

// startMesh starts "kubectl mesh args..." in the background; the test
// stops it with interrupt, or its cleanup kills it.
func startMesh(t *testing.T, ctx context.Context, bin, kubeconfig string, args ...string) *meshProcess {
	t.Helper()
	p := &meshProcess{cmd: exec.CommandContext(ctx, "kubectl", append([]string{"mesh"}, args...)...)}
	p.cmd.Env = meshEnv(bin, kubeconfig)
	p.cmd.Stdout = &p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			_ = p.cmd.Wait()
		}
	})
	return p
}

// Output is what the process has printed so far.
func (p *meshProcess) Output() string { return p.out.String() }

// waitOutput reports whether the output came to contain s within 30s.
func (p *meshProcess) waitOutput(s string) bool {
	return eventually(30*time.Second, 200*time.Millisecond, func() bool { return strings.Contains(p.Output(), s) })
}

// interrupt is Ctrl-C: SIGINT to the process group, then wait for it.
func (p *meshProcess) interrupt() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGINT)
	_ = p.cmd.Wait()
}

// eventually polls cond every interval until it holds (true) or timeout
// passes (false). The condition is always tried at least once.
func eventually(timeout, interval time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(interval)
	}
}

// meshEventually runs "kubectl mesh args..." every second for up to 30s
// until its output contains want: istiod pushes asynchronously. It returns
// the last output, and whether it did.
func meshEventually(mesh func(args ...string) (string, string, int), want string, args ...string) (string, bool) {
	var out string
	ok := eventually(30*time.Second, time.Second, func() bool {
		out, _, _ = mesh(args...)
		return strings.Contains(out, want)
	})
	return out, ok
}
