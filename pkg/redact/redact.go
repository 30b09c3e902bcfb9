// Package redact decides what must never be printed or saved: private keys,
// passwords, session ticket keys, generic secrets, and credentials such as
// bearer tokens wherever they appear. Envoy's admin already redacts the
// fields its API marks sensitive, but dumps made from istiod, ADS replies or
// by hand may still carry them, and tokens hide in node metadata and gRPC
// initial metadata (Kuma puts its dataplane token there).
package redact

import (
	"bytes"
	"encoding/base64"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
)

// Placeholder replaces what is redacted, as Envoy's admin writes it.
const Placeholder = "[redacted]"

// sensitiveFields are proto fields that hold key material or credentials
// (Envoy marks them udpa.annotations.sensitive).
var sensitiveFields = []string{"private_key", "password", "pkcs12", "session_ticket_keys", "hmac_secret", "client_secret"}

// sensitiveHeaders are header names whose values are credentials.
var sensitiveHeaders = []string{"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-auth-token", "istio-token"}

// Field reports whether the value of an object member must be redacted
// whatever it holds.
func Field(key []byte, val jsonscan.Value) bool {
	for _, f := range sensitiveFields {
		if jsonscan.KeyIs(key, f) {
			return true
		}
	}
	switch {
	case jsonscan.KeyIs(key, "secret"):
		// GenericSecret.secret is a DataSource; a dump entry's "secret" is a whole Secret.
		return isDataSource(val)
	case jsonscan.KeyIs(key, "secrets"):
		found := false
		_ = val.Fields(func(_ []byte, v jsonscan.Value) bool {
			found = isDataSource(v)
			return false
		})
		return found
	}
	return false
}

func isDataSource(v jsonscan.Value) bool {
	return v.Get("inline_bytes").Present() || v.Get("inline_string").Present() || v.Get("environment_variable").Present()
}

// Header reports whether a header (or gRPC metadata) name carries a credential.
func Header(name string) bool {
	for _, h := range sensitiveHeaders {
		if equalFold(name, h) {
			return true
		}
	}
	return false
}

func equalFold(a, b string) bool {
	return bytes.EqualFold([]byte(a), []byte(b))
}

// String reports whether a JSON string value (raw, with its quotes) looks
// like a credential on its own: a JWT, or a PEM private key in plain text or
// base64 (as in a DataSource's inline_bytes).
func String(raw []byte) bool {
	if len(raw) < 12 || raw[0] != '"' {
		return false
	}
	s := raw[1:]
	switch {
	case bytes.HasPrefix(s, []byte("eyJ")):
		// header.payload.signature, each base64url: a JWT.
		dot := bytes.IndexByte(s, '.')
		return dot > 0 && bytes.HasPrefix(s[dot+1:], []byte("eyJ"))
	case bytes.HasPrefix(s, []byte("-----BEGIN")):
		end := bytes.IndexByte(s, '\n')
		if end < 0 || end > 64 {
			end = min(len(s), 64)
		}
		return bytes.Contains(s[:end], []byte("PRIVATE KEY"))
	case bytes.HasPrefix(s, []byte("LS0tLS1CRUdJTi")): // base64 of "-----BEGIN"
		n := min(len(s)-1, 64)
		n -= n % 4
		dec, err := base64.StdEncoding.DecodeString(string(s[:n]))
		return err == nil && bytes.Contains(dec, []byte("PRIVATE KEY"))
	}
	return false
}
