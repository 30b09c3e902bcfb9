package envoyadmin

import "github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"

// Kind is the kind of xDS resource an entry of a dump holds.
type Kind uint8

const (
	KindBootstrap Kind = iota + 1
	KindListener
	KindRouteConfig
	KindScopedRoute
	KindCluster
	KindEndpoints // a ClusterLoadAssignment (EDS)
	KindSecret
	KindECDS
	KindClusterStatus // an entry of /clusters?format=json
)

var kindNames = map[Kind]string{
	KindBootstrap: "bootstrap", KindListener: "listeners", KindRouteConfig: "routes",
	KindScopedRoute: "scoped routes", KindCluster: "clusters", KindEndpoints: "endpoints",
	KindSecret: "secrets", KindECDS: "ecds", KindClusterStatus: "endpoint health (/clusters)",
}

func (k Kind) String() string { return kindNames[k] }

// State is where Envoy holds a resource: its lifecycle in the admin dump.
type State string

const (
	StateStatic   State = "STATIC"   // from the bootstrap
	StateActive   State = "ACTIVE"   // in use
	StateWarming  State = "WARMING"  // received, waiting for its dependencies (e.g. EDS, SDS)
	StateDraining State = "DRAINING" // replaced, finishing connections
	StateError    State = "ERROR"    // the last update was rejected; Resource is the rejected config
)

// Entry is one resource as the admin dump holds it, with its bookkeeping.
// Resource and Raw point into the dump's bytes; nothing is decoded yet.
type Entry struct {
	Kind        Kind
	State       State
	Name        string // the name the dump gives the entry, when it gives one
	Version     string
	LastUpdated string
	// Error is the reason Envoy gave for rejecting an update (State ERROR).
	Error string
	// Resource is the xDS resource (a Listener, Cluster, ...), may be absent.
	Resource jsonscan.Value
	// Raw is the whole entry as dumped, for -o json/yaml.
	Raw jsonscan.Value
	// List is the list of the admin dump the entry came from
	// ("dynamic_active_clusters"); Bare is true when Raw is a resource
	// given on its own, outside any dump entry.
	List string
	Bare bool
}

// Section is the admin dump message that holds entries of kind k.
func (k Kind) Section() string {
	return sectionNames[k]
}

var sectionNames = map[Kind]string{
	KindBootstrap: "BootstrapConfigDump", KindListener: "ListenersConfigDump", KindRouteConfig: "RoutesConfigDump",
	KindScopedRoute: "ScopedRoutesConfigDump", KindCluster: "ClustersConfigDump", KindEndpoints: "EndpointsConfigDump",
	KindSecret: "SecretsConfigDump", KindECDS: "EcdsConfigDump",
}

// ResourceKey is the key under which an entry of kind k holds its resource.
func (k Kind) ResourceKey() string {
	return resourceKeys[k]
}

var resourceKeys = map[Kind]string{
	KindListener: "listener", KindRouteConfig: "route_config", KindScopedRoute: "scoped_route_configs",
	KindCluster: "cluster", KindEndpoints: "endpoint_config", KindSecret: "secret", KindECDS: "ecds_filter",
}

// StaticList is the list a bare resource of kind k is written into.
func (k Kind) StaticList() string {
	return staticLists[k]
}

var staticLists = map[Kind]string{
	KindListener: "static_listeners", KindRouteConfig: "static_route_configs", KindScopedRoute: "inline_scoped_route_configs",
	KindCluster: "static_clusters", KindEndpoints: "static_endpoint_configs", KindSecret: "static_secrets", KindECDS: "ecds_filters",
}
