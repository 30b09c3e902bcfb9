package trace

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Target is what a URL given to trace says: scheme, host, port and path.
type Target struct {
	Scheme string // http, https, grpc, tcp
	Host   string // without the port
	Port   uint32
	// Authority is the Host header a client sends: the host, with the port
	// when it is not the scheme's default.
	Authority string
	Path      string // with the query string
}

// ParseURL reads a URL as curl would send it: "http://reviews:9080/r/1",
// "https://example.com", "reviews:9080" (http), "tcp://mysql:3306".
func ParseURL(raw string) (Target, error) {
	if raw == "" {
		return Target{}, fmt.Errorf("the URL is empty")
	}
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Target{}, fmt.Errorf("%q is not a URL: %v", raw, err)
	}
	t := Target{Scheme: strings.ToLower(u.Scheme), Host: u.Hostname(), Path: u.RequestURI()}
	switch t.Scheme {
	case "http", "grpc", "h2c":
		t.Port = 80
	case "https", "grpcs":
		t.Port = 443
	case "tcp":
	default:
		return Target{}, fmt.Errorf("scheme %q: use http, https, grpc or tcp", u.Scheme)
	}
	if t.Host == "" {
		return Target{}, fmt.Errorf("%q has no host", raw)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return Target{}, fmt.Errorf("port %q is not a port number", p)
		}
		t.Port = uint32(n)
	}
	if t.Port == 0 {
		return Target{}, fmt.Errorf("%q: a tcp:// URL needs a port", raw)
	}
	t.Authority = t.Host
	if strings.Contains(t.Host, ":") {
		t.Authority = "[" + t.Host + "]"
	}
	if u.Port() != "" && !((t.Scheme == "http" && t.Port == 80) || (t.Scheme == "https" && t.Port == 443)) {
		t.Authority = net.JoinHostPort(t.Host, strconv.Itoa(int(t.Port)))
	}
	if t.Scheme == "tcp" {
		t.Path = ""
	}
	return t, nil
}

// ParseHeader reads "Name: value" as curl's -H does.
func ParseHeader(h string) (name, value string, err error) {
	name, value, ok := strings.Cut(h, ":")
	if h != "" && h[0] == ':' { // a pseudo-header: ":authority: x"
		n, v, ok2 := strings.Cut(h[1:], ":")
		name, value, ok = ":"+n, v, ok2
	}
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") {
		return "", "", fmt.Errorf("header %q: write it as 'Name: value'", h)
	}
	return strings.ToLower(name), strings.TrimSpace(value), nil
}
