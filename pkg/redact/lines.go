package redact

import "bytes"

// Lines redacts credentials in log text, line by line: JWTs and PEM private
// keys wherever they stand as a word, and the credential after a "Bearer"
// or "Basic" scheme (an authorization header an Envoy debug log or an
// access log format printed). Each becomes "[redacted]".
func Lines(log []byte) []byte {
	lines := bytes.Split(log, []byte("\n"))
	for i, line := range lines {
		words := bytes.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '"' || r == '\'' || r == '\t' || r == ',' })
		var secrets [][]byte
		for j, w := range words {
			quoted := append([]byte{'"'}, w...) // String reads a JSON string's raw text
			afterScheme := j > 0 && (bytes.EqualFold(words[j-1], []byte("Bearer")) || bytes.EqualFold(words[j-1], []byte("Basic")))
			if String(quoted) || afterScheme {
				secrets = append(secrets, w)
			}
		}
		for _, w := range secrets {
			line = bytes.ReplaceAll(line, w, []byte("[redacted]"))
		}
		lines[i] = line
	}
	return bytes.Join(lines, []byte("\n"))
}
