package pilot

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// xDS types as syncz names them, in the order status shows them.
var SyncTypes = []struct{ Key, Name string }{
	{"cluster", "CDS"}, {"listener", "LDS"}, {"endpoint", "EDS"}, {"route", "RDS"}, {"extensionconfig", "ECDS"},
}

// Sync states of one xDS type for one proxy, as istioctl proxy-status names them.
const (
	Synced  = "SYNCED"
	Stale   = "STALE"    // sent, not acknowledged (yet, or rejected)
	NotSent = "NOT SENT" // nothing of that type sent
	Error   = "ERROR"    // the proxy rejected the last push (NACK)
)

// SyncStatus is one proxy as an istiod instance sees it (/debug/syncz).
type SyncStatus struct {
	Proxy        string            `json:"proxy"`
	ClusterID    string            `json:"cluster_id,omitempty"`
	ProxyType    string            `json:"proxy_type,omitempty"`
	IstioVersion string            `json:"istio_version,omitempty"`
	Istiod       string            `json:"istiod"`
	Types        map[string]string `json:"types"` // CDS -> SYNCED, ...
	// Sent is when istiod last sent each type, when it says (Istio 1.22+).
	Sent map[string]time.Time `json:"sent,omitempty"`
}

// AmbientSyncTypes are the xDS types istiod sends ztunnels: workloads
// and services (WDS, istio.workload.Address) and L4 policies
// (istio.security.Authorization).
var AmbientSyncTypes = []struct{ URL, Name string }{
	{"type.googleapis.com/istio.workload.Address", "WDS"},
	{"type.googleapis.com/istio.security.Authorization", "AUTHZ"},
}

var typeURLs = map[string]string{
	ClusterType: "CDS", ListenerType: "LDS", EndpointType: "EDS", RouteType: "RDS",
	"type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig": "ECDS",
	"type.googleapis.com/istio.workload.Address":                    "WDS",
	"type.googleapis.com/istio.security.Authorization":              "AUTHZ",
}

// IsZtunnel tells a ztunnel's status from an Envoy's.
func (s SyncStatus) IsZtunnel() bool { return s.ProxyType == "ztunnel" }

// InSync tells whether no type is stale or in error.
func (s SyncStatus) InSync() bool {
	for _, st := range s.Types {
		if st == Stale || st == Error {
			return false
		}
	}
	return true
}

