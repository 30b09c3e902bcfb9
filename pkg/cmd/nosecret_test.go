package cmd

import (
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// credentialLike finds what must never be printed: PEM private keys (plain
// or base64), JWTs, bearer and basic credentials.
var credentialLike = regexp.MustCompile(`PRIVATE KEY|LS0tLS1CRUdJTi[A-Za-z0-9+/]*UFJJVkFURSBLRVk|eyJ[A-Za-z0-9_-]{4,}\.eyJ|(?i:bearer|basic) [A-Za-z0-9._~+/=-]{8,}`)

// TestNoSecretInAnyOutput runs every dump-reading command with every
// output format on every fixture (config covers all sections as tables and
// as documents), and trace with credentials in its request, and scans what
// is printed.
func TestNoSecretInAnyOutput(t *testing.T) {
	var files []string
	for _, root := range []string{fixtures, "../envoyadmin/testdata", "../xds/testdata"} {
		_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".json") || strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
				files = append(files, path)
			}
			return nil
		})
	}
	files = append(files, "../../examples/istio-sidecar.json", "../../examples/envoy-gateway.json")
	if len(files) < 100 {
		t.Fatalf("only %d fixtures found under %s", len(files), fixtures)
	}
	scan := func(args []string, out, errOut string) {
		for _, s := range []string{out, errOut} {
			if m := credentialLike.FindString(s); m != "" {
				t.Errorf("%s printed a credential: %q", strings.Join(args, " "), m)
			}
		}
	}
	ran := 0
	for _, f := range files {
		cmds := [][]string{{"secrets", "-o", "wide"}, {"bootstrap", "-o", "wide"}}
		for _, o := range []string{"table", "wide", "json", "yaml"} {
			cmds = append(cmds, []string{"config", "-o", o})
		}
		for _, c := range cmds {
			args := append(c, "-f", f)
			out, errOut, err := run(t, "", args...)
			if ExitCode(err) == ExitOK {
				ran++
			}
			scan(args, out, errOut)
		}
	}
	if ran < 500 {
		t.Errorf("only %d runs read their fixture: the scan proves little", ran)
	}

	// trace repeats the request in its output: headers, URL, path.
	const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJqYW5lIn0.c2lnbmF0dXJlLXZhbHVl"
	for _, f := range []string{"../../examples/istio-sidecar.json", "../../examples/envoy-gateway.json", fixture("istio/config_dump/legacy-v2/productpage-v1-7bbd79f8fd-k6j79.json")} {
		for _, o := range []string{"table", "json", "yaml", "dot"} {
			args := []string{"trace", "-f", f, "-o", o, "--address", "10.96.173.1",
				"http://jane:hunter2hunter2@backend.demo.svc.cluster.local:8080/api?access_token=tok-9f8e7d6c5b4a&page=2",
				"-H", "Authorization: Bearer " + jwt, "-H", "Cookie: session=cookie-1234567890", "-H", "x-api-key: key-0a1b2c3d4e5f",
				"-H", "x-forwarded-client: Basic amFuZTpodW50ZXIy"}
			out, errOut, _ := run(t, "", args...)
			scan(args, out, errOut)
			for _, secret := range []string{jwt, "hunter2hunter2", "tok-9f8e7d6c5b4a", "cookie-1234567890", "key-0a1b2c3d4e5f", "amFuZTpodW50ZXIy"} {
				if strings.Contains(out+errOut, secret) {
					t.Errorf("trace -o %s on %s printed %q", o, filepath.Base(f), secret)
				}
			}
			if o != "dot" && !strings.Contains(out, "[redacted]") && !strings.Contains(out, "redacted") {
				t.Errorf("trace -o %s on %s: no redaction shown:\n%s", o, filepath.Base(f), out)
			}
		}
	}
}
