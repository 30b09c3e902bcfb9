//go:build release

// Package release tests what a user installs: the archives "make dist"
// builds and the krew manifests for them, checked by krew itself (built from
// the Go module proxy by hack/krew-build.sh) rather than by our reading of
// krew's rules. Run with "make release-test".
package release

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

const dist = "../../dist"

var platforms = []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64", "windows/amd64", "windows/arm64"}

// manifest is the part of krew's Plugin manifest these tests read.
type manifest struct {
	Spec struct {
		Version   string `json:"version"`
		Platforms []struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			URI    string `json:"uri"`
			SHA256 string `json:"sha256"`
		} `json:"platforms"`
	} `json:"spec"`
}

func readManifest(t *testing.T, path string) (manifest, []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run \"make dist\" first)", err)
	}
	var m manifest
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m, data
}

// krewEnv returns an environment whose PATH finds kubectl-krew and
// validate-krew-manifest (KREW_BIN) and the given directories first.
func krewEnv(t *testing.T, krewRoot string, first ...string) []string {
	t.Helper()
	bin := os.Getenv("KREW_BIN")
	if bin == "" {
		t.Fatal("KREW_BIN is not set: run \"make release-test\"")
	}
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Fatal("kubectl is not installed")
	}
	path := strings.Join(append(first, bin, os.Getenv("PATH")), string(os.PathListSeparator))
	return []string{"PATH=" + path, "HOME=" + t.TempDir(), "KREW_ROOT=" + krewRoot, "KUBECONFIG=" + filepath.Join(krewRoot, "no-kubeconfig")}
}

// run runs a command and returns its standard output and error together.
func run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	stdout, stderr := runSplit(t, env, name, args...)
	return stdout + stderr
}

func runSplit(t *testing.T, env []string, name string, args ...string) (stdout, stderr string) {
	t.Helper()
	c := exec.Command(name, args...)
	c.Env = env
	var o, e strings.Builder
	c.Stdout, c.Stderr = &o, &e
	if err := c.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, o.String(), e.String())
	}
	return o.String(), e.String()
}

// validate runs krew's own manifest validator on the manifest data, which
// must sit in a file named after the plugin. It checks the structure, the
// platform selectors (each used, none overlapping) and, unless skipInstall,
// installs every platform with "kubectl krew install" and checks that the
// LICENSE came out of each archive.
func validate(t *testing.T, data []byte, skipInstall bool) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "mesh.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-manifest", path}
	if skipInstall {
		args = append(args, "-skip-install")
	}
	out := run(t, krewEnv(t, t.TempDir()), filepath.Join(os.Getenv("KREW_BIN"), "validate-krew-manifest"), args...)
	if strings.Contains(out, "exceeds") {
		t.Errorf("krew warns about the manifest:\n%s", out)
	}
	return out
}

// TestReleasedManifestIsValid checks the krew.yaml at the top of the
// repository, the one a krew-index pull request would carry.
func TestReleasedManifestIsValid(t *testing.T) {
	m, data := readManifest(t, "../../krew.yaml")
	validate(t, data, true)
	// When dist/ holds the same version, the released checksums are its.
	d, _ := readManifest(t, filepath.Join(dist, "krew.yaml"))
	if d.Spec.Version != m.Spec.Version {
		t.Logf("dist/ holds %s, krew.yaml is for %s: checksums not compared", d.Spec.Version, m.Spec.Version)
		return
	}
	for i, p := range m.Spec.Platforms {
		if p.SHA256 != d.Spec.Platforms[i].SHA256 {
			t.Errorf("%s: krew.yaml sha256 %s, dist/ %s", p.URI, p.SHA256, d.Spec.Platforms[i].SHA256)
		}
	}
}

// TestEveryPlatformInstalls serves dist/ over HTTP in place of the release
// page and lets krew's validator install each platform from it, as the
// krew-index CI does with the real URLs.
func TestEveryPlatformInstalls(t *testing.T) {
	m, data := readManifest(t, filepath.Join(dist, "krew.yaml"))
	var served []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served = append(served, filepath.Base(r.URL.Path))
		http.ServeFile(w, r, filepath.Join(dist, filepath.Base(r.URL.Path)))
	}))
	defer srv.Close()
	local := regexp.MustCompile(`uri: \S+/`).ReplaceAll(data, []byte("uri: "+srv.URL+"/"))
	out := validate(t, local, false)
	if !strings.Contains(out, "all 6 spec.platforms installed fine") {
		t.Errorf("validator output:\n%s", out)
	}
	sort.Strings(served)
	var want []string
	for _, p := range platforms {
		want = append(want, archiveName(m.Spec.Version, p))
	}
	sort.Strings(want)
	if strings.Join(served, " ") != strings.Join(want, " ") {
		t.Errorf("krew downloaded %v, want %v", served, want)
	}
}

