// Package envoyadmin talks to an Envoy admin endpoint and reads what it
// returns: /config_dump (with or without EDS, whole or one resource type),
// /clusters?format=json, and the same data saved to files by Envoy, istioctl,
// egctl or this tool, in JSON or YAML, current or legacy (v2alpha) shape.
//
// Loading only finds where things are: it checks the structure of the input
// once and indexes its entries. Decoding the resources is left to the model
// (package xds), and only for the kinds a command shows.
package envoyadmin

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
)

// ErrNotDump is wrapped by every error that means "this input is not
// something we can read": the caller reports bad input (exit status 2).
var ErrNotDump = errors.New("not an Envoy config dump")

type inputError struct{ msg string }

func (e *inputError) Error() string { return e.msg }
func (e *inputError) Unwrap() error { return ErrNotDump }

func notDump(format string, args ...any) error {
	return &inputError{msg: fmt.Sprintf(format, args...)}
}

// Dump is one proxy's state as read from a dump: its entries by kind, the
// bootstrap, and what was not understood.
type Dump struct {
	// Name is the proxy the dump belongs to when the input names it (egctl
	// and snapshot bundles hold several), else "".
	Name string
	// pending are the lists found while loading, expanded into entries the
	// first time their kind is asked for: a command showing listeners never
	// walks the clusters.
	pending map[Kind][]pendingList
	entries map[Kind][]Entry
	// early is a reading of the endpoints done while loading (an
	// *earlyRead), for ReadEntries.
	early any
	// evict lets go of resident bytes of the input, when it is a mapped file.
	evict func(from, to int)
	// SkippedSections counts config sections of types this tool does not read, by type URL.
	SkippedSections map[string]int
	// IgnoredKeys are keys beside the Envoy config of a producer's output
	// that hold something else (kgateway's Statuses, Kuma's diff): read
	// past, and said.
	IgnoredKeys []string
}

// minEntryBytes is about the size of a listener or cluster entry, to
// size the entry slices (a cluster or listener is several kilobytes).
const minEntryBytes = 4096

// sampleEntries is how many entries of a list are walked before the room
// for the rest is made, at their average size: entries run from a few
// hundred bytes (an endpoint assignment) to tens of kilobytes (a listener),
// and growing the slice as it fills copies all of it several times over.
const sampleEntries = 64

// evictEvery is how many entries are indexed before their bytes are let go.
const evictEvery = 256

// pendingList is a list of entries (or one lone entry) not yet expanded.
type pendingList struct {
	shape entryShape
	value jsonscan.Value
	lone  bool
}

// Entries returns the entries of one kind, in the order of the dump.
func (d *Dump) Entries(k Kind) []Entry {
	return d.walkEntries(k, 0, 0, nil)
}

// EntriesInBatches is Entries telling batch of the entries as it finds
// them, in dump order, a batch at a time: size entries, or fewer when they
// span bytes bytes of the dump or more (0: no bound), and the last batch
// what is left. A caller that decodes each batch at once, on this
// goroutine or others, reads the entries while their pages are resident
// and the walk's cache of container ends still holds them, instead of
// walking the whole list before decoding any; the bound on bytes splits a
// list of a few large entries (a gateway's route configurations) so that
// several cores share it. The pages are not let go here: the caller's Done
// does, as it finishes each batch. The batches are not to be appended to.
func (d *Dump) EntriesInBatches(k Kind, size, bytes int, batch func([]Entry)) []Entry {
	return d.walkEntries(k, max(size, 1), bytes, batch)
}

