// Package ztunnel reads the config dump of Istio's ambient node proxy
// (ztunnel's admin /config_dump on port 15000): the workloads, services,
// authorization policies and certificates it holds, and its connections.
// Both shapes ztunnel has written are read: maps keyed by address or UID
// (ztunnel before 1.22, the shape istioctl's goldens hold) and lists with
// stagedServices and staticConfig (newer releases).
package ztunnel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// AdminPort is ztunnel's admin port; /config_dump is served there.
const AdminPort = 15000

// Dump is one ztunnel's view of the mesh.
type Dump struct {
	Workloads    []*Workload
	Services     []*Service
	Policies     []*Policy
	Certificates []*Certificate
	// States are the workloads this ztunnel captures traffic for (its
	// node's, in-pod mode) with their connections; absent before 1.22.
	States []*WorkloadState
	// Staged are endpoints of services ztunnel has not yet received,
	// by service (namespace/hostname).
	Staged map[string]int
	// Static counts what a local (file) config adds: workloads, services
	// and policies not from istiod.
	Static  map[string]int
	Version string
}

// Workload is one workload (a pod, a WorkloadEntry) as ztunnel knows it.
type Workload struct {
	UID                   string             `json:"uid"`
	IPs                   []string           `json:"workloadIps"`
	Waypoint              *GatewayAddress    `json:"waypoint,omitempty"`
	NetworkGateway        *GatewayAddress    `json:"networkGateway,omitempty"`
	Protocol              string             `json:"protocol"`
	NetworkMode           string             `json:"networkMode,omitempty"`
	Name                  string             `json:"name"`
	Namespace             string             `json:"namespace"`
	TrustDomain           string             `json:"trustDomain,omitempty"`
	ServiceAccount        string             `json:"serviceAccount,omitempty"`
	Network               string             `json:"network,omitempty"`
	WorkloadName          string             `json:"workloadName,omitempty"`
	WorkloadType          string             `json:"workloadType,omitempty"`
	CanonicalName         string             `json:"canonicalName,omitempty"`
	CanonicalRevision     string             `json:"canonicalRevision,omitempty"`
	Hostname              string             `json:"hostname,omitempty"`
	Node                  string             `json:"node,omitempty"`
	NativeTunnel          bool               `json:"nativeTunnel,omitempty"`
	ApplicationTunnel     *ApplicationTunnel `json:"applicationTunnel,omitempty"`
	AuthorizationPolicies []string           `json:"authorizationPolicies,omitempty"`
	Status                string             `json:"status"`
	ClusterID             string             `json:"clusterId,omitempty"`
	Locality              Locality           `json:"locality,omitzero"`
	Services              json.RawMessage    `json:"services,omitempty"`
	Capacity              *uint32            `json:"capacity,omitempty"`
	// Raw is the workload as the dump holds it: -o json|yaml print it.
	Raw json.RawMessage `json:"-"`
}

// Locality is where a workload runs.
type Locality struct {
	Region  string `json:"region,omitempty"`
	Zone    string `json:"zone,omitempty"`
	Subzone string `json:"subzone,omitempty"`
}

// ApplicationTunnel is how a workload takes tunnelled traffic itself.
type ApplicationTunnel struct {
	Protocol string `json:"protocol"`
	Port     *int   `json:"port,omitempty"`
}

// GatewayAddress is a waypoint or network gateway: an address
// ("network/ip") or a Service (namespace and hostname), and its HBONE port.
type GatewayAddress struct {
	Destination   Destination `json:"destination"`
	HBONEMTLSPort int         `json:"hboneMtlsPort,omitempty"`
	Port          int         `json:"port,omitempty"` // before 1.22
}

// Destination is a GatewayAddress's destination: Address ("network/ip")
// or Namespace and Hostname.
type Destination struct {
	Address             string
	Namespace, Hostname string
}