// TestInstallWithKrewAndRun does what a plugin author does before
// publishing: "kubectl krew install --manifest --archive" into an empty
// KREW_ROOT, then runs the installed plugin through kubectl, and completes
// it once linked as the caveats say.
func TestInstallWithKrewAndRun(t *testing.T) {
	m, _ := readManifest(t, filepath.Join(dist, "krew.yaml"))
	platform := runtime.GOOS + "/" + runtime.GOARCH
	root := t.TempDir()
	env := krewEnv(t, root, filepath.Join(root, "bin"))
	archive, _ := filepath.Abs(filepath.Join(dist, archiveName(m.Spec.Version, platform)))
	manifestPath, _ := filepath.Abs(filepath.Join(dist, "krew.yaml"))
	out := run(t, env, "kubectl", "krew", "install", "--manifest="+manifestPath, "--archive="+archive)
	if !strings.Contains(out, `Installed plugin: mesh`) {
		t.Errorf("krew install:\n%s", out)
	}
	// "krew list" needs the index, which is not here; its receipt is what it reads.
	if receipt, err := os.ReadFile(filepath.Join(root, "receipts", "mesh.yaml")); err != nil || !strings.Contains(string(receipt), "version: "+m.Spec.Version) {
		t.Errorf("krew receipt: %v\n%s", err, receipt)
	}
	out, _ = runSplit(t, env, "kubectl", "mesh", "version")
	if !strings.HasPrefix(out, "kubectl-mesh "+m.Spec.Version+" (go1.") || !strings.Contains(out, "client-go v0.") || !strings.Contains(out, "go-control-plane v1.") {
		t.Errorf("kubectl mesh version from the krew install printed:\n%s", out)
	}
	if out := run(t, env, "kubectl", "mesh", "listeners", "-f", "../../examples/istio-sidecar.json", "--port", "8080"); !strings.Contains(out, "backend.demo.svc.cluster.local:8080") {
		t.Errorf("kubectl mesh listeners from the krew install printed:\n%s", out)
	}
	// The completion link the caveats tell krew users to make.
	bin := filepath.Join(root, "bin")
	if err := os.Symlink(filepath.Join(bin, "kubectl-mesh"), filepath.Join(bin, "kubectl_complete-mesh")); err != nil {
		t.Fatal(err)
	}
	if out, _ := runSplit(t, env, "kubectl", "__complete", "mesh", "vers"); !strings.HasPrefix(out, "version\t") {
		t.Errorf("kubectl __complete mesh vers:\n%s", out)
	}
}

// TestArchives checks each archive holds the binary and the LICENSE, and
// matches its sha256 files.
func TestArchives(t *testing.T) {
	m, _ := readManifest(t, filepath.Join(dist, "krew.yaml"))
	sums, err := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range platforms {
		name := archiveName(m.Spec.Version, p)
		data, err := os.ReadFile(filepath.Join(dist, name))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		hexSum := hex.EncodeToString(sum[:])
		line := hexSum + "  " + name + "\n"
		if own, _ := os.ReadFile(filepath.Join(dist, name+".sha256")); string(own) != line {
			t.Errorf("%s.sha256 is %q, want %q", name, own, line)
		}
		if !strings.Contains(string(sums), line) {
			t.Errorf("SHA256SUMS lacks %q", line)
		}
		if m.Spec.Platforms[i].SHA256 != hexSum {
			t.Errorf("%s: manifest sha256 %s, archive %s", name, m.Spec.Platforms[i].SHA256, hexSum)
		}
		bin := "kubectl-mesh"
		if strings.HasPrefix(p, "windows/") {
			bin += ".exe"
		}
		if got := tarNames(t, data); strings.Join(got, " ") != "LICENSE "+bin {
			t.Errorf("%s holds %v, want LICENSE and %s", name, got, bin)
		}
	}
}

func archiveName(version, platform string) string {
	os, arch, _ := strings.Cut(platform, "/")
	return "kubectl-mesh_" + version + "_" + os + "_" + arch + ".tar.gz"
}

func tarNames(t *testing.T, data []byte) []string {
	t.Helper()
	zr, err := gzip.NewReader(strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	sort.Strings(names)
	return names
}
