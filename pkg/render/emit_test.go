package render

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
)

const fixtures = "../../../shared/fixtures"

// Every JSON fixture, written by the emitter as JSON and as YAML, must read
// back (with encoding/json and sigs.k8s.io/yaml) as the same document.
func TestEmittersPreserveEveryFixture(t *testing.T) {
	n := 0
	err := filepath.WalkDir(fixtures, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var want any
		if json.Unmarshal(data, &want) != nil {
			return nil // not strict JSON (router_check's trailing comma)
		}
		if bytes.Contains(data, []byte("eyJ")) || bytes.Contains(data, []byte("PRIVATE KEY")) || bytes.Contains(data, []byte("LS0tLS1CRUdJTi")) {
			return nil // redaction changes these on purpose; see the redaction tests
		}
		v, err := jsonscan.Parse(data)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			return nil
		}
		n++
		for _, asYAML := range []bool{false, true} {
			var out bytes.Buffer
			e := NewEmitter(&out, asYAML)
			e.Value(v)
			if err := e.Flush(); err != nil {
				t.Fatal(err)
			}
			js := out.Bytes()
			if asYAML {
				if js, err = yaml.YAMLToJSON(out.Bytes()); err != nil {
					t.Errorf("%s: emitted YAML does not parse: %v", path, err)
					continue
				}
			}
			var got any
			if err := json.Unmarshal(js, &got); err != nil {
				t.Errorf("%s (yaml=%v): emitted output does not parse: %v", path, asYAML, err)
				continue
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s (yaml=%v): emitted document differs from the input", path, asYAML)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 40 {
		t.Fatalf("only %d fixtures checked", n)
	}
}

func TestPlainScalarsOnlyWhenUnambiguous(t *testing.T) {
	for s, plain := range map[string]bool{
		"outbound|9080||reviews.default.svc.cluster.local":      true,
		"type.googleapis.com/envoy.config.listener.v3.Listener": true,
		"10.0.0.1":   false, // would read as a number-ish/IP plain is fine but starts with a digit
		"true":       false,
		"no":         false,
		"@type":      false,
		"a: b":       false,
		"":           false,
		"*":          false,
		"http://x":   false,
		"- item":     false,
		"key:":       false,
		"/healthz/*": false,
		".5":         false, // a number to YAML
		".a5":        true,
	} {
		if got := plainSafe([]byte(s)); got != plain {
			t.Errorf("plainSafe(%q) = %v, want %v", s, got, plain)
		}
	}
}

func TestRedactsOnTheWayOut(t *testing.T) {
	in := `{"tls_certificate":{"private_key":{"inline_string":"k"}},"initial_metadata":[{"key":"authorization","value":"Bearer abc"},{"key":"x","value":"ok"}],
	  "token":"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.sig","generic_secret":{"secret":{"inline_bytes":"czM="}},"secret":{"name":"default","tls_certificate":{}}}`
	v, err := jsonscan.Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	e := NewEmitter(&out, false)
	e.Value(v)
	_ = e.Flush()
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, secret := range []string{`"k"`, "Bearer abc", "eyJhbGciOiJSUzI1NiJ9", "czM="} {
		if strings.Contains(s, secret) {
			t.Errorf("printed %s:\n%s", secret, s)
		}
	}
	if !strings.Contains(s, `"ok"`) || !strings.Contains(s, `"default"`) {
		t.Errorf("redacted more than credentials:\n%s", s)
	}
}

// TestPlainScalarsReadBackAsThemselves: every string plainSafe lets be
// written plain is read back by a YAML parser (sigs.k8s.io/yaml) as that
// same string, for random strings of the characters that matter and the
// words YAML reads otherwise in random case; and those words are never
// written plain.
func TestPlainScalarsReadBackAsThemselves(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	const chars = "aenorstuflyNOTRUEFALSYinf._/-:|(),;0192 "
	words := []string{"true", "false", "yes", "no", "on", "off", "y", "n", "null", "nan", ".nan", ".inf", "~"}
	plain := 0
	for n := range 100000 {
		var b []byte
		if n%4 == 0 {
			for _, c := range []byte(words[r.IntN(len(words))]) {
				if r.IntN(2) == 0 && 'a' <= c && c <= 'z' {
					c -= 'a' - 'A'
				}
				b = append(b, c)
			}
		} else {
			b = make([]byte, 1+r.IntN(8))
			for i := range b {
				b[i] = chars[r.IntN(len(chars))]
			}
		}
		if !plainSafe(b) {
			continue
		}
		plain++
		if slices.Contains(words, strings.ToLower(string(b))) {
			t.Fatalf("plainSafe(%q): a word YAML reads as no string", b)
		}
		var got map[string]any
		if err := yaml.Unmarshal(append([]byte("v: "), b...), &got); err != nil || got["v"] != string(b) {
			t.Fatalf("plainSafe(%q), but YAML reads it back as %#v (%v)", b, got["v"], err)
		}
	}
	if plain < 10000 {
		t.Fatalf("only %d plain strings: the test proves little", plain)
	}
}
