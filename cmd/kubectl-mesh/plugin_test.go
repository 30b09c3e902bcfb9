package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	pluginOnce sync.Once
	pluginDir  string
	pluginErr  error
)

// pluginEnv builds the binary once into a directory holding kubectl-mesh and
// the kubectl_complete-mesh link (what "make install" installs), and returns
// kubectl and an environment with that directory first on PATH and no
// reachable cluster.
func pluginEnv(t *testing.T) (kubectl string, env []string) {
	t.Helper()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not installed")
	}
	pluginOnce.Do(func() {
		pluginDir, pluginErr = os.MkdirTemp("", "kubectl-mesh-plugin")
		if pluginErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(pluginDir, "kubectl-mesh"), ".").CombinedOutput()
		if err != nil {
			pluginErr = &buildError{err, string(out)}
			return
		}
		pluginErr = os.Symlink("kubectl-mesh", filepath.Join(pluginDir, "kubectl_complete-mesh"))
	})
	if pluginErr != nil {
		t.Fatal(pluginErr)
	}
	return kubectl, append(os.Environ(), "PATH="+pluginDir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"KUBECONFIG="+filepath.Join(pluginDir, "none"))
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return "build: " + e.err.Error() + "\n" + e.out }

func TestMain(m *testing.M) {
	code := m.Run()
	if pluginDir != "" {
		os.RemoveAll(pluginDir)
	}
	os.Exit(code)
}

// TestRunsAsKubectlPlugin runs the binary the way a user does: through
// kubectl's plugin mechanism.
func TestRunsAsKubectlPlugin(t *testing.T) {
	kubectl, env := pluginEnv(t)

	list := exec.Command(kubectl, "plugin", "list")
	list.Env = env
	out, _ := list.CombinedOutput()
	if !strings.Contains(string(out), filepath.Join(pluginDir, "kubectl-mesh")) {
		t.Errorf("kubectl plugin list does not find kubectl-mesh:\n%s", out)
	}

	cmd := exec.Command(kubectl, "mesh", "listeners", "-f", "../../examples/istio-sidecar.json")
	cmd.Env = env
	out, err := cmd.Output()
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

// TestKubectlCompletesPlugin asks kubectl to complete "kubectl mesh ...", as
// a shell does on TAB: kubectl runs kubectl_complete-mesh, which must answer
// in cobra's completion protocol (candidates, then ":directive").
func TestKubectlCompletesPlugin(t *testing.T) {
	kubectl, env := pluginEnv(t)
	tests := []struct {
		args []string
		want []string // candidates that must be offered
		not  []string // and some that must not
	}{
		{[]string{"mesh", ""}, []string{"listeners", "routes", "clusters", "endpoints", "secrets", "version", "completion"}, nil},
		{[]string{"mesh", "cl"}, []string{"clusters"}, []string{"listeners"}},
		{[]string{"mesh", "listeners", "-o", ""}, []string{"table", "wide", "json", "yaml"}, []string{"listeners"}},
		{[]string{"mesh", "routes", "--na"}, []string{"--name"}, []string{"--port"}},
		{[]string{"mesh", "clusters", "--direction", ""}, []string{"inbound", "outbound"}, nil},
		{[]string{"mesh", "endpoints", "--status", ""}, []string{"HEALTHY", "UNHEALTHY"}, nil},
		{[]string{"mesh", "admin", "some-pod", "/"}, []string{"/server_info", "/config_dump", "/clusters"}, nil},
		{[]string{"mesh", "completion", ""}, []string{"bash", "zsh", "fish", "powershell"}, nil},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			c := exec.Command(kubectl, append([]string{"__complete"}, tt.args...)...)
			c.Env = env
			out, err := c.Output()
			if err != nil {
				t.Fatalf("kubectl __complete: %v", err)
			}
			got := map[string]bool{}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], ":") {
				t.Fatalf("no directive line in:\n%s", out)
			}
			for _, l := range lines[:len(lines)-1] {
				word, _, _ := strings.Cut(l, "\t")
				got[word] = true
			}
			for _, w := range tt.want {
				if !got[w] {
					t.Errorf("%q not offered; got:\n%s", w, out)
				}
			}
			for _, w := range tt.not {
				if got[w] {
					t.Errorf("%q offered but should not be; got:\n%s", w, out)
				}
			}
		})
	}
}

// TestCompletionScripts checks "kubectl mesh completion SHELL" writes each
// shell's script for the kubectl-mesh binary.
func TestCompletionScripts(t *testing.T) {
	kubectl, env := pluginEnv(t)
	for shell, marker := range map[string]string{
		"bash":       "complete -o default -F __start_kubectl-mesh kubectl-mesh",
		"zsh":        "#compdef kubectl-mesh",
		"fish":       "complete -c kubectl-mesh",
		"powershell": "Register-ArgumentCompleter",
	} {
		c := exec.Command(kubectl, "mesh", "completion", shell)
		c.Env = env
		out, err := c.Output()
		if err != nil {
			t.Fatalf("completion %s: %v", shell, err)
		}
		if !strings.Contains(string(out), marker) {
			t.Errorf("completion %s: no %q in the script", shell, marker)
		}
	}
}