func (d *Dump) walkEntries(k Kind, size, bytes int, batch func([]Entry)) []Entry {
	sent := 0 // entries told of
	flush := func(all bool) {
		es := d.entries[k]
		for sent < len(es) {
			if !all && len(es)-sent < size && (bytes <= 0 || es[len(es)-1].Raw.End()-es[sent].Raw.Offset() < bytes) {
				return // the next batch is not full yet
			}
			end, full := sent, false
			for end < len(es) && !full {
				end++
				full = end-sent == size || bytes > 0 && es[end-1].Raw.End()-es[sent].Raw.Offset() >= bytes
			}
			if !full && !all {
				return
			}
			batch(es[sent:end:end])
			sent = end
		}
	}
	if batch != nil {
		flush(true) // those indexed before
	}
	if ps, ok := d.pending[k]; ok {
		delete(d.pending, k)
		if d.entries == nil {
			d.entries = map[Kind][]Entry{}
		}
		// Room for the entries up front: they are large, and a 100 MB dump has tens of thousands.
		total := 0
		for _, p := range ps {
			total += p.value.End() - p.value.Offset()
		}
		d.entries[k] = slices.Grow(d.entries[k], total/minEntryBytes+1)
		for _, p := range ps {
			total -= p.value.End() - p.value.Offset() // now the bytes of the lists after p
			if p.lone {
				d.addEntry(p.shape, p.value)
				continue
			}
			from := p.value.Offset()
			_ = p.value.Items(func(i int, e jsonscan.Value) bool {
				d.addEntry(p.shape, e)
				if i == sampleEntries-1 {
					per := (e.End() - p.value.Offset()) / sampleEntries
					rest := (p.value.End() - e.End() + total) / max(per, 1)
					d.entries[k] = slices.Grow(d.entries[k], rest+rest/16+1)
				}
				switch {
				case batch != nil:
					flush(false)
				case d.evict != nil && i%evictEvery == evictEvery-1:
					d.evict(from, e.Offset())
					from = e.Offset()
				}
				return true
			})
		}
		if batch != nil {
			flush(true)
		}
	}
	return d.entries[k]
}

// Done says the entries from first to last (in dump order) have been
// decoded: the memory holding their bytes may be let go. Reading them again
// (for -o json) brings them back from the file.
func (d *Dump) Done(first, last Entry) {
	if d.evict != nil && first.Raw.Present() && last.Raw.Present() {
		d.evict(first.Raw.Offset(), last.Raw.End())
	}
}

// Has reports whether the dump has anything of kind k.
func (d *Dump) Has(k Kind) bool {
	for _, p := range d.pending[k] {
		if p.lone || !p.value.Empty() {
			return true
		}
	}
	return len(d.entries[k]) > 0
}

// Kinds lists the kinds present, for messages such as "the dump has only routes".
func (d *Dump) Kinds() []Kind {
	var ks []Kind
	for k := KindBootstrap; k <= KindClusterStatus; k++ {
		if d.Has(k) {
			ks = append(ks, k)
		}
	}
	return ks
}

// Merge adds to d the kinds it lacks from other: a live proxy's
// /clusters?format=json beside its config dump. Eviction is turned off: the
// two dumps' bytes are not one file.
func (d *Dump) Merge(other *Dump) {
	for _, k := range other.Kinds() {
		if d.Has(k) {
			continue
		}
		for _, p := range other.pending[k] {
			d.addPending(p)
		}
		for _, e := range other.entries[k] {
			d.add(e)
		}
	}
	d.evict = nil
}

func (d *Dump) add(e Entry) {
	if d.entries == nil {
		d.entries = map[Kind][]Entry{}
	}
	d.entries[e.Kind] = append(d.entries[e.Kind], e)
}

func (d *Dump) addPending(p pendingList) {
	if d.pending == nil {
		d.pending = map[Kind][]pendingList{}
	}
	d.pending[p.shape.kind] = append(d.pending[p.shape.kind], p)
}

// Load reads a dump from data. It accepts JSON and YAML; a document that
// wraps dumps of several proxies (egctl output, a snapshot index) yields one
// Dump per proxy, named. Errors wrap ErrNotDump.
func Load(data []byte) ([]*Dump, error) { return LoadInput(&Input{Data: data}) }