// ParseSyncz reads istiod's /debug/syncz (a list of per-proxy sent and
// acknowledged nonces per type) as istiod instance istiod sees it.
func ParseSyncz(data []byte, istiod string) ([]SyncStatus, error) {
	var raw []map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("not istiod's /debug/syncz: %v", err)
	}
	out := make([]SyncStatus, 0, len(raw))
	for _, r := range raw {
		s := SyncStatus{Proxy: str(r["proxy"]), ClusterID: str(r["cluster_id"]), ProxyType: str(r["proxy_type"]),
			IstioVersion: str(r["istio_version"]), Istiod: istiod, Types: map[string]string{}}
		if s.Proxy == "" {
			return nil, fmt.Errorf("not istiod's /debug/syncz: an entry without \"proxy\"")
		}
		if res, ok := r["resources"].(map[string]any); ok {
			for url, v := range res {
				name, known := typeURLs[url]
				m, _ := v.(map[string]any)
				if !known || m == nil {
					continue
				}
				if t, err := time.Parse(time.RFC3339Nano, str(m["sentTime"])); err == nil {
					if s.Sent == nil {
						s.Sent = map[string]time.Time{}
					}
					s.Sent[name] = t
				}
			}
		}
		if res, ok := r["resources"].(map[string]any); ok {
			for _, t := range AmbientSyncTypes {
				m, ok := res[t.URL].(map[string]any)
				switch {
				case !ok:
					if s.IsZtunnel() {
						s.Types[t.Name] = NotSent
					}
				case str(m["lastError"]) != "":
					s.Types[t.Name] = Error
				case str(m["sent"]) == "":
					s.Types[t.Name] = NotSent
				case str(m["sent"]) == str(m["acked"]):
					s.Types[t.Name] = Synced
				default:
					s.Types[t.Name] = Stale
				}
			}
		}
		if s.IsZtunnel() {
			out = append(out, s) // Envoy's types are not a ztunnel's
			continue
		}
		for _, t := range SyncTypes {
			sent, acked := str(r[t.Key+"_sent"]), str(r[t.Key+"_acked"])
			switch {
			case str(r[t.Key+"_error"]) != "" || str(r[t.Key+"_nack"]) != "":
				s.Types[t.Name] = Error
			case sent == "":
				s.Types[t.Name] = NotSent
			case sent == acked:
				s.Types[t.Name] = Synced
			default:
				s.Types[t.Name] = Stale
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// SortStatus puts proxies out of sync first, then by name.
func SortStatus(ss []SyncStatus) {
	sort.SliceStable(ss, func(i, j int) bool {
		if ss[i].InSync() != ss[j].InSync() {
			return !ss[i].InSync()
		}
		return ss[i].Proxy < ss[j].Proxy
	})
}

// Service is a service in istiod's registry (/debug/registryz).
type Service struct {
	Hostname     string   `json:"hostname"`
	Namespace    string   `json:"namespace"`
	Registry     string   `json:"registry"`
	Addresses    []string `json:"addresses"`
	Ports        []string `json:"ports"`
	Resolution   string   `json:"resolution"`
	MeshExternal bool     `json:"meshExternal"`
}

// ParseRegistryz reads istiod's /debug/registryz.
func ParseRegistryz(data []byte) ([]Service, error) {
	var raw []map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("not istiod's /debug/registryz: %v", err)
	}
	var out []Service
	for _, r := range raw {
		attrs, _ := r["Attributes"].(map[string]any)
		s := Service{Hostname: str(r["hostname"]), Namespace: str(attrs["Namespace"]), Registry: str(attrs["ServiceRegistry"]),
			MeshExternal: r["MeshExternal"] == true, Resolution: resolution(r["Resolution"])}
		if s.Hostname == "" {
			return nil, fmt.Errorf("not istiod's /debug/registryz: an entry without \"hostname\"")
		}
		if vips, ok := r["clusterVIPs"].(map[string]any); ok {
			if addrs, ok := vips["Addresses"].(map[string]any); ok {
				for cluster, list := range addrs {
					for _, a := range asList(list) {
						s.Addresses = append(s.Addresses, str(a)+" ("+cluster+")")
					}
				}
			}
		}
		if len(s.Addresses) == 0 && str(r["defaultAddress"]) != "" {
			s.Addresses = []string{str(r["defaultAddress"])}
		}
		sort.Strings(s.Addresses)
		for _, p := range asList(r["ports"]) {
			pm, _ := p.(map[string]any)
			s.Ports = append(s.Ports, fmt.Sprintf("%s:%v/%s", str(pm["name"]), pm["port"], str(pm["protocol"])))
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Hostname < out[j].Hostname
	})
	return out, nil
}

func resolution(v any) string {
	switch n, _ := v.(float64); n {
	case 0:
		return "ClientSideLB"
	case 1:
		return "DNSLB"
	case 2:
		return "Passthrough"
	case 3:
		return "DNSRoundRobinLB"
	}
	return fmt.Sprint(v)
}

// ConfigObject is an Istio or Gateway API object istiod holds (/debug/configz).
type ConfigObject struct {
	Kind            string `json:"kind"`
	APIVersion      string `json:"apiVersion"`
	Namespace       string `json:"namespace"`
	Name            string `json:"name"`
	ResourceVersion string `json:"resourceVersion"`
	Created         string `json:"created"`
}

// ParseConfigz reads istiod's /debug/configz.
func ParseConfigz(data []byte) ([]ConfigObject, error) {
	var raw []map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("not istiod's /debug/configz: %v", err)
	}
	var out []ConfigObject
	for _, r := range raw {
		md, _ := r["metadata"].(map[string]any)
		o := ConfigObject{Kind: str(r["kind"]), APIVersion: str(r["apiVersion"]), Namespace: str(md["namespace"]), Name: str(md["name"]),
			ResourceVersion: str(md["resourceVersion"]), Created: str(md["creationTimestamp"])}
		if o.Kind == "" || o.Name == "" {
			return nil, fmt.Errorf("not istiod's /debug/configz: an object without kind or name")
		}
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return a.Kind+"/"+a.Namespace+"/"+a.Name < b.Kind+"/"+b.Namespace+"/"+b.Name
	})
	return out, nil
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	}
	return strings.TrimSpace(fmt.Sprint(v))
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
