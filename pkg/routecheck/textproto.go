package routecheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/scanner"
)

// looksTextproto tells protobuf text format ("tests {" or "tests:") from
// YAML ("tests:\n- ").
func looksTextproto(b []byte) bool {
	return bytes.HasPrefix(b, []byte("tests {")) || bytes.HasPrefix(b, []byte("tests{"))
}

// textprotoToJSON reads the protobuf text format of a test file into JSON.
// Repeated fields become lists; wrapper messages ({ value: "x" }) their
// value, as the JSON form writes them.
func textprotoToJSON(b []byte) ([]byte, error) {
	var s scanner.Scanner
	s.Init(bytes.NewReader(b))
	s.Mode = scanner.ScanIdents | scanner.ScanInts | scanner.ScanFloats | scanner.ScanStrings | scanner.ScanComments | scanner.SkipComments
	s.Error = func(*scanner.Scanner, string) {}
	obj, err := textMessage(&s, true)
	if err != nil {
		return nil, err
	}
	return json.Marshal(obj)
}

func textMessage(s *scanner.Scanner, top bool) (map[string]any, error) {
	obj := map[string]any{}
	for {
		tok := s.Scan()
		switch {
		case tok == scanner.EOF:
			if !top {
				return nil, fmt.Errorf("a message is not closed")
			}
			return obj, nil
		case tok == '}':
			if top {
				return nil, fmt.Errorf("unexpected } at %s", s.Position)
			}
			return obj, nil
		case tok != scanner.Ident:
			return nil, fmt.Errorf("expected a field name at %s, got %q", s.Position, s.TokenText())
		}
		name := s.TokenText()
		tok = s.Scan()
		if tok == ':' {
			tok = s.Scan()
		}
		var v any
		switch tok {
		case '{':
			m, err := textMessage(s, false)
			if err != nil {
				return nil, err
			}
			if inner, ok := m["value"]; ok && len(m) == 1 {
				v = inner // a wrapper such as StringValue
			} else {
				v = m
			}
		case scanner.String:
			str, err := strconv.Unquote(s.TokenText())
			if err != nil {
				return nil, err
			}
			v = str
		case scanner.Int, scanner.Float:
			n, err := strconv.ParseFloat(s.TokenText(), 64)
			if err != nil {
				return nil, err
			}
			v = n
		case scanner.Ident:
			switch t := s.TokenText(); t {
			case "true", "false":
				v = t == "true"
			default:
				v = t // an enum value
			}
		default:
			return nil, fmt.Errorf("unexpected %q at %s", s.TokenText(), s.Position)
		}
		switch prev := obj[name].(type) {
		case nil:
			if name == "tests" || strings.HasSuffix(name, "_matches") || strings.HasSuffix(name, "_headers") {
				obj[name] = []any{v}
			} else {
				obj[name] = v
			}
		case []any:
			obj[name] = append(prev, v)
		default:
			obj[name] = []any{prev, v}
		}
	}
}