// LoadInput is Load on a file's input: while the structure is checked, the
// pages already scanned are evicted, so a large mapped dump is never
// resident all at once.
func LoadInput(in *Input) ([]*Dump, error) {
	data := in.Data
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	start := jsonscan.SkipSpace(data, 0)
	if start == len(data) {
		return nil, notDump("the input is empty")
	}
	if c := data[start]; c != '{' && c != '[' {
		if looksBinary(data) {
			return nil, notDump("the input is binary, not a JSON or YAML config dump")
		}
		if h := tableHeader(data[start:]); h != "" {
			return nil, notDump("the input is a text table (%s), what istioctl or kubectl mesh print, not a dump: save one with kubectl mesh config POD -o json (or istioctl proxy-config all POD -o json)", h)
		}
		js, err := yaml.YAMLToJSON(data)
		if err != nil {
			return nil, notDump("the input is neither JSON nor YAML: %v", firstLine(err.Error()))
		}
		data = js
	}
	var pages *jsonscan.Pages
	if in.Evict != nil && &data[0] == &in.Data[0] {
		// Keep the file resident only around the scans: map the stretch
		// each reads next in one go, let go of what it has passed.
		in.Prefetch(0, 4<<20)
		pages = &jsonscan.Pages{Passed: (&passed{evict: in.Evict}).add, Ahead: in.Prefetch, Peek: in.Peek}
	}
	var hole *jsonscan.Hole
	if in.Early != nil {
		var evict func(from, to int)
		var peek func(dst []byte, from, to int) []byte
		if pages != nil {
			evict, peek = pages.Passed, pages.Peek
		}
		hole = in.Early.hole(data, evict, peek)
	}
	root, err := jsonscan.ParseWith(data, pages, hole)
	if err != nil {
		if errors.Is(err, jsonscan.ErrUnexpectedEnd) {
			return nil, notDump("the input ends in the middle of a JSON value at byte %d: is the file truncated?", len(data))
		}
		return nil, notDump("the input is not valid JSON: %v", err)
	}
	dumps, err := loadValue(root, "", 0)
	for _, d := range dumps {
		if pages != nil {
			d.evict = pages.Passed
		}
		if in.Early != nil {
			in.Early.attach(d)
		}
	}
	return dumps, err
}

// tableHeader is the first line of a kubectl-style table (upper-case
// column names two or more spaces apart), or "".
func tableHeader(data []byte) string {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	line = bytes.TrimRight(line, "\r ")
	cols := 0
	for _, f := range bytes.Split(line, []byte("  ")) {
		f = bytes.TrimSpace(f)
		if len(f) == 0 {
			continue
		}
		if !bytes.Equal(f, bytes.ToUpper(f)) || bytes.ContainsAny(f, ":{}[]\"'") {
			return ""
		}
		cols++
	}
	if cols < 2 {
		return ""
	}
	if len(line) > 60 {
		return string(line[:60]) + "..."
	}
	return string(line)
}

