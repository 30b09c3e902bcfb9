//go:build e2e

package e2e

import (
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "github.com/envoyproxy/go-control-plane/envoy/admin/v3" // the dump types, for mask validity
)

// AdminStandIn plays an Envoy admin endpoint serving a recorded dump. It
// answers /config_dump?mask= as Envoy's handler does: a top-level dump is
// kept, trimmed to the mask, only if every path names one of its fields;
// none kept is a 400. It records the requests it gets.
type AdminStandIn struct {
	server   *http.Server
	dump     []byte
	clusters []byte // /clusters?format=json, when recorded
	mu       sync.Mutex
	requests []string
}

// StartAdmin serves dump (and, if not nil, clusters as /clusters?format=json)
// as an admin endpoint on addr.
func StartAdmin(addr string, dump, clusters []byte) (*AdminStandIn, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	a := &AdminStandIn{dump: dump, clusters: clusters}
	mux := http.NewServeMux()
	mux.HandleFunc("/config_dump", a.configDump)
	mux.HandleFunc("/clusters", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.requests = append(a.requests, r.URL.RequestURI())
		a.mu.Unlock()
		if a.clusters == nil || r.URL.Query().Get("format") != "json" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(a.clusters)
	})
	a.server = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = a.server.Serve(ln) }()
	return a, nil
}

// Requests returns the request URIs received so far.
func (a *AdminStandIn) Requests() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.requests...)
}

// Close stops serving.
func (a *AdminStandIn) Close() { _ = a.server.Close() }

func (a *AdminStandIn) configDump(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.requests = append(a.requests, r.URL.RequestURI())
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	mask := r.URL.Query().Get("mask")
	if mask == "" {
		_, _ = w.Write(a.dump)
		return
	}
	var doc struct {
		Configs []map[string]json.RawMessage `json:"configs"`
	}
	if err := json.Unmarshal(a.dump, &doc); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	paths := strings.Split(mask, ",")
	var kept []string // each trimmed config, fields in the mask's (proto) order as Envoy writes them
	for _, c := range doc.Configs {
		var typ string
		_ = json.Unmarshal(c["@type"], &typ)
		mt, err := protoregistry.GlobalTypes.FindMessageByURL(typ)
		if err != nil {
			continue
		}
		fields := mt.Descriptor().Fields()
		valid := true
		for _, p := range paths {
			valid = valid && fields.ByName(protoreflect.Name(p)) != nil
		}
		if !valid {
			continue
		}
		parts := []string{`"@type":` + string(c["@type"])}
		for _, p := range paths {
			if v, ok := c[p]; ok {
				parts = append(parts, `"`+p+`":`+string(v))
			}
		}
		kept = append(kept, "{"+strings.Join(parts, ",")+"}")
	}
	if len(kept) == 0 {
		http.Error(w, "FieldMask "+mask+" could not be successfully applied to any configs.", http.StatusBadRequest)
		return
	}
	_, _ = w.Write([]byte(`{"configs":[` + strings.Join(kept, ",") + `]}`))
}
