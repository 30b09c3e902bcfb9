//go:build e2e

package e2e

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3" // also registers the dump types, for mask validity
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/pilot"
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
	// sent is the body bytes answered to each request, in order.
	sent []int
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
	counted := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			cw := &countingWriter{ResponseWriter: w}
			h(cw, r)
			a.mu.Lock()
			a.sent = append(a.sent, cw.n)
			a.mu.Unlock()
		}
	}
	mux.HandleFunc("/config_dump", counted(a.configDump))
	mux.HandleFunc("/clusters", func(w http.ResponseWriter, r *http.Request) {
		a.record(r)
		a.mu.Lock()
		clusters := a.clusters
		a.mu.Unlock()
		if clusters == nil || r.URL.Query().Get("format") != "json" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(clusters)
	})
	// /server_info as Envoy writes it, built with Envoy's own admin type.
	info, _ := protojson.Marshal(&adminv3.ServerInfo{Version: "ad034036be91ff9f0cd1993e5053dd4f3ee64895/1.34.2/Clean/RELEASE/BoringSSL",
		State: adminv3.ServerInfo_LIVE, CommandLineOptions: &adminv3.CommandLineOptions{ServiceCluster: "frontend.demo"}})
	mux.HandleFunc("/server_info", func(w http.ResponseWriter, r *http.Request) {
		a.record(r)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(info)
	})
	mux.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		a.record(r)
		// Recorded /stats text of a real Envoy (Kuma's fixtures; see MANIFEST.md).
		stats, err := os.ReadFile("../../../shared/fixtures/kuma/stats/histogram.in")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = w.Write(stats)
	})
	a.server = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = a.server.Serve(ln) }()
	return a, nil
}

// countingWriter counts the body bytes written.
type countingWriter struct {
	http.ResponseWriter
	n int
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n += n
	return n, err
}

// LastSent is the body bytes of the last /config_dump answer.
func (a *AdminStandIn) LastSent() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.sent) == 0 {
		return 0
	}
	return a.sent[len(a.sent)-1]
}

func (a *AdminStandIn) record(r *http.Request) {
	a.mu.Lock()
	a.requests = append(a.requests, r.URL.RequestURI())
	a.mu.Unlock()
}

// IstiodStandIn plays istiod's debug port (15014): recorded debug views of
// a real istiod by path, and, for /debug/config_dump?proxyID=POD.NS, the
// dump given for that proxy.
type IstiodStandIn struct {
	server *http.Server
}

// StartIstiod serves views (path -> file) and dumps (proxyID -> bytes) on addr.
func StartIstiod(addr string, views map[string]string, dumps map[string][]byte) (*IstiodStandIn, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	for path, file := range views {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			data, err := os.ReadFile(file)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(data)
		})
	}
	mux.HandleFunc("/debug/config_dump", func(w http.ResponseWriter, r *http.Request) {
		dump, ok := dumps[r.URL.Query().Get("proxyID")]
		if !ok {
			http.Error(w, "proxy not connected", http.StatusNotFound)
			return
		}
		_, _ = w.Write(dump)
	})
	i := &IstiodStandIn{server: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}}
	go func() { _ = i.server.Serve(ln) }()
	return i, nil
}

// Close stops serving.
func (i *IstiodStandIn) Close() { _ = i.server.Close() }

// Requests returns the request URIs received so far.
func (a *AdminStandIn) Requests() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.requests...)
}

// Close stops serving.
func (a *AdminStandIn) Close() { _ = a.server.Close() }

// SetDump replaces the dump (and /clusters) served, as Envoy's change
// when a push lands.
func (a *AdminStandIn) SetDump(dump, clusters []byte) {
	a.mu.Lock()
	a.dump, a.clusters = dump, clusters
	a.mu.Unlock()
}

// clustersJSON is /clusters?format=json for the endpoints istiod sent, as
// Envoy writes it (go-control-plane's admin types): every host with the
// health EDS gave it.
func clustersJSON(c *pilot.Config) []byte {
	out := &adminv3.Clusters{}
	if c.Endpoints != nil {
		for _, r := range c.Endpoints.Resources {
			var cla endpointv3.ClusterLoadAssignment
			if err := r.UnmarshalTo(&cla); err != nil {
				continue
			}
			cs := &adminv3.ClusterStatus{Name: cla.ClusterName}
			for _, l := range cla.Endpoints {
				for _, e := range l.LbEndpoints {
					cs.HostStatuses = append(cs.HostStatuses, &adminv3.HostStatus{
						Address:      e.GetEndpoint().GetAddress(),
						HealthStatus: &adminv3.HostHealthStatus{EdsHealthStatus: e.HealthStatus},
						Weight:       e.GetLoadBalancingWeight().GetValue(),
						Locality:     l.Locality,
					})
				}
			}
			out.ClusterStatuses = append(out.ClusterStatuses, cs)
		}
	}
	b, _ := protojson.MarshalOptions{UseProtoNames: true}.Marshal(out)
	return b
}

func (a *AdminStandIn) configDump(w http.ResponseWriter, r *http.Request) {
	a.record(r)
	w.Header().Set("Content-Type", "application/json")
	a.mu.Lock()
	dump := a.dump
	a.mu.Unlock()
	mask := r.URL.Query().Get("mask")
	if mask == "" {
		_, _ = w.Write(dump)
		return
	}
	var doc struct {
		Configs []map[string]json.RawMessage `json:"configs"`
	}
	if err := json.Unmarshal(dump, &doc); err != nil {
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
