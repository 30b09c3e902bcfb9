package envoyadmin

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// What a read of each kind asks Envoy for: the mask names the kind's
// sections (Envoy's ConfigDump field names), endpoints come with live
// health from /clusters, or with EDS in the dump beside listeners.
func TestConfigDumpPath(t *testing.T) {
	for _, tc := range []struct {
		kinds []Kind
		want  string
	}{
		{[]Kind{KindListener}, "/config_dump?mask=" + "static_listeners%2Cdynamic_listeners"},
		{[]Kind{KindEndpoints}, "/clusters?format=json"},
		{[]Kind{KindEndpoints, KindListener}, "/config_dump?include_eds"},
		{[]Kind{KindListener, KindRouteConfig}, "/config_dump"},
		{nil, "/config_dump"},
	} {
		if got := ConfigDumpPath(tc.kinds); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.kinds, got, tc.want)
		}
	}
}

func TestFetchConfigFallsBackOnlyForAMask(t *testing.T) {
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.URL.RequestURI())
		if r.URL.Query().Has("mask") || r.URL.Path == "/clusters" {
			http.Error(w, "unknown field", http.StatusBadRequest)
			return
		}
		_, _ = w.Write([]byte(`{"configs":[]}`))
	}))
	defer srv.Close()
	c := &Client{Base: srv.URL}
	data, err := c.FetchConfig(context.Background(), KindListener)
	if err != nil || string(data) != `{"configs":[]}` || len(asked) != 2 || asked[1] != "/config_dump" {
		t.Errorf("masked read: %q, %v after %q; want the whole dump second", data, err, asked)
	}
	asked = nil
	_, err = c.FetchConfig(context.Background(), KindEndpoints)
	var status *StatusError
	var req *RequestError
	if !errors.As(err, &status) || status.Code != 400 || !errors.As(err, &req) || req.Path != "/clusters?format=json" || len(asked) != 1 {
		t.Errorf("/clusters refused: %v after %q; want the 400, not retried", err, asked)
	}
	if !strings.Contains(err.Error(), "GET /clusters?format=json: admin answered 400 Bad Request") {
		t.Errorf("message %q", err)
	}
}
