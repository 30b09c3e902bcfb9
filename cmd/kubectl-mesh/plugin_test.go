package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunsAsKubectlPlugin builds the binary, puts it on PATH and runs it the
// way a user does: through kubectl's plugin mechanism.
func TestRunsAsKubectlPlugin(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not installed")
	}
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "kubectl-mesh"), ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	env := append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"), "KUBECONFIG="+filepath.Join(dir, "none"))

	list := exec.Command(kubectl, "plugin", "list")
	list.Env = env
	out, _ := list.CombinedOutput()
	if !strings.Contains(string(out), filepath.Join(dir, "kubectl-mesh")) {
		t.Errorf("kubectl plugin list does not find kubectl-mesh:\n%s", out)
	}

	cmd := exec.Command(kubectl, "mesh", "listeners", "-f", "../../examples/istio-sidecar.json")
	cmd.Env = env
	out, err = cmd.Output()
	if err != nil {
		t.Fatalf("kubectl mesh listeners: %v", err)
	}
	if !strings.Contains(string(out), "Route: backend.demo.svc.cluster.local:8080") {
		t.Errorf("kubectl mesh listeners printed:\n%s", out)
	}

	bad := exec.Command(kubectl, "mesh", "listeners", "-f", "plugin_test.go")
	bad.Env = env
	var stderr strings.Builder
	bad.Stderr = &stderr
	err = bad.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Errorf("bad input through kubectl: %v, want exit status 2", err)
	}
	if lines := strings.Count(strings.TrimSpace(stderr.String()), "\n"); lines != 0 || !strings.HasPrefix(stderr.String(), "error: ") {
		t.Errorf("bad input should print one error line, got:\n%s", stderr.String())
	}
}
