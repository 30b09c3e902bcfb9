package envoyadmin

import (
	"strings"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
)

// shortType strips the type URL prefix: "envoy.config.listener.v3.Listener".
func shortType(typeURL string) string {
	if i := strings.LastIndexByte(typeURL, '/'); i >= 0 {
		return typeURL[i+1:]
	}
	return typeURL
}

// sectionOf returns the admin dump message name of a config section type URL
// ("ListenersConfigDump", or "ListenersConfigDump.DynamicListener" for the
// entries /config_dump?resource= returns), or "" when typeURL is not one.
// Both envoy.admin.v3 and the legacy envoy.admin.v2alpha are accepted.
func sectionOf(typeURL string) string {
	t := shortType(typeURL)
	for _, p := range []string{"envoy.admin.v3.", "envoy.admin.v2alpha."} {
		if strings.HasPrefix(t, p) {
			if s := t[len(p):]; strings.Contains(s, "ConfigDump") {
				return s
			}
		}
	}
	return ""
}

// resourceKind maps the type URL of a bare xDS resource to its kind.
func resourceKind(typeURL string) (Kind, bool) {
	switch shortType(typeURL) {
	case "envoy.config.listener.v3.Listener", "envoy.api.v2.Listener":
		return KindListener, true
	case "envoy.config.route.v3.RouteConfiguration", "envoy.api.v2.RouteConfiguration":
		return KindRouteConfig, true
	case "envoy.config.cluster.v3.Cluster", "envoy.api.v2.Cluster":
		return KindCluster, true
	case "envoy.config.endpoint.v3.ClusterLoadAssignment", "envoy.api.v2.ClusterLoadAssignment":
		return KindEndpoints, true
	case "envoy.extensions.transport_sockets.tls.v3.Secret", "envoy.api.v2.auth.Secret":
		return KindSecret, true
	case "envoy.config.bootstrap.v3.Bootstrap", "envoy.config.bootstrap.v2.Bootstrap":
		return KindBootstrap, true
	}
	return 0, false
}

func resourceEntry(k Kind, v jsonscan.Value) Entry {
	name := v.Get("name").Str()
	if k == KindEndpoints {
		name = v.Get("cluster_name").Str()
	}
	return Entry{Kind: k, State: StateActive, Name: name, Resource: v, Raw: v, List: k.StaticList(), Bare: true}
}

// entryShape says how the entries of one list in a config section look:
// the key holding the resource and the state the list stands for.
type entryShape struct {
	kind     Kind
	resource string // key of the resource inside the entry
	state    State
	list     string // the list's name, filled in when indexing
}

// lists maps the lists of each admin dump section to the shape of their entries.
var lists = map[string]map[string]entryShape{
	"ClustersConfigDump": {
		"static_clusters":          {kind: KindCluster, resource: "cluster", state: StateStatic},
		"dynamic_active_clusters":  {kind: KindCluster, resource: "cluster", state: StateActive},
		"dynamic_warming_clusters": {kind: KindCluster, resource: "cluster", state: StateWarming},
	},
	"ListenersConfigDump": {
		"static_listeners":           {kind: KindListener, resource: "listener", state: StateStatic},
		"dynamic_listeners":          {kind: KindListener, resource: "", state: ""}, // states inside
		"dynamic_active_listeners":   {kind: KindListener, resource: "listener", state: StateActive},
		"dynamic_warming_listeners":  {kind: KindListener, resource: "listener", state: StateWarming},
		"dynamic_draining_listeners": {kind: KindListener, resource: "listener", state: StateDraining},
	},
	"RoutesConfigDump": {
		"static_route_configs":  {kind: KindRouteConfig, resource: "route_config", state: StateStatic},
		"dynamic_route_configs": {kind: KindRouteConfig, resource: "route_config", state: StateActive},
	},
	"ScopedRoutesConfigDump": {
		"inline_scoped_route_configs":  {kind: KindScopedRoute, resource: "scoped_route_configs", state: StateStatic},
		"dynamic_scoped_route_configs": {kind: KindScopedRoute, resource: "scoped_route_configs", state: StateActive},
	},
	"SecretsConfigDump": {
		"static_secrets":          {kind: KindSecret, resource: "secret", state: StateStatic},
		"dynamic_active_secrets":  {kind: KindSecret, resource: "secret", state: StateActive},
		"dynamic_warming_secrets": {kind: KindSecret, resource: "secret", state: StateWarming},
	},
	"EndpointsConfigDump": {
		"static_endpoint_configs":  {kind: KindEndpoints, resource: "endpoint_config", state: StateStatic},
		"dynamic_endpoint_configs": {kind: KindEndpoints, resource: "endpoint_config", state: StateActive},
	},
	"EcdsConfigDump": {
		"ecds_filters": {kind: KindECDS, resource: "ecds_filter", state: StateActive},
	},
}

