package redact

import (
	"strings"
	"testing"
)

func TestLines(t *testing.T) {
	const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ0ZXN0In0.c2lnbmF0dXJl"
	for _, tc := range []struct{ in, want string }{
		// An access log line with a JWT in a header field.
		{`[2026-11-30T10:00:00.000Z] "GET /api HTTP/1.1" 200 - "` + jwt + `" "curl/8"`,
			`[2026-11-30T10:00:00.000Z] "GET /api HTTP/1.1" 200 - "[redacted]" "curl/8"`},
		// An Envoy debug log printing request headers.
		{`'authorization', 'Bearer opaque-token-0123456789'`, `'authorization', 'Bearer [redacted]'`},
		{"authorization: Basic dXNlcjpwYXNzd29yZA==", "authorization: Basic [redacted]"},
		// However short, what follows the scheme is the credential.
		{"authorization: Bearer s3cr", "authorization: Bearer [redacted]"},
		// Nothing secret: unchanged.
		{`[2026-11-30T10:00:00.000Z] "GET /bearer HTTP/1.1" 404 NR route_not_found`, `[2026-11-30T10:00:00.000Z] "GET /bearer HTTP/1.1" 404 NR route_not_found`},
		{"first " + jwt + "\nsecond line", "first [redacted]\nsecond line"},
	} {
		got := string(Lines([]byte(tc.in)))
		if got != tc.want {
			t.Errorf("Lines(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
		if strings.Contains(got, jwt) || strings.Contains(got, "opaque-token") || strings.Contains(got, "dXNlcjpwYXNzd29yZA") {
			t.Errorf("a credential is left in %q", got)
		}
	}
}
