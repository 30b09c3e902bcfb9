// Package snapshot writes and reads snapshot bundles: a .tar.gz holding,
// for each proxy, its admin dumps and recent access log, istiod's debug
// views, and a manifest saying what was taken, when, and what failed. Every
// command that reads a dump reads a bundle too.
package snapshot

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"
)

// ManifestName is the bundle's table of contents.
const ManifestName = "manifest.json"

// Files of a proxy, under proxies/NAMESPACE/POD/.
const (
	ConfigDump = "config_dump.json" // /config_dump?include_eds, redacted
	Clusters   = "clusters.json"    // /clusters?format=json
	ServerInfo = "server_info.json" // /server_info
	Stats      = "stats.txt"        // /stats
	AccessLog  = "access.log"       // the proxy container's recent log
)

// Manifest says what a bundle holds.
type Manifest struct {
	Version int       `json:"version"` // of the layout: 1
	Tool    string    `json:"tool"`    // kubectl-mesh and its version
	Created time.Time `json:"created"`
	Context string    `json:"context,omitempty"`
	Proxies []Proxy   `json:"proxies"`
	Istiod  []Istiod  `json:"istiod"`
	// Ztunnels are the ambient node proxies on the nodes of the pods taken.
	Ztunnels []Ztunnel `json:"ztunnels,omitempty"`
	// Notes are what the taker should know: istiod not found, and so on.
	Notes []string `json:"notes,omitempty"`
}

// Proxy is one proxy's part of the bundle.
type Proxy struct {
	Namespace string `json:"namespace"`
	Pod       string `json:"pod"`
	AdminPort int    `json:"adminPort"`
	// EnvoyVersion is from /server_info, when it was read.
	EnvoyVersion string `json:"envoyVersion,omitempty"`
	// Files are the files taken, by name (config_dump.json, ...).
	Files []string `json:"files"`
	// Errors are the files that could not be taken, with why.
	Errors map[string]string `json:"errors,omitempty"`
}

// Name is how commands name the proxy: NAMESPACE/POD.
func (p Proxy) Name() string { return p.Namespace + "/" + p.Pod }

// Dir is where the proxy's files are in the bundle.
func (p Proxy) Dir() string { return path.Join("proxies", p.Namespace, p.Pod) }

// Istiod is one istiod instance's part of the bundle, under istiod/POD/.
type Istiod struct {
	Namespace string            `json:"namespace"`
	Pod       string            `json:"pod"`
	Revision  string            `json:"revision,omitempty"`
	Files     []string          `json:"files"`
	Errors    map[string]string `json:"errors,omitempty"`
}

// Dir is where the instance's files are in the bundle.
func (i Istiod) Dir() string { return path.Join("istiod", i.Pod) }

// ZtunnelFile is a ztunnel's /config_dump, under ztunnel/NAMESPACE/POD/.
const ZtunnelFile = "ztunnel_config_dump.json"

// Ztunnel is one ztunnel's part of the bundle.
type Ztunnel struct {
	Namespace string            `json:"namespace"`
	Pod       string            `json:"pod"`
	Node      string            `json:"node"`
	Files     []string          `json:"files"`
	Errors    map[string]string `json:"errors,omitempty"`
}

// Dir is where the ztunnel's files are in the bundle.
func (z Ztunnel) Dir() string { return path.Join("ztunnel", z.Namespace, z.Pod) }

// Writer writes a bundle: files as they come, the manifest last.
type Writer struct {
	gz  *gzip.Writer
	tw  *tar.Writer
	now time.Time
}

// NewWriter starts a bundle on w; now stamps its files.
func NewWriter(w io.Writer, now time.Time) *Writer {
	gz := gzip.NewWriter(w)
	return &Writer{gz: gz, tw: tar.NewWriter(gz), now: now}
}

// Add writes one file.
func (w *Writer) Add(name string, data []byte) error {
	h := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: w.now, Typeflag: tar.TypeReg}
	if err := w.tw.WriteHeader(h); err != nil {
		return err
	}
	_, err := w.tw.Write(data)
	return err
}

// Close writes the manifest and ends the bundle.
func (w *Writer) Close(m *Manifest) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := w.Add(ManifestName, append(data, '\n')); err != nil {
		return err
	}
	if err := w.tw.Close(); err != nil {
		return err
	}
	return w.gz.Close()
}

// Bundle is a bundle read back.
type Bundle struct {
	Manifest Manifest
	files    map[string][]byte
}

// IsBundle tells whether data looks like a bundle (gzip).
func IsBundle(data []byte) bool { return len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b }

// maxFile bounds one file of a bundle, so a hostile archive cannot
// exhaust memory.
const maxFile = 2 << 30

// Read reads a bundle.
func Read(data []byte) (*Bundle, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("not a snapshot bundle: %v", err)
	}
	tr := tar.NewReader(zr)
	b := &Bundle{files: map[string][]byte{}}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("the snapshot bundle is damaged: %v", err)
		}
		if h.Typeflag != tar.TypeReg || h.Size > maxFile {
			continue
		}
		content, err := io.ReadAll(io.LimitReader(tr, maxFile))
		if err != nil {
			return nil, fmt.Errorf("the snapshot bundle is damaged at %s: %v", h.Name, err)
		}
		b.files[path.Clean(h.Name)] = content
	}
	m, ok := b.files[ManifestName]
	if !ok {
		return nil, errors.New("a .tar.gz without a manifest.json: not a kubectl mesh snapshot")
	}
	if err := json.Unmarshal(m, &b.Manifest); err != nil {
		return nil, fmt.Errorf("the snapshot's manifest.json is not valid: %v", err)
	}
	if b.Manifest.Version != 1 {
		return nil, fmt.Errorf("snapshot layout version %d: this kubectl mesh reads version 1", b.Manifest.Version)
	}
	return b, nil
}

// File returns a file of the bundle by its path.
func (b *Bundle) File(name string) ([]byte, bool) {
	data, ok := b.files[path.Clean(name)]
	return data, ok
}

// Proxy finds a proxy by NAMESPACE/POD or POD; with name "", the only one.
func (b *Bundle) Proxy(name string) (Proxy, error) {
	ps := b.Manifest.Proxies
	if name == "" {
		if len(ps) == 1 {
			return ps[0], nil
		}
		return Proxy{}, fmt.Errorf("the snapshot holds %d proxies (%s): choose one with --pod", len(ps), b.ProxyNames())
	}
	for _, p := range ps {
		if p.Name() == name || p.Pod == name {
			return p, nil
		}
	}
	return Proxy{}, fmt.Errorf("the snapshot has no proxy %q; it holds %s", name, b.ProxyNames())
}

// ProxyNames lists the proxies, sorted.
func (b *Bundle) ProxyNames() string {
	var names []string
	for _, p := range b.Manifest.Proxies {
		names = append(names, p.Name())
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