func looksBinary(data []byte) bool {
	head := data
	if len(head) > 4096 {
		head = head[:4096]
	}
	return bytes.IndexByte(head, 0) >= 0 || !utf8.Valid(bytes.TrimRight(head, "\x80\xbf"))
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// maxWrapDepth bounds how deep wrappers ({"xds": {"ns/name": dump}}) are followed.
const maxWrapDepth = 3

func loadValue(v jsonscan.Value, name string, depth int) ([]*Dump, error) {
	switch v.Kind() {
	case jsonscan.Array:
		d, err := loadList(v)
		if err != nil {
			return nil, err
		}
		d.Name = name
		return []*Dump{d}, nil
	case jsonscan.Object:
	default:
		return nil, notDump("the input is a JSON %s, not a config dump object", kindWord(v))
	}

	var keys []string
	_ = v.Fields(func(k []byte, _ jsonscan.Value) bool {
		keys = append(keys, string(k))
		return len(keys) < 64
	})
	has := func(name string) bool {
		for _, k := range keys {
			if jsonscan.KeyIs([]byte(k), name) {
				return true
			}
		}
		return false
	}
	d := &Dump{Name: name}
	switch {
	case has("configs") && v.Get("configs").Kind() == jsonscan.Object:
		// Envoy before 1.8: configs is a map from kind to its section.
		_ = v.Get("configs").Fields(func(_ []byte, c jsonscan.Value) bool {
			if c.Kind() == jsonscan.Object {
				d.addConfig(c)
			}
			return true
		})
		return []*Dump{d}, nil
	case has("configs"):
		cfgs := v.Get("configs")
		if cfgs.Kind() != jsonscan.Array {
			return nil, notDump(`"configs" is not a list: not an Envoy /config_dump`)
		}
		if err := cfgs.Items(func(_ int, c jsonscan.Value) bool { d.addConfig(c); return true }); err != nil {
			return nil, notDump("reading configs: %v", err)
		}
		return []*Dump{d}, nil
	case has("cluster_statuses"):
		_ = v.Get("cluster_statuses").Items(func(_ int, c jsonscan.Value) bool {
			d.add(Entry{Kind: KindClusterStatus, State: StateActive, Name: c.Get("name").Str(), Resource: c, Raw: c, List: "cluster_statuses"})
			return true
		})
		return []*Dump{d}, nil
	case has("@type"):
		typ := v.Get("@type").Str()
		if sectionOf(typ) != "" {
			d.addConfig(v)
			return []*Dump{d}, nil
		}
		if k, ok := resourceKind(typ); ok {
			d.add(resourceEntry(k, v))
			return []*Dump{d}, nil
		}
		return nil, notDump("the input is a single %s, not an Envoy config dump", shortType(typ))
	case has("static_resources") || has("dynamic_resources") || (has("node") && has("admin")):
		// An Envoy bootstrap file (what istio-agent writes to envoy-rev.json).
		d.addBootstrap(v, StateStatic, "")
		d.addBootstrapStatics()
		return []*Dump{d}, nil
	case len(keys) == 1 && has("bootstrap"):
		// istioctl proxy-config bootstrap -o json
		d.addBootstrap(v.Get("bootstrap"), StateStatic, "")
		return []*Dump{d}, nil
	case has("ecds_filters") || has("dynamic_listeners") || has("dynamic_active_clusters") || has("static_clusters") ||
		has("dynamic_route_configs") || has("static_route_configs") || has("dynamic_active_secrets") || has("dynamic_endpoint_configs"):
		// A config section without its @type (istioctl proxy-config ecds -o json, hand-trimmed dumps).
		d.addSection(v)
		return []*Dump{d}, nil
	case has("workloads") && has("services"):
		return nil, notDump("the input is a ztunnel config dump, not an Envoy one: read it with kubectl mesh ztunnel workloads|services|policies|certificates|connections -f FILE")
	case has("kind") && has("apiVersion"):
		return nil, notDump("the input is a Kubernetes manifest (%s %s), not an Envoy dump", v.Get("kind").Str(), v.Get("metadata", "name").Str())
	case has("resources") && v.Get("resources").Kind() == jsonscan.Array:
		// An xDS DiscoveryResponse ({version_info, resources, type_url}) or a
		// generator's resource set ({resources: [{name, resource}]}).
		rd, err := loadList(v.Get("resources"))
		if err != nil {
			return nil, err
		}
		rd.Name = name
		return []*Dump{rd}, nil
	case byKind(v, keys):
		// A control plane's resources by kind: {listeners: [...], clusters: [...]}
		// (Envoy Gateway's and kgateway's translator outputs, Emissary's), or
		// Kuma's inspect output {TYPE_URL: {NAME: resource}} under "xds".
		// Keys beside the kinds (kgateway's Statuses) are read past, and said.
		if err := d.addByKind(v); err != nil {
			return nil, err
		}
		return []*Dump{d}, nil
	case has("virtual_hosts"):
		d.add(resourceEntry(KindRouteConfig, v))
		return []*Dump{d}, nil
	case has("filter_chains") || (has("address") && has("name") && !has("cluster_name")):
		d.add(resourceEntry(KindListener, v))
		return []*Dump{d}, nil
	case has("cluster_name") && has("endpoints"):
		d.add(resourceEntry(KindEndpoints, v))
		return []*Dump{d}, nil
	}

	// A wrapper: {"xds": {...}}, {"default": {"eg": dump}}, a snapshot index.
	if depth < maxWrapDepth {
		if inner := v.Get("xds"); inner.Kind() == jsonscan.Object {
			// Kuma's inspect output: {"xds": ..., "diff": [...]}.
			ds, err := loadValue(inner, name, depth+1)
			if err == nil && len(ds) == 1 {
				for _, k := range keys {
					if !jsonscan.KeyIs([]byte(k), "xds") {
						ds[0].IgnoredKeys = append(ds[0].IgnoredKeys, k)
					}
				}
			}
			return ds, err
		}
		var dumps []*Dump
		var firstErr error
		_ = v.Fields(func(k []byte, val jsonscan.Value) bool {
			if val.Kind() != jsonscan.Object && val.Kind() != jsonscan.Array {
				return true
			}
			sub := string(k)
			if name != "" {
				sub = name + "/" + sub
			}
			ds, err := loadValue(val, sub, depth+1)
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return true
			}
			dumps = append(dumps, ds...)
			return true
		})
		if len(dumps) > 0 {
			return dumps, nil
		}
	}
	return nil, notDump("the input is not an Envoy config dump (top-level keys: %s): it holds no Envoy config; a dump has \"configs\" (/config_dump) or \"cluster_statuses\" (/clusters?format=json), or is a list of resources", keyList(keys))
}

