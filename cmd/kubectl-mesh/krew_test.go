package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// krewManifest is the part of krew's Plugin manifest this test checks.
type krewManifest struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string `json:"version"`
		Homepage         string `json:"homepage"`
		ShortDescription string `json:"shortDescription"`
		Description      string `json:"description"`
		Caveats          string `json:"caveats"`
		Platforms        []struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			URI    string `json:"uri"`
			SHA256 string `json:"sha256"`
			Bin    string `json:"bin"`
			Files  []struct {
				From string `json:"from"`
				To   string `json:"to"`
			} `json:"files"`
		} `json:"platforms"`
	} `json:"spec"`
}

// TestKrewManifest checks krew.yaml (written by make dist) names an archive
// and a binary for every platform; where dist/ holds the archives, their
// checksums must match. Validation by krew itself is the release test's.
func TestKrewManifest(t *testing.T) {
	data, err := os.ReadFile("../../krew.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m krewManifest
	if err := yaml.UnmarshalStrict(data, &m); err != nil {
		t.Fatalf("krew.yaml: %v", err)
	}
	if m.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || m.Kind != "Plugin" || m.Metadata.Name != "mesh" {
		t.Errorf("header: %s %s %s", m.APIVersion, m.Kind, m.Metadata.Name)
	}
	if !regexp.MustCompile(`^v\d+\.\d+\.\d+`).MatchString(m.Spec.Version) || m.Spec.ShortDescription == "" || !strings.Contains(m.Spec.Caveats, "pods/portforward") {
		t.Errorf("spec: version %q, short description %q, caveats %q", m.Spec.Version, m.Spec.ShortDescription, m.Spec.Caveats)
	}
	seen := map[string]bool{}
	for _, p := range m.Spec.Platforms {
		goos, arch := p.Selector.MatchLabels["os"], p.Selector.MatchLabels["arch"]
		seen[goos+"/"+arch] = true
		archive := "kubectl-mesh_" + m.Spec.Version + "_" + goos + "_" + arch + ".tar.gz"
		if !strings.HasSuffix(p.URI, "/"+m.Spec.Version+"/"+archive) {
			t.Errorf("%s/%s: uri %s does not name %s", goos, arch, p.URI, archive)
		}
		wantBin := "kubectl-mesh"
		if goos == "windows" {
			wantBin += ".exe"
		}
		if p.Bin != wantBin || len(p.Files) != 2 || p.Files[0].From != wantBin {
			t.Errorf("%s/%s: bin %q files %v", goos, arch, p.Bin, p.Files)
		}
		if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(p.SHA256) {
			t.Errorf("%s/%s: sha256 %q", goos, arch, p.SHA256)
		}
		if local, err := os.ReadFile(filepath.Join("../../dist", archive)); err == nil && m.Spec.Version == versionOfDist() {
			sum := sha256.Sum256(local)
			if hex.EncodeToString(sum[:]) != p.SHA256 {
				t.Errorf("%s: sha256 in krew.yaml does not match dist/%s", archive, archive)
			}
		}
	}
	for _, p := range []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64", "windows/amd64", "windows/arm64"} {
		if !seen[p] {
			t.Errorf("no platform %s", p)
		}
	}
}

// versionOfDist is the version the archives in dist/ were built for.
func versionOfDist() string {
	sums, err := os.ReadFile("../../dist/SHA256SUMS")
	if err != nil {
		return ""
	}
	m := regexp.MustCompile(`kubectl-mesh_(v[^_]+)_`).FindSubmatch(sums)
	if m == nil {
		return ""
	}
	return string(m[1])
}
