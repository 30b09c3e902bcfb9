package envoyadmin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"syscall"
)

// Client reads an Envoy admin endpoint: Base is its URL (a port-forward's
// http://127.0.0.1:PORT, or a test server's). Only GET is ever sent: the
// admin API's mutating endpoints stay out of reach.
type Client struct {
	Base string
	// HTTP is the client to use; nil means http.DefaultClient.
	HTTP *http.Client
}

// StatusError is an admin answer other than 200 OK.
type StatusError struct {
	Path   string
	Code   int
	Status string // "503 Service Unavailable"
}

func (e *StatusError) Error() string { return "admin answered " + e.Status }

// RequestError is a GET that failed: the path asked and why (a
// *StatusError, ErrNoAnswer, the context's error, or the transport's).
type RequestError struct {
	Path string
	Err  error
}

func (e *RequestError) Error() string { return fmt.Sprintf("GET %s: %v", e.Path, e.Err) }

func (e *RequestError) Unwrap() error { return e.Err }

// ErrNoAnswer is a connection closed or reset before an answer: through a
// port-forward, what a pod port nothing listens on looks like.
var ErrNoAnswer = errors.New("the connection closed without an answer")

// Get makes a GET request for path ("/server_info", "/stats?filter=...").
// Its errors are *RequestError: a closed or reset connection is
// ErrNoAnswer, an answer other than 200 a *StatusError, a deadline
// context.DeadlineExceeded.
func (c *Client) Get(ctx context.Context, path string) ([]byte, error) {
	data, err := c.get(ctx, path)
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, &RequestError{Path: path, Err: err}
	}
	return data, nil
}

func (c *Client) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Base+path, nil)
	if err != nil {
		return nil, err
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
			return nil, ErrNoAnswer
		}
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &StatusError{Path: path, Code: resp.StatusCode, Status: resp.Status}
	}
	return io.ReadAll(resp.Body)
}

// ConfigDumpPath is what a read of kinds fetches: only what is shown
// (Envoy's field mask per kind), live health from /clusters for endpoints,
// the whole dump with EDS for everything.
func ConfigDumpPath(kinds []Kind) string {
	switch {
	case wants(kinds, KindEndpoints, KindClusterStatus) && !wants(kinds, KindListener):
		return "/clusters?format=json"
	case wants(kinds, KindEndpoints):
		return "/config_dump?include_eds"
	case len(kinds) == 1 && Mask(kinds[0]) != "":
		return "/config_dump?mask=" + url.QueryEscape(Mask(kinds[0]))
	}
	return "/config_dump"
}

// FetchConfig reads the config of kinds (ConfigDumpPath). An Envoy older
// than the mask's field names answers 400 to a masked read: then it reads
// the whole dump instead.
func (c *Client) FetchConfig(ctx context.Context, kinds ...Kind) ([]byte, error) {
	path := ConfigDumpPath(kinds)
	data, err := c.Get(ctx, path)
	var status *StatusError
	if errors.As(err, &status) && status.Code == http.StatusBadRequest && strings.HasPrefix(path, "/config_dump?mask=") {
		return c.Get(ctx, "/config_dump")
	}
	return data, err
}

func wants(kinds []Kind, want ...Kind) bool {
	for _, k := range kinds {
		for _, w := range want {
			if k == w {
				return true
			}
		}
	}
	return false
}
