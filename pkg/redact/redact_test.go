package redact

import (
	"encoding/base64"
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
