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
