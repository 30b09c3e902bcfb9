package redact

import (
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
)

func TestCredentialsAreRecognizedWherever(t *testing.T) {
	pem := "-----BEGIN RSA PRIVATE KEY-----\nMIIEow...\n-----END RSA PRIVATE KEY-----\n"
	cert := "-----BEGIN CERTIFICATE-----\nMIIC...\n-----END CERTIFICATE-----\n"
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJ4In0.c2ln", true},
		{pem, true},
		{base64.StdEncoding.EncodeToString([]byte(pem)), true},
		{cert, false},
		{base64.StdEncoding.EncodeToString([]byte(cert)), false},
		{"eyJ-not-a-token", false},
		{"outbound|9080||reviews.default.svc.cluster.local", false},
	} {
		raw := `"` + strings.ReplaceAll(tc.s, "\n", `\n`) + `"`
		if got := String([]byte(raw)); got != tc.want {
			t.Errorf("String(%.30q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}

func TestSensitiveDataSourcesKeepWhereTheyComeFrom(t *testing.T) {
	for _, tc := range []struct{ key, in, want string }{
		{"private_key", `{"inline_bytes":"a2V5"}`, `{"inline_bytes":"[redacted]"}`},
		{"private_key", `{"filename":"/etc/certs/key.pem"}`, `{"filename":"/etc/certs/key.pem"}`},
		{"password", `{"inline_string":""}`, `{"inline_string":""}`},
		{"secret", `{"inline_string":"s3cret"}`, `{"inline_string":"[redacted]"}`},
		{"secret", `{"name":"default","tls_certificate":{}}`, `{"name":"default","tls_certificate":{}}`},
		{"secrets", `{"a":{"inline_string":"x"},"b":{"filename":"/f"}}`, `{"a":{"inline_string":"[redacted]"},"b":{"filename":"/f"}}`},
		{"session_ticket_keys", `{"keys":[{"filename":"/k"}]}`, `"[redacted]"`},
		{"name", `"private"`, `"private"`},
	} {
		v, err := jsonscan.Parse([]byte(tc.in))
		if err != nil {
			t.Fatal(err)
		}
		out, _ := Member([]byte(tc.key), v)
		if got := string(out.Raw()); got != tc.want {
			t.Errorf("%s %s: got %s, want %s", tc.key, tc.in, got, tc.want)
		}
	}
	if !Header("Authorization") || !Header("cookie") || Header("x-request-id") {
		t.Error("credential headers")
	}
}

func TestCredentialByNameAndByLook(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		want        bool
	}{
		{"Authorization", "anything", true},
		{"proxy-authorization", "x", true},
		{"cookie", "a=b", true},
		{"x-auth-token", "t", true},
		{"x-amz-security-token", "t", true},
		{"x-api-key", "k", true},
		{"access_token", "t", true},
		{"x-forwarded-client", "Basic amFuZTpodW50ZXIy", true},
		{"x-custom", "Bearer abcdefgh", true},
		{"x-jwt", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", true},
		{"end-user", "jason", false},
		{"x-request-id", "123", false},
		{"page", "2", false},
	} {
		if got := Credential(tc.name, tc.value); got != tc.want {
			t.Errorf("Credential(%q, %q) = %v, want %v", tc.name, tc.value, got, tc.want)
		}
	}
}

func TestSecretsScrubURLParts(t *testing.T) {
	var s Secrets
	s.AddURL("https://jane:hunter2@example.com/p?access_token=abc123&page=2#frag")
	s.Add("Bearer xyz")
	got := s.Scrub("GET https://jane:hunter2@example.com/p?access_token=abc123&page=2 with Bearer xyz")
	want := "GET https://jane:[redacted]@example.com/p?access_token=[redacted]&page=2 with [redacted]"
	if got != want {
		t.Errorf("Scrub:\n got %s\nwant %s", got, want)
	}
}

// ztunnel's config dump lists the headers it sends istiod and its CA as
// [name, value] pairs (src/config.rs MetadataVector): a token there is
// redacted, other headers kept.
func TestZtunnelHeaderPairs(t *testing.T) {
	in := jsonscan.MustLiteral(`[["authorization","Bearer abc123"],["clusterid","Kubernetes"],["x-custom","Bearer xyz"]]`)
	out, changed := Member([]byte("xdsHeaders"), in)
	got := string(out.Raw())
	if !changed || strings.Contains(got, "abc123") || strings.Contains(got, "xyz") || !strings.Contains(got, `["clusterid","Kubernetes"]`) {
		t.Errorf("got %s", got)
	}
	if _, changed := Member([]byte("caHeaders"), jsonscan.MustLiteral(`[["clusterid","Kubernetes"]]`)); changed {
		t.Error("no credential, nothing to change")
	}
}

// TestKeyMayRedactIsEveryName: a key may redact exactly when KeyIs matches
// it to one of the redacting names, for the names in every spelling
// (snake, camel, upper case, leading and doubled underscores), their
// neighbours one byte off, and random keys.
func TestKeyMayRedactIsEveryName(t *testing.T) {
	names := append([]string{"session_ticket_keys", "xdsHeaders", "caHeaders"}, sensitiveFields...)
	want := func(key []byte) bool {
		for _, n := range names {
			if jsonscan.KeyIs(key, n) {
				return true
			}
		}
		return false
	}
	var keys []string
	for _, n := range names {
		camel := ""
		for i, part := range strings.Split(n, "_") {
			if i > 0 && part != "" {
				part = strings.ToUpper(part[:1]) + part[1:]
			}
			camel += part
		}
		for _, k := range []string{n, strings.ToUpper(n), camel, strings.ToUpper(camel[:1]) + camel[1:], "_" + n, "__" + n + "_", strings.ReplaceAll(n, "_", "__")} {
			keys = append(keys, k)
			for i := range len(k) {
				keys = append(keys, k[:i]+k[i+1:], k[:i]+"x"+k[i:], k[:i]+string(k[i]^0x01)+k[i+1:])
			}
		}
	}
	r := rand.New(rand.NewPCG(13, 14))
	const letters = "_aAbcCdeEhHiklmnoprsStwxyz0@`[{"
	for range 50000 {
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = letters[r.IntN(len(letters))]
		}
		keys = append(keys, string(b))
	}
	for _, k := range append(keys, "", "_", "___", "name", "port_value", "cluster_name", "private_key_provider") {
		if got, w := KeyMayRedact([]byte(k)), want([]byte(k)); got != w {
			t.Errorf("KeyMayRedact(%q) = %v, want %v", k, got, w)
		}
	}
}
