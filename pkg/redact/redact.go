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
	"encoding/json"
	"strings"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
)

// Placeholder replaces what is redacted, as Envoy's admin writes it.
const Placeholder = "[redacted]"

// sensitiveFields are proto fields that hold key material or credentials
// (Envoy marks them udpa.annotations.sensitive). Most are DataSources: their
// inline contents are secret, a file name or environment variable is not.
var sensitiveFields = []string{"private_key", "password", "pkcs12", "hmac_secret", "client_secret", "secret", "secrets"}

// ObjectMember is what to print for one object member, all rules applied:
// sensitive fields, the value of a credential header or metadata pair (header
// is the value of a preceding "key" member, "" if none), and strings that look
// like credentials wherever they are.
func ObjectMember(key []byte, val jsonscan.Value, header string) jsonscan.Value {
	if out, changed := Member(key, val); changed {
		return out
	}
	if header != "" && jsonscan.KeyIs(key, "value") && CredentialName(header) {
		return placeholder
	}
	return ArrayItem(val)
}

// ArrayItem is what to print for one array element.
func ArrayItem(val jsonscan.Value) jsonscan.Value {
	if val.Kind() == jsonscan.String && String(val.Raw()) {
		return placeholder
	}
	return val
}

// KeyMayRedact reports whether Member may change the value of a member
// with this key (a sensitive field, key material, ztunnel's header pairs):
// a writer may copy any other member's value as it is, strings that look
// like credentials and credential header pairs aside.
func KeyMayRedact(key []byte) bool {
	// Every key of a dump written as JSON or YAML is asked: the names are
	// found by their first two letters (KeyIs ignores underscores and
	// case), so most keys are answered without a comparison.
	i := skipUnderscores(key, 0)
	if i == len(key) {
		return false
	}
	names := redactingKeys[key[i]|0x20]
	if len(names) == 0 {
		return false
	}
	second := byte(0) // none
	if j := skipUnderscores(key, i+1); j < len(key) {
		second = key[j] | 0x20
	}
	for _, n := range names {
		if n.second == second && jsonscan.KeyIs(key, n.name) {
			return true
		}
	}
	return false
}

// skipUnderscores is the index of the first byte at or after i that is
// not an underscore.
func skipUnderscores(key []byte, i int) int {
	for i < len(key) && key[i] == '_' {
		i++
	}
	return i
}

// redactingName is a key whose value Member may change, with its second
// letter (after underscores), lower case.
type redactingName struct {
	name   string
	second byte
}

// redactingKeys are the redacting names by their first letter, lower case
// (every name has two letters or more).
var redactingKeys = func() (t [256][]redactingName) {
	for _, name := range append([]string{"session_ticket_keys", "xdsHeaders", "caHeaders"}, sensitiveFields...) {
		i := skipUnderscores([]byte(name), 0)
		j := skipUnderscores([]byte(name), i+1)
		c := name[i] | 0x20
		t[c] = append(t[c], redactingName{name: name, second: name[j] | 0x20})
	}
	return t
}()

// Member decides what to print for an object member: the value itself, or
// a copy with its secret parts replaced (changed is true then).
func Member(key []byte, val jsonscan.Value) (out jsonscan.Value, changed bool) {
	if jsonscan.KeyIs(key, "session_ticket_keys") {
		return placeholder, true
	}
	if !KeyMayRedact(key) {
		return val, false
	}
	if jsonscan.KeyIs(key, "xdsHeaders") || jsonscan.KeyIs(key, "caHeaders") {
		if val.Kind() == jsonscan.Array {
			return redactPairs(val)
		}
		return val, false
	}
	switch val.Kind() {
	case jsonscan.String:
		// "secret": a whole Secret or a name is fine; a bare string credential is not.
		if jsonscan.KeyIs(key, "secret") || jsonscan.KeyIs(key, "secrets") {
			return val, false
		}
		if s := val.Str(); s == "" || s == Placeholder {
			return val, false
		}
		return placeholder, true
	case jsonscan.Object:
		if isDataSource(val) {
			return redactDataSource(val)
		}
		if jsonscan.KeyIs(key, "secrets") { // GenericSecret.secrets: a map of DataSources
			return redactMap(val)
		}
	}
	return val, false
}

var placeholder = jsonscan.MustLiteral(`"` + Placeholder + `"`)

func isDataSource(v jsonscan.Value) bool {
	return v.Get("inline_bytes").Present() || v.Get("inline_string").Present() ||
		v.Get("filename").Present() || v.Get("environment_variable").Present()
}

// redactDataSource replaces non-empty inline contents, keeping where a file
// or variable is read from.
func redactDataSource(v jsonscan.Value) (jsonscan.Value, bool) {
	return rewrite(v, func(k []byte, val jsonscan.Value) (jsonscan.Value, bool) {
		if (jsonscan.KeyIs(k, "inline_bytes") || jsonscan.KeyIs(k, "inline_string")) && val.Str() != "" && val.Str() != Placeholder {
			return placeholder, true
		}
		return val, false
	})
}

