package snapshot

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func bundle(t *testing.T, m *Manifest, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	for name, content := range files {
		if err := w.Add(name, []byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	m := &Manifest{Version: 1, Tool: "kubectl-mesh test", Proxies: []Proxy{
		{Namespace: "demo", Pod: "frontend-1", Files: []string{ConfigDump}},
		{Namespace: "demo", Pod: "backend-1", Errors: map[string]string{ConfigDump: "refused"}},
	}}
	data := bundle(t, m, map[string]string{"proxies/demo/frontend-1/config_dump.json": `{"configs":[]}`})
	if !IsBundle(data) {
		t.Fatal("a bundle is not recognized as one")
	}
	b, err := Read(data)
	if err != nil {
		t.Fatal(err)
	}
	if b.Manifest.Tool != "kubectl-mesh test" || len(b.Manifest.Proxies) != 2 {
		t.Errorf("manifest read back as %+v", b.Manifest)
	}
	p, err := b.Proxy("demo/frontend-1")
	if err != nil || p.Dir() != "proxies/demo/frontend-1" {
		t.Fatalf("%+v %v", p, err)
	}
	if got, ok := b.File(p.Dir() + "/" + ConfigDump); !ok || string(got) != `{"configs":[]}` {
		t.Errorf("file read back as %q", got)
	}
	if p, err := b.Proxy("backend-1"); err != nil || p.Namespace != "demo" {
		t.Errorf("a pod name alone should find its proxy: %+v %v", p, err)
	}
	if _, err := b.Proxy(""); err == nil || !strings.Contains(err.Error(), "choose one with --pod") || !strings.Contains(err.Error(), "demo/backend-1, demo/frontend-1") {
		t.Errorf("two proxies and no --pod: %v", err)
	}
	if _, err := b.Proxy("nosuch"); err == nil || !strings.Contains(err.Error(), `no proxy "nosuch"`) {
		t.Errorf("unknown proxy: %v", err)
	}
}

func TestBadBundles(t *testing.T) {
	good := bundle(t, &Manifest{Version: 1}, nil)
	for name, data := range map[string][]byte{
		"not gzip":       []byte("hello"),
		"truncated":      good[:len(good)/2],
		"no manifest":    bundle(t, &Manifest{Version: 1}, nil)[:0],
		"future version": bundle(t, &Manifest{Version: 2}, nil),
	} {
		if _, err := Read(data); err == nil {
			t.Errorf("%s: read without error", name)
		}
	}
	// A .tar.gz of something else.
	var buf bytes.Buffer
	w := NewWriter(&buf, time.Now())
	_ = w.Add("README", []byte("hi"))
	_ = w.tw.Close()
	_ = w.gz.Close()
	if _, err := Read(buf.Bytes()); err == nil || !strings.Contains(err.Error(), "not a kubectl mesh snapshot") {
		t.Errorf("a tar.gz without manifest: %v", err)
	}
}