// single maps the entry messages /config_dump?resource= returns to the list they come from.
var single = map[string][2]string{
	"ClustersConfigDump.StaticCluster":                 {"ClustersConfigDump", "static_clusters"},
	"ClustersConfigDump.DynamicCluster":                {"ClustersConfigDump", "dynamic_active_clusters"},
	"ListenersConfigDump.StaticListener":               {"ListenersConfigDump", "static_listeners"},
	"ListenersConfigDump.DynamicListener":              {"ListenersConfigDump", "dynamic_listeners"},
	"RoutesConfigDump.StaticRouteConfig":               {"RoutesConfigDump", "static_route_configs"},
	"RoutesConfigDump.DynamicRouteConfig":              {"RoutesConfigDump", "dynamic_route_configs"},
	"ScopedRoutesConfigDump.InlineScopedRouteConfigs":  {"ScopedRoutesConfigDump", "inline_scoped_route_configs"},
	"ScopedRoutesConfigDump.DynamicScopedRouteConfigs": {"ScopedRoutesConfigDump", "dynamic_scoped_route_configs"},
	"SecretsConfigDump.StaticSecret":                   {"SecretsConfigDump", "static_secrets"},
	"SecretsConfigDump.DynamicSecret":                  {"SecretsConfigDump", "dynamic_active_secrets"},
	"EndpointsConfigDump.StaticEndpointConfig":         {"EndpointsConfigDump", "static_endpoint_configs"},
	"EndpointsConfigDump.DynamicEndpointConfig":        {"EndpointsConfigDump", "dynamic_endpoint_configs"},
	"EcdsConfigDump.EcdsFilterConfig":                  {"EcdsConfigDump", "ecds_filters"},
}

// addConfig indexes one element of "configs".
func (d *Dump) addConfig(c jsonscan.Value) {
	typ := c.Get("@type").Str()
	section := sectionOf(typ)
	if section == "BootstrapConfigDump" {
		d.addBootstrap(c.Get("bootstrap"), StateStatic, c.Get("last_updated").Str())
		return
	}
	if s, ok := single[section]; ok {
		// A lone entry: a dynamic warming cluster or secret says so only by
		// having no active resource, so the shape decides as for lists.
		shape := lists[s[0]][s[1]]
		shape.list = s[1]
		d.addPending(pendingList{shape: shape, value: c, lone: true})
		return
	}
	shapes, ok := lists[section]
	if !ok {
		if d.SkippedSections == nil {
			d.SkippedSections = map[string]int{}
		}
		d.SkippedSections[shortType(typ)]++
		return
	}
	_ = c.Fields(func(key []byte, list jsonscan.Value) bool {
		for name, shape := range shapes {
			if jsonscan.KeyIs(key, name) {
				shape.list = name
				d.addPending(pendingList{shape: shape, value: list})
			}
		}
		return true
	})
}

func (d *Dump) addEntry(shape entryShape, e jsonscan.Value) {
	if shape.kind == KindListener && shape.resource == "" {
		d.addDynamicListener(e)
		return
	}
	f := e.Pick("name", "version_info", "last_updated", shape.resource, "error_state")
	es, n := entriesOf(shape, e, f[0].Str(), f[1].Str(), f[2].Str(), f[3], f[4])
	for _, entry := range es[:n] {
		d.add(entry)
	}
}