// UnmarshalJSON reads either form ztunnel writes.
func (d *Destination) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &d.Address)
	}
	var h struct {
		Namespace string `json:"namespace"`
		Hostname  string `json:"hostname"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return fmt.Errorf("a waypoint destination is neither an address nor a hostname: %s", b)
	}
	d.Namespace, d.Hostname = h.Namespace, h.Hostname
	return nil
}

// String is the destination as ztunnel prints it: network/ip, or
// namespace/hostname.
func (d Destination) String() string {
	if d.Hostname != "" {
		return d.Namespace + "/" + d.Hostname
	}
	return d.Address
}

// IP is the destination's address without its network, "" for a hostname.
func (d Destination) IP() string {
	if d.Hostname != "" {
		return ""
	}
	_, ip := splitNetwork(d.Address)
	return ip
}

// Service is one service (a Kubernetes Service, a ServiceEntry).
type Service struct {
	Name              string               `json:"name"`
	Namespace         string               `json:"namespace"`
	Hostname          string               `json:"hostname"`
	VIPs              []string             `json:"vips"`
	CIDRVIPs          []json.RawMessage    `json:"cidrVips,omitempty"`
	Ports             map[string]int       `json:"ports"`
	Endpoints         map[string]*Endpoint `json:"endpoints"`
	SubjectAltNames   []string             `json:"subjectAltNames,omitempty"`
	Waypoint          *GatewayAddress      `json:"waypoint,omitempty"`
	WeightedWaypoints []struct {
		Destination GatewayAddress `json:"destination"`
		Weight      uint32         `json:"weight"`
	} `json:"weightedWaypoints,omitempty"`
	LoadBalancer *LoadBalancer   `json:"loadBalancer,omitempty"`
	IPFamilies   string          `json:"ipFamilies,omitempty"`
	Canonical    bool            `json:"canonical,omitempty"`
	Visibility   string          `json:"visibility,omitempty"`
	Raw          json.RawMessage `json:"-"`
}

// Endpoint is one workload behind a service, with the service port to
// target port mapping.
type Endpoint struct {
	WorkloadUID string         `json:"workloadUid"`
	Service     string         `json:"service,omitempty"`
	Address     string         `json:"address,omitempty"`
	Port        map[string]int `json:"port"`
	Status      string         `json:"status,omitempty"`
}

// LoadBalancer is a service's load balancing: locality preferences and
// whether unhealthy endpoints are used.
type LoadBalancer struct {
	Mode               string   `json:"mode"`
	RoutingPreferences []string `json:"routingPreferences"`
	HealthPolicy       string   `json:"healthPolicy"`
}

// Policy is an L4 authorization policy as ztunnel enforces it.
type Policy struct {
	Name      string          `json:"name"`
	Namespace string          `json:"namespace"`
	Scope     string          `json:"scope"`  // Global, Namespace, WorkloadSelector
	Action    string          `json:"action"` // Allow, Deny
	Rules     [][][]*Match    `json:"rules"`
	DryRun    bool            `json:"dryRun,omitempty"`
	Raw       json.RawMessage `json:"-"`
}

// Match is one clause of a policy rule: the connection must meet every
// non-empty field.
type Match struct {
	Namespaces          []StringMatch  `json:"namespaces,omitempty"`
	NotNamespaces       []StringMatch  `json:"notNamespaces,omitempty"`
	ServiceAccounts     []AccountMatch `json:"serviceAccounts,omitempty"`
	NotServiceAccounts  []AccountMatch `json:"notServiceAccounts,omitempty"`
	Principals          []StringMatch  `json:"principals,omitempty"`
	NotPrincipals       []StringMatch  `json:"notPrincipals,omitempty"`
	SourceIPs           []string       `json:"sourceIps,omitempty"`
	NotSourceIPs        []string       `json:"notSourceIps,omitempty"`
	DestinationIPs      []string       `json:"destinationIps,omitempty"`
	NotDestinationIPs   []string       `json:"notDestinationIps,omitempty"`
	DestinationPorts    []int          `json:"destinationPorts,omitempty"`
	NotDestinationPorts []int          `json:"notDestinationPorts,omitempty"`
	// Unknown are the fields this build does not evaluate (a newer
	// ztunnel's): a match holding one is decided "unknown", never skipped.
	Unknown []string `json:"-"`
}

// matchFields are the fields of ztunnel's RbacMatch (src/rbac.rs).
var matchFields = map[string]bool{"namespaces": true, "notNamespaces": true, "serviceAccounts": true, "notServiceAccounts": true,
	"principals": true, "notPrincipals": true, "sourceIps": true, "notSourceIps": true, "destinationIps": true,
	"notDestinationIps": true, "destinationPorts": true, "notDestinationPorts": true}

// UnmarshalJSON reads a match, keeping the names of fields it does not know.
func (m *Match) UnmarshalJSON(b []byte) error {
	type plain Match
	if err := json.Unmarshal(b, (*plain)(m)); err != nil {
		return err
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		return err
	}
	for k := range keys {
		if !matchFields[k] {
			m.Unknown = append(m.Unknown, k)
		}
	}
	sort.Strings(m.Unknown)
	return nil
}

// StringMatch is ztunnel's string matcher: {"Exact": v}, {"Prefix": v},
// {"Suffix": v} or {"Presence": []}.
type StringMatch struct {
	Kind  string // Exact, Prefix, Suffix, Presence
	Value string
}

// UnmarshalJSON reads the externally tagged form ztunnel writes.
func (m *StringMatch) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || len(raw) != 1 {
		return fmt.Errorf("a string match is one of Exact, Prefix, Suffix or Presence: %s", b)
	}
	for k, v := range raw {
		switch k {
		case "Exact", "Prefix", "Suffix":
			m.Kind = k
			return json.Unmarshal(v, &m.Value)
		case "Presence":
			m.Kind = k
			return nil
		}
		return fmt.Errorf("unknown string match %q (ztunnel has Exact, Prefix, Suffix and Presence)", k)
	}
	return nil
}

// MarshalJSON writes the form ztunnel writes.
func (m StringMatch) MarshalJSON() ([]byte, error) {
	if m.Kind == "Presence" {
		return []byte(`{"Presence":[]}`), nil
	}
	return json.Marshal(map[string]string{m.Kind: m.Value})
}

// String is the match as a human reads it: v, v*, *v or *.
func (m StringMatch) String() string {
	switch m.Kind {
	case "Prefix":
		return m.Value + "*"
	case "Suffix":
		return "*" + m.Value
	case "Presence":
		return "*"
	}
	return m.Value
}

// AccountMatch names one service account.
type AccountMatch struct {
	Namespace      string `json:"namespace"`
	ServiceAccount string `json:"serviceAccount"`
}

// Certificate is one identity's certificate state: its chain and roots
// (never keys: ztunnel's dump holds none).
type Certificate struct {
	Identity  string  `json:"identity"`
	State     string  `json:"state"`
	CertChain []*Cert `json:"certChain"`
	RootCerts []*Cert `json:"rootCerts,omitempty"`
}

// Cert is one certificate of a chain.
type Cert struct {
	PEM            string `json:"pem"`
	SerialNumber   string `json:"serialNumber"` // decimal
	ValidFrom      string `json:"validFrom"`
	ExpirationTime string `json:"expirationTime"`
}

// WorkloadState is a workload ztunnel captures for (in-pod mode) with
// its open connections.
type WorkloadState struct {
	UID         string `json:"-"`
	State       string `json:"state,omitempty"`
	Connections struct {
		Inbound  []*Connection `json:"inbound"`
		Outbound []*Connection `json:"outbound"`
	} `json:"connections"`
	Info struct {
		Name           string `json:"name"`
		Namespace      string `json:"namespace"`
		TrustDomain    string `json:"trustDomain,omitempty"`
		ServiceAccount string `json:"serviceAccount"`
	} `json:"info"`
	Raw json.RawMessage `json:"-"`
}

// Connection is one open connection: its source, the destination the
// client asked for and the one ztunnel connected to.
type Connection struct {
	Src         string `json:"src"`
	OriginalDst string `json:"originalDst"`
	ActualDst   string `json:"actualDst"`
	Protocol    string `json:"protocol"`
}

// ErrNotZtunnel is a document that is not a ztunnel config dump.
var ErrNotZtunnel = errors.New("not a ztunnel config dump")

// Load reads a ztunnel /config_dump (JSON or YAML).
func Load(data []byte) (*Dump, error) {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] != '{' {
		j, err := yaml.YAMLToJSON(data)
		if err != nil {
			return nil, fmt.Errorf("%w: neither JSON nor YAML (%v)", ErrNotZtunnel, err)
		}
		data = j
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		if te := (*json.UnmarshalTypeError)(nil); errors.As(err, &te) && te.Field == "" {
			return nil, fmt.Errorf("%w: the document is a %s, not an object holding workloads, services, policies and certificates", ErrNotZtunnel, te.Value)
		}
		return nil, fmt.Errorf("%w: %v", ErrNotZtunnel, cleanJSONError(err))
	}
	if top == nil {
		return nil, fmt.Errorf("%w: the document is empty", ErrNotZtunnel)
	}
	if what := notZtunnel(top); what != "" {
		return nil, fmt.Errorf("%w: it is %s", ErrNotZtunnel, what)
	}
	d := &Dump{}
	var err error
	if d.Workloads, err = listOrMap[Workload](top["workloads"], "workloads", func(w *Workload, raw json.RawMessage) { w.Raw = raw }); err != nil {
		return nil, err
	}
	if d.Services, err = listOrMap[Service](top["services"], "services", func(s *Service, raw json.RawMessage) { s.Raw = raw }); err != nil {
		return nil, err
	}
	if d.Policies, err = listOrMap[Policy](top["policies"], "policies", func(p *Policy, raw json.RawMessage) { p.Raw = raw }); err != nil {
		return nil, err
	}
	if d.Certificates, err = listOrMap[Certificate](top["certificates"], "certificates", nil); err != nil {
		return nil, err
	}
	states := top["workloadState"]
	if states == nil {
		states = top["workloadstate"]
	}
	if len(states) > 0 && string(states) != "null" {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(states, &m); err != nil {
			return nil, fmt.Errorf("ztunnel dump: workloadState: %v", cleanJSONError(err))
		}
		for uid, raw := range m {
			s := &WorkloadState{UID: uid, Raw: raw}
			if err := json.Unmarshal(raw, s); err != nil {
				return nil, fmt.Errorf("ztunnel dump: workloadState %s: %v", uid, cleanJSONError(err))
			}
			d.States = append(d.States, s)
		}
		sort.Slice(d.States, func(i, j int) bool {
			a, b := d.States[i], d.States[j]
			if a.Info.Namespace != b.Info.Namespace {
				return a.Info.Namespace < b.Info.Namespace
			}
			if a.Info.Name != b.Info.Name {
				return a.Info.Name < b.Info.Name
			}
			return a.UID < b.UID
		})
	}
	if raw := top["stagedServices"]; len(raw) > 0 && string(raw) != "null" {
		var m map[string]map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("ztunnel dump: stagedServices: %v", cleanJSONError(err))
		}
		d.Staged = map[string]int{}
		for svc, eps := range m {
			d.Staged[svc] = len(eps)
		}
	}
	if raw := top["staticConfig"]; len(raw) > 0 && string(raw) != "null" {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("ztunnel dump: staticConfig: %v", cleanJSONError(err))
		}
		d.Static = map[string]int{}
		for k, v := range m {
			var items []json.RawMessage
			if json.Unmarshal(v, &items) == nil && len(items) > 0 {
				d.Static[k] = len(items)
			}
		}
	}
	if raw := top["version"]; len(raw) > 0 {
		var v struct {
			Version string `json:"version"`
		}
		if json.Unmarshal(raw, &v) == nil {
			d.Version = v.Version
		}
	}
	return d, nil
}

// notZtunnel names what a document is when it plainly is not a ztunnel
// dump, or "" when it may be one.
func notZtunnel(top map[string]json.RawMessage) string {
	for _, k := range []string{"workloads", "policies", "certificates", "workloadState", "workloadstate", "stagedServices"} {
		if _, ok := top[k]; ok {
			return ""
		}
	}
	// "services" alone is a common word: a ztunnel's have VIPs.
	if svcs := top["services"]; len(svcs) > 0 && bytes.Contains(svcs, []byte(`"vips"`)) {
		return ""
	}
	switch {
	case top["configs"] != nil:
		return "an Envoy config dump (see kubectl mesh listeners -f, clusters -f, ...)"
	case top["cluster_statuses"] != nil:
		return "Envoy's /clusters (see kubectl mesh endpoints -f)"
	case top["apiVersion"] != nil && top["kind"] != nil:
		return "a Kubernetes object"
	}
	keys := make([]string, 0, len(top))
	for k := range top {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) > 5 {
		keys = append(keys[:5], "...")
	}
	return "a document with none of workloads, services, policies or certificates (it has " + strings.Join(keys, ", ") + ")"
}

// listOrMap reads a section ztunnel wrote as a list, or (before 1.22) as
// a map whose keys repeat what each value holds. Map sections are sorted
// by key so that output is stable.
func listOrMap[T any](raw json.RawMessage, section string, keep func(*T, json.RawMessage)) ([]*T, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var items []json.RawMessage
	switch raw[0] {
	case '[':
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, fmt.Errorf("ztunnel dump: %s: %v", section, cleanJSONError(err))
		}
	case '{':
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("ztunnel dump: %s: %v", section, cleanJSONError(err))
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			items = append(items, m[k])
		}
	default:
		return nil, fmt.Errorf("ztunnel dump: %s is neither a list nor a map", section)
	}
	out := make([]*T, 0, len(items))
	for i, item := range items {
		v := new(T)
		if err := json.Unmarshal(item, v); err != nil {
			return nil, fmt.Errorf("ztunnel dump: %s[%d]: %v", section, i, cleanJSONError(err))
		}
		if keep != nil {
			keep(v, item)
		}
		out = append(out, v)
	}
	return out, nil
}

// cleanJSONError drops encoding/json's Go type names from an error.
func cleanJSONError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "a value"
		}
		return fmt.Errorf("%s is a JSON %s where ztunnel writes %s", field, te.Value, goKind(te.Type.Kind().String()))
	}
	return err
}

func goKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"), strings.HasPrefix(k, "float"):
		return "a number"
	case k == "string":
		return "a string"
	case k == "bool":
		return "true or false"
	case k == "slice":
		return "a list"
	case k == "map", k == "struct", k == "ptr":
		return "an object"
	}
	return k
}

// splitNetwork splits ztunnel's "network/ip" address form.
func splitNetwork(addr string) (network, ip string) {
	if n, a, ok := strings.Cut(addr, "/"); ok {
		return n, a
	}
	return "", addr
}