// redactMap redacts each DataSource of a map of them.
func redactMap(v jsonscan.Value) (jsonscan.Value, bool) {
	return rewrite(v, func(_ []byte, val jsonscan.Value) (jsonscan.Value, bool) { return redactDataSource(val) })
}

// redactPairs redacts the credential values of a list of [name, value]
// pairs: the headers ztunnel sends istiod and its CA (its config's
// xdsHeaders and caHeaders).
func redactPairs(v jsonscan.Value) (jsonscan.Value, bool) {
	var b bytes.Buffer
	changed := false
	b.WriteByte('[')
	_ = v.Items(func(i int, pair jsonscan.Value) bool {
		if i > 0 {
			b.WriteByte(',')
		}
		var name string
		_ = pair.Items(func(j int, x jsonscan.Value) bool {
			if j == 0 {
				name = x.Str()
			}
			return j == 0
		})
		if pair.Kind() == jsonscan.Array && (CredentialName(name) || bytes.Contains(pair.Raw(), []byte("Bearer "))) {
			b.WriteString(`[`)
			nameRaw, _ := json.Marshal(name)
			b.Write(nameRaw)
			b.WriteString(`,"` + Placeholder + `"]`)
			changed = true
			return true
		}
		b.Write(pair.Raw())
		return true
	})
	b.WriteByte(']')
	return rebuilt(v, b.Bytes(), changed)
}

// rewrite copies an object with each member's value as member returns it;
// it returns v itself when nothing changed.
func rewrite(v jsonscan.Value, member func(k []byte, val jsonscan.Value) (jsonscan.Value, bool)) (jsonscan.Value, bool) {
	var b bytes.Buffer
	changed := false
	b.WriteByte('{')
	_ = v.Fields(func(k []byte, val jsonscan.Value) bool {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.Write(k)
		b.WriteString(`":`)
		out, c := member(k, val)
		changed = changed || c
		b.Write(out.Raw())
		return true
	})
	b.WriteByte('}')
	return rebuilt(v, b.Bytes(), changed)
}

// rebuilt is v when nothing changed, else the copy written to b.
func rebuilt(v jsonscan.Value, b []byte, changed bool) (jsonscan.Value, bool) {
	if !changed {
		return v, false
	}
	out, err := jsonscan.Parse(b)
	if err != nil {
		return placeholder, true
	}
	return out, true
}

// sensitiveHeaders are header names whose values are credentials.
var sensitiveHeaders = []string{"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-auth-token", "istio-token"}

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

// credentialNames are parts of header and query parameter names whose
// values are credentials, beyond the headers named above.
var credentialNames = []string{"token", "secret", "password", "passwd", "api-key", "apikey", "api_key", "credential", "session", "signature"}

// CredentialName reports whether a header, gRPC metadata or query
// parameter name says its value is a credential: the headers above, or a
// name holding a credential word (Consul's x-consul-token).
func CredentialName(name string) bool {
	if Header(name) {
		return true
	}
	lower := strings.ToLower(name)
	for _, part := range credentialNames {
		if strings.Contains(lower, part) {
			return true
		}
	}
	return false
}

// Credential reports whether a header or query parameter, by its name or
// by the look of its value (a bearer or basic credential, a JWT), carries a
// credential.
func Credential(name, value string) bool {
	if CredentialName(name) {
		return true
	}
	v := strings.TrimSpace(value)
	for _, scheme := range []string{"bearer ", "basic ", "digest ", "negotiate "} {
		if len(v) > len(scheme) && strings.EqualFold(v[:len(scheme)], scheme) {
			return true
		}
	}
	return String([]byte(`"` + v + `"`))
}

// Secrets are the credentials of one request (header values, a URL's
// password, query parameters): every string printed about the request is
// scrubbed of them, wherever a reason or note repeats one.
type Secrets struct{ values []string }

// Add records value as secret.
func (s *Secrets) Add(value string) {
	if value != "" && value != Placeholder {
		s.values = append(s.values, value)
	}
}

// AddURL records the password and the credential query parameters of a URL
// or path (anything after '?').
func (s *Secrets) AddURL(u string) {
	if _, rest, ok := strings.Cut(u, "://"); ok {
		if userinfo, _, ok := strings.Cut(rest, "@"); ok && !strings.ContainsAny(userinfo, "/?#") {
			if _, password, ok := strings.Cut(userinfo, ":"); ok {
				s.Add(password)
			}
		}
	}
	_, query, ok := strings.Cut(u, "?")
	if !ok {
		return
	}
	query, _, _ = strings.Cut(query, "#")
	for _, pair := range strings.Split(query, "&") {
		name, value, _ := strings.Cut(pair, "=")
		if Credential(name, value) {
			s.Add(value)
		}
	}
}

// Scrub replaces each recorded secret in text by the placeholder.
func (s *Secrets) Scrub(text string) string {
	for _, v := range s.values {
		text = strings.ReplaceAll(text, v, Placeholder)
	}
	return text
}