// entriesOf makes the entries of one item of a list of the given shape
// from its fields: one, or two when it holds a rejected update beside the
// resource in use (es[:n]).
func entriesOf(shape entryShape, e jsonscan.Value, name, version, lastUpdated string, resource, errorState jsonscan.Value) (es [2]Entry, n int) {
	entry := Entry{
		List:        shape.list,
		Kind:        shape.kind,
		State:       shape.state,
		Name:        name,
		Version:     version,
		LastUpdated: lastUpdated,
		Resource:    resource,
		Raw:         e,
	}
	if errorState.Exists() {
		// The resource in use (if any) stays; the rejected update is a row of its own.
		if entry.Resource.Exists() {
			es[n], n = entry, n+1
		}
		entry.State = StateError
		entry.Error = errorState.Get("details").Str()
		entry.Resource = errorState.Get("failed_configuration")
		entry.LastUpdated = errorState.Get("last_update_attempt").Str()
		if v := errorState.Get("version_info").Str(); v != "" {
			entry.Version = v
		}
	}
	if entry.Name == "" && entry.Resource.Exists() {
		// A ClusterLoadAssignment has no name, only its cluster_name (its
		// first field): asking for "name" would scan all of its endpoints.
		key := "name"
		if shape.kind == KindEndpoints {
			key = "cluster_name"
		}
		entry.Name = entry.Resource.Get(key).Str()
	}
	es[n] = entry
	return es, n + 1
}

// addSection indexes a config section that lacks its @type, by the names of its lists.
func (d *Dump) addSection(c jsonscan.Value) {
	_ = c.Fields(func(key []byte, list jsonscan.Value) bool {
		for _, shapes := range lists {
			for name, shape := range shapes {
				if jsonscan.KeyIs(key, name) {
					shape.list = name
					d.addPending(pendingList{shape: shape, value: list})
				}
			}
		}
		return true
	})
}

// addDynamicListener splits a ListenersConfigDump.DynamicListener into one
// entry per state it reports: a listener can be active and warming at once.
func (d *Dump) addDynamicListener(e jsonscan.Value) {
	f := e.Pick("name", "active_state", "warming_state", "draining_state", "error_state")
	name := f[0].Str()
	for i, state := range []State{StateActive, StateWarming, StateDraining} {
		s := f[i+1]
		if !s.Exists() {
			continue
		}
		sf := s.Pick("version_info", "last_updated", "listener")
		d.add(Entry{Kind: KindListener, State: state, Name: name, List: "dynamic_listeners",
			Version: sf[0].Str(), LastUpdated: sf[1].Str(), Resource: sf[2], Raw: e})
	}
	if es := f[4]; es.Exists() {
		d.add(Entry{Kind: KindListener, State: StateError, Name: name, List: "dynamic_listeners",
			Version: es.Get("version_info").Str(), LastUpdated: es.Get("last_update_attempt").Str(),
			Error: es.Get("details").Str(), Resource: es.Get("failed_configuration"), Raw: e})
	}
}

// addBootstrap indexes a bootstrap, and the listeners and clusters it
// defines statically when the input is a bootstrap file rather than a dump
// (a dump lists those again in its listener and cluster sections).
func (d *Dump) addBootstrap(b jsonscan.Value, state State, lastUpdated string) {
	d.add(Entry{Kind: KindBootstrap, State: state, LastUpdated: lastUpdated, Resource: b, Raw: b})
}

// addBootstrapStatics adds the static_resources of the bootstrap as entries,
// for inputs that are a bootstrap file and nothing else.
func (d *Dump) addBootstrapStatics() {
	bs := d.entries[KindBootstrap]
	if len(bs) != 1 || len(d.entries) != 1 || len(d.pending) != 0 {
		return
	}
	sr := bs[0].Resource.Get("static_resources")
	for _, l := range []struct {
		key  string
		kind Kind
	}{{"listeners", KindListener}, {"clusters", KindCluster}, {"secrets", KindSecret}} {
		_ = sr.Get(l.key).Items(func(_ int, r jsonscan.Value) bool {
			d.add(Entry{Kind: l.kind, State: StateStatic, Name: r.Get("name").Str(), Resource: r, Raw: r, List: l.kind.StaticList(), Bare: true})
			return true
		})
	}
}

// Mask returns the field mask for /config_dump?mask= that asks Envoy for
// the lists holding entries of one kind, or "" when the kind needs more
// than one dump type (or the whole dump). Envoy returns only the top-level
// dumps for which every path of the mask is a field, so a mask names the
// v3 fields of one dump type; an Envoy too old to know them answers 400,
// and the caller falls back to the whole dump.
func Mask(k Kind) string {
	return masks[k]
}

var masks = map[Kind]string{
	KindBootstrap:   "bootstrap,last_updated",
	KindListener:    "static_listeners,dynamic_listeners",
	KindRouteConfig: "static_route_configs,dynamic_route_configs",
	KindCluster:     "static_clusters,dynamic_active_clusters,dynamic_warming_clusters",
	KindSecret:      "static_secrets,dynamic_active_secrets,dynamic_warming_secrets",
	KindECDS:        "ecds_filters",
}
