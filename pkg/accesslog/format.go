package accesslog

import (
	"fmt"
	"strings"
)

// Format is a compiled Envoy access log format string: literal text and
// command operators (%START_TIME%, %REQ(:AUTHORITY)%, ...) in turn.
type Format struct {
	Name  string
	parts []part
}

type part struct {
	literal string // when op is ""
	op      string // the operator without its %s, and without a (:N) length limit
}

// Compile reads an Envoy format string. "%%" is a literal percent sign.
func Compile(name, format string) (*Format, error) {
	f := &Format{Name: name}
	format = strings.TrimRight(format, "\n")
	var lit strings.Builder
	for i := 0; i < len(format); {
		c := format[i]
		if c != '%' {
			lit.WriteByte(c)
			i++
			continue
		}
		if strings.HasPrefix(format[i:], "%%") {
			lit.WriteByte('%')
			i += 2
			continue
		}
		end := strings.IndexByte(format[i+1:], '%')
		if end < 0 {
			return nil, fmt.Errorf("access log format: %% at %d opens an operator that never closes", i)
		}
		op := format[i+1 : i+1+end]
		if op == "" || strings.ContainsAny(op, " \t") {
			return nil, fmt.Errorf("access log format: %q is not a command operator", "%"+op+"%")
		}
		if lit.Len() > 0 {
			f.parts = append(f.parts, part{literal: lit.String()})
			lit.Reset()
		}
		if n := len(f.parts); n > 0 && f.parts[n-1].op != "" {
			// Two operators with nothing between them cannot be told apart.
			return nil, fmt.Errorf("access log format: %%%s%% follows %%%s%% with nothing between them", op, f.parts[n-1].op)
		}
		f.parts = append(f.parts, part{op: trimLength(op)})
		i += end + 2
	}
	if lit.Len() > 0 {
		f.parts = append(f.parts, part{literal: lit.String()})
	}
	if len(f.parts) == 0 {
		return nil, fmt.Errorf("access log format is empty")
	}
	return f, nil
}

func mustCompile(name, format string) *Format {
	f, err := Compile(name, format)
	if err != nil {
		panic(err)
	}
	return f
}

// trimLength drops a length limit: %REQ(USER-AGENT):10% is REQ(USER-AGENT).
func trimLength(op string) string {
	if i := strings.LastIndex(op, ":"); i > 0 && strings.HasSuffix(op[:i], ")") {
		return op[:i]
	}
	return op
}

// Match reads line by the format: each operator's value runs up to the
// literal text that follows it. ok is false when the line does not fit.
func (f *Format) Match(line string) (map[string]string, bool) {
	fields := make(map[string]string, len(f.parts)/2+1)
	pos := 0
	// Text before the format's first literal is a prefix some log
	// collectors add ("ACCESS ", a timestamp from kubectl logs --timestamps).
	if first := f.parts[0].literal; first != "" {
		i := strings.Index(line, first)
		if i < 0 || strings.Contains(line[:i], `"`) {
			return nil, false
		}
		pos = i
	}
	for i, p := range f.parts {
		if p.op == "" {
			if !strings.HasPrefix(line[pos:], p.literal) {
				return nil, false
			}
			pos += len(p.literal)
			continue
		}
		if i+1 == len(f.parts) {
			fields[p.op] = line[pos:]
			pos = len(line)
			continue
		}
		next := f.parts[i+1].literal
		end := strings.Index(line[pos:], next)
		if end < 0 {
			return nil, false
		}
		// A value outside quotes has no spaces in Envoy's logs (details
		// use underscores); a space before the literal means the line has
		// another shape.
		if !quoted(f.parts, i) && strings.Contains(line[pos:pos+end], " ") {
			return nil, false
		}
		fields[p.op] = line[pos : pos+end]
		pos += end
	}
	return fields, pos == len(line)
}

// quoted tells whether the operator at i sits between double quotes.
func quoted(parts []part, i int) bool {
	return i > 0 && strings.HasSuffix(parts[i-1].literal, `"`) && i+1 < len(parts) && strings.HasPrefix(parts[i+1].literal, `"`)
}
