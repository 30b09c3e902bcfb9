//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestControlPlaneAnswersKubectl starts the real etcd and kube-apiserver and
// checks the real kubectl talks to them with the generated kubeconfig.
func TestControlPlaneAnswersKubectl(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "mesh-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start(ctx, dir)
	if err != nil {
		t.Fatalf("start the stack: %v", err)
	}
	defer func() {
		s.Stop()
		if !t.Failed() {
			os.RemoveAll(dir)
		}
	}()

	out, err := exec.CommandContext(ctx, "kubectl", "--kubeconfig", s.Kubeconfig, "version", "-o", "yaml").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "gitVersion: v1.37.2") {
		t.Fatalf("kubectl version: %v\n%s", err, out)
	}
	out, err = exec.CommandContext(ctx, "kubectl", "--kubeconfig", s.Kubeconfig, "get", "namespaces", "-o", "name").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "namespace/kube-system") || !strings.Contains(string(out), "namespace/default") {
		t.Fatalf("kubectl get namespaces: %v\n%s", err, out)
	}
}