// kindKeys name the kinds of resource collections, in any case.
var kindKeys = map[string]Kind{
	"listeners": KindListener, "clusters": KindCluster, "routes": KindRouteConfig, "route_configs": KindRouteConfig,
	"routeconfigurations": KindRouteConfig, "route_configurations": KindRouteConfig, "endpoints": KindEndpoints,
	"cluster_load_assignments": KindEndpoints, "secrets": KindSecret,
}

// collectionKind is the kind a key of a resource collection names: a kind
// word, or the type URL of a resource.
func collectionKind(key string) (Kind, bool) {
	if k, ok := resourceKind(key); ok && strings.Contains(key, ".") {
		return k, true
	}
	for w, k := range kindKeys {
		if jsonscan.KeyIs([]byte(key), w) {
			return k, true
		}
	}
	return 0, false
}

// byKind tells an object keyed by kind of resource: at least one key names
// a kind and holds a list or an object of resources; the other keys hold
// no Envoy resource of their own (kgateway writes its Gateway API statuses
// beside the kinds). An object whose other keys hold proxies' dumps is a
// wrapper, not one proxy's resources.
func byKind(v jsonscan.Value, keys []string) bool {
	kinds := 0
	for _, k := range keys {
		if _, ok := collectionKind(k); ok {
			kinds++
			continue
		}
		if holdsEnvoyConfig(v.Get(k)) {
			return false
		}
	}
	return kinds > 0
}

// holdsEnvoyConfig tells a value that is itself Envoy config: a dump, a
// bootstrap, or resources by kind.
func holdsEnvoyConfig(v jsonscan.Value) bool {
	if v.Kind() != jsonscan.Object {
		return false
	}
	found := false
	_ = v.Fields(func(k []byte, _ jsonscan.Value) bool {
		key := string(k)
		if _, ok := collectionKind(key); ok {
			found = true
		}
		for _, w := range []string{"configs", "cluster_statuses", "static_resources", "dynamic_resources", "xds", "resources"} {
			if jsonscan.KeyIs(k, w) {
				found = true
			}
		}
		return !found
	})
	return found
}

// addByKind reads the resources of an object keyed by kind: each value a
// list of resources, or an object of resources by name (Kuma's).
func (d *Dump) addByKind(v jsonscan.Value) error {
	var err error
	_ = v.Fields(func(key []byte, val jsonscan.Value) bool {
		k, ok := collectionKind(string(key))
		if !ok {
			d.IgnoredKeys = append(d.IgnoredKeys, string(key))
			return true
		}
		add := func(item jsonscan.Value) {
			if item.Kind() == jsonscan.Object {
				d.add(resourceEntry(k, item))
			}
		}
		switch val.Kind() {
		case jsonscan.Array:
			_ = val.Items(func(_ int, item jsonscan.Value) bool { add(item); return true })
		case jsonscan.Object:
			_ = val.Fields(func(_ []byte, item jsonscan.Value) bool { add(item); return true })
		case jsonscan.Null:
		default:
			err = notDump("%q holds a JSON %s, not a list of resources", key, kindWord(val))
		}
		return err == nil
	})
	return err
}

func kindWord(v jsonscan.Value) string {
	switch v.Kind() {
	case jsonscan.String:
		return "string"
	case jsonscan.Number:
		return "number"
	case jsonscan.Bool:
		return "boolean"
	case jsonscan.Null:
		return "null"
	}
	return "value"
}

func keyList(keys []string) string {
	if len(keys) == 0 {
		return "none"
	}
	if len(keys) > 6 {
		return strings.Join(keys[:6], ", ") + ", ..."
	}
	return strings.Join(keys, ", ")
}

// routeConfigLike tells a RouteConfiguration without virtual hosts by the
// fields only route configurations have.
func routeConfigLike(v jsonscan.Value) bool {
	for _, x := range v.Pick("validate_clusters", "vhds", "internal_only_headers", "most_specific_header_mutations_wins",
		"ignore_port_in_host_matching", "request_headers_to_remove", "max_direct_response_body_size_bytes", "cluster_specifier_plugins") {
		if x.Present() {
			return true
		}
	}
	return false
}

// secretLike tells a bare Secret (SDS resource) by its secret fields.
func secretLike(v jsonscan.Value) bool {
	for _, x := range v.Pick("tls_certificate", "validation_context", "generic_secret", "session_ticket_keys") {
		if x.Present() {
			return true
		}
	}
	return false
}

// looksLikeCluster tells a bare Cluster by fields only clusters have.
func looksLikeCluster(v jsonscan.Value) bool {
	f := v.Pick("connect_timeout", "eds_cluster_config", "lb_policy", "type", "cluster_type", "load_assignment",
		"transport_socket", "transport_socket_matches", "circuit_breakers")
	for _, x := range f {
		if x.Present() {
			return true
		}
	}
	return false
}

// loadList reads a list of resources (istioctl -o json output, Envoy
// Gateway's translator output) or of istiod debug records.
func loadList(v jsonscan.Value) (*Dump, error) {
	d := &Dump{}
	var err error
	_ = v.Items(func(i int, item jsonscan.Value) bool {
		if item.Kind() != jsonscan.Object {
			err = notDump("the input is a list of %ss, not of Envoy resources", kindWord(item))
			return false
		}
		// A generator's resource set: {name, resource: {...}}.
		if r := item.Get("resource"); r.Kind() == jsonscan.Object && (r.Get("@type").Exists() || item.Get("name").Exists()) {
			item = r
		}
		if typ := item.Get("@type").Str(); typ != "" {
			if k, ok := resourceKind(typ); ok {
				d.add(resourceEntry(k, item))
				return true
			}
			if sectionOf(typ) != "" {
				d.addConfig(item)
				return true
			}
		}
		switch {
		case item.Get("virtual_hosts").Exists() || routeConfigLike(item):
			d.add(resourceEntry(KindRouteConfig, item))
		case secretLike(item):
			d.add(resourceEntry(KindSecret, item))
		case item.Get("filter_chains").Exists() || item.Get("address").Exists() && !item.Get("cluster_name").Exists():
			d.add(resourceEntry(KindListener, item))
		case item.Get("cluster_name").Exists():
			d.add(resourceEntry(KindEndpoints, item))
		case looksLikeCluster(item):
			d.add(resourceEntry(KindCluster, item))
		case item.Get("proxy").Present() && item.Get("cluster_sent").Present():
			err = notDump("the input is istiod /debug/syncz output, not an Envoy dump (see kubectl mesh status)")
		case item.Get("hostname").Present() && item.Get("ports").Present():
			err = notDump("the input is istiod /debug/registryz output, not an Envoy dump (see kubectl mesh pilot registry)")
		case item.Get("kind").Present() && item.Get("apiVersion").Present():
			err = notDump("the input is a list of Kubernetes/Istio objects (istiod /debug/configz?), not an Envoy dump")
		case item.Get("svc").Present() && item.Get("ep").Present():
			err = notDump("the input is istiod /debug/endpointz output, not an Envoy dump")
		default:
			err = notDump("item %d of the list is not an Envoy resource (no @type, and not shaped like a listener, route, cluster or endpoint)", i)
		}
		return err == nil
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}
