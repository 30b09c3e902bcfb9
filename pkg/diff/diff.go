// Package diff compares two proxies' config semantically: resources are
// matched by name, lists whose order Envoy ignores are compared as sets
// (elements matched by their name, or by their whole value), lists whose
// order matters (routes, filters) in order; each resource is reported
// added, removed or changed with the field paths that changed.
package diff

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// Kinds are the kinds compared, by the names --kind takes.
var Kinds = map[string]envoyadmin.Kind{
	"listeners": envoyadmin.KindListener,
	"routes":    envoyadmin.KindRouteConfig,
	"clusters":  envoyadmin.KindCluster,
	"endpoints": envoyadmin.KindEndpoints,
	"secrets":   envoyadmin.KindSecret,
	"bootstrap": envoyadmin.KindBootstrap,
}

// KindOrder is the order kinds are reported in.
var KindOrder = []string{"clusters", "listeners", "routes", "endpoints", "secrets", "bootstrap"}

// Change is one resource that differs.
type Change struct {
	Kind   string   `json:"kind"`
	Name   string   `json:"name"`
	Change string   `json:"change"` // added, removed or changed: from the left side to the right
	Paths  []string `json:"paths,omitempty"`
}

// Options say what to compare.
type Options struct {
	// Kinds limits the comparison (names from Kinds); empty: all that
	// either side has.
	Kinds []string
	// AllFields compares the bookkeeping that always differs between two
	// proxies or two fetches too: versions, update times.
	AllFields bool
	// LeftIsIntent says the left side is istiod's view of the proxy (what
	// it sends): only what istiod sends is compared, the dynamic resources,
	// as istioctl does; static resources and the bootstrap come from the
	// proxy's own bootstrap and are compared only with Static.
	LeftIsIntent bool
	// Static compares static resources and the bootstrap too.
	Static bool
	// Done, when set, is called after each kind is compared: the sides'
	// pages it read may be handed back (a mapped file's Evict).
	Done func()
}

// Result is the comparison of two dumps.
type Result struct {
	Changes []Change `json:"changes"`
	// Compared are the kinds compared, with how many resources each side has.
	Compared map[string][2]int `json:"compared"`
	// OneSided are kinds only one side's dump has ("left" or "right"): a
	// dump taken without them, not a difference (unless --kind asks).
	OneSided map[string]string `json:"one_sided,omitempty"`
}

// FromIstiod tells whether a dump looks like istiod's view of a proxy
// (its /debug/config_dump): no bootstrap and no static resources, only what
// istiod sends.
func FromIstiod(d *envoyadmin.Dump) bool {
	if d.Has(envoyadmin.KindBootstrap) {
		return false
	}
	for _, k := range []envoyadmin.Kind{envoyadmin.KindListener, envoyadmin.KindCluster, envoyadmin.KindRouteConfig, envoyadmin.KindSecret} {
		for _, e := range d.Entries(k) {
			if e.State == envoyadmin.StateStatic {
				return false
			}
		}
	}
	return true
}

// Equal tells whether nothing differs.
func (r *Result) Equal() bool { return len(r.Changes) == 0 }

// Compare compares left (e.g. what istiod intends) with right (what the
// proxy holds).
func Compare(left, right *envoyadmin.Dump, opts Options) *Result {
	res := &Result{Changes: []Change{}, Compared: map[string][2]int{}, OneSided: map[string]string{}}
	kinds := opts.Kinds
	if len(kinds) == 0 {
		for _, k := range KindOrder {
			if k == "bootstrap" && !opts.Static {
				continue
			}
			l, r := left.Has(Kinds[k]), right.Has(Kinds[k])
			switch {
			case l && r:
				kinds = append(kinds, k)
			case l:
				res.OneSided[k] = "left"
			case r:
				res.OneSided[k] = "right"
			}
		}
	}
	for _, k := range kinds {
		l, r := resources(left, Kinds[k], opts), resources(right, Kinds[k], opts)
		res.Compared[k] = [2]int{len(l), len(r)}
		for _, n := range unionKeys(l, r) {
			a, inL := l[n]
			b, inR := r[n]
			switch {
			case !inL:
				res.Changes = append(res.Changes, Change{Kind: k, Name: n, Change: "added"})
			case !inR:
				res.Changes = append(res.Changes, Change{Kind: k, Name: n, Change: "removed"})
			case a.same(b):
				// The same bytes decode to the same resource: nothing to
				// decode (most resources of two proxies' dumps).
			default:
				var paths []string
				compare(a.value(opts), b.value(opts), "", "", &paths)
				if len(paths) > 0 {
					res.Changes = append(res.Changes, Change{Kind: k, Name: n, Change: "changed", Paths: paths})
				}
			}
		}
		if opts.Done != nil {
			opts.Done()
		}
	}
	return res
}

// resource is one resource to compare: its JSON as the dump holds it,
// decoded only when its counterpart's bytes differ.
type resource struct {
	raw []byte
	// decoded, when set, is the resource already in its compared form
	// (secrets: their certificates' facts).
	decoded              any
	version, lastUpdated string
}

// same tells whether two resources are byte for byte the same, in which
// case they are equal however they decode.
func (r resource) same(o resource) bool {
	return r.decoded == nil && o.decoded == nil && r.version == o.version && r.lastUpdated == o.lastUpdated && bytes.Equal(r.raw, o.raw)
}

// value is the resource in its compared form: decoded, normalized.
func (r resource) value(opts Options) any {
	if r.decoded != nil {
		return r.decoded
	}
	var out any
	dec := json.NewDecoder(bytes.NewReader(r.raw))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		out = string(r.raw)
	}
	v := normalize(out, opts.AllFields)
	if opts.AllFields {
		v = map[string]any{"resource": v, "version_info": r.version, "last_updated": r.lastUpdated}
	}
	return v
}

// ignored are fields that differ between any two fetches or proxies.
var ignored = map[string]bool{"version_info": true, "last_updated": true, "last_update_attempt": true}

// resources reads the kind's resources in effect (active or static) by
// name; value normalizes one: snake_case keys, bookkeeping dropped.
func resources(d *envoyadmin.Dump, k envoyadmin.Kind, opts Options) map[string]resource {
	out := map[string]resource{}
	if k == envoyadmin.KindSecret {
		// Secrets by their certificates' facts, never key material.
		for _, s := range xds.New(d).Secrets() {
			if s.State == envoyadmin.StateWarming || s.State == envoyadmin.StateError {
				continue
			}
			out[s.Name] = resource{decoded: map[string]any{"type": s.Type, "serial": s.Serial, "not_after": s.NotAfter.String(),
				"not_before": s.NotBefore.String(), "identity": strings.Join(s.Identity, ","), "issuer": s.Issuer}}
		}
		return out
	}
	for _, e := range d.Entries(k) {
		if e.State == envoyadmin.StateWarming || e.State == envoyadmin.StateError || e.State == envoyadmin.StateDraining {
			continue
		}
		if e.State == envoyadmin.StateStatic && opts.LeftIsIntent && !opts.Static && k != envoyadmin.KindBootstrap {
			continue
		}
		r := e.Resource
		if !r.Exists() {
			continue
		}
		name := e.Name
		if name == "" {
			name = nameOf(r, k)
		}
		if k == envoyadmin.KindBootstrap {
			name = "bootstrap"
		}
		item := resource{raw: r.Raw()}
		if opts.AllFields {
			item.version, item.lastUpdated = e.Version, e.LastUpdated
		}
		out[name] = item
	}
	return out
}

func nameOf(r jsonscan.Value, k envoyadmin.Kind) string {
	if k == envoyadmin.KindEndpoints {
		return r.Get("cluster_name").Str()
	}
	return r.Get("name").Str()
}

// normalize writes keys in snake_case (camelCase dumps: egctl, istiod's
// protojson), names Envoy v2 types by their v3 names, expands Any values
// written raw ({type_url, value} with the message's bytes, as istiod's
// debug dump does for some) into fields, and drops the bookkeeping fields
// unless all is set. Every field is kept: a type this binary does not link
// (Istio's own filters, Envoy v2 types) is compared by its JSON like any
// other, and one it cannot decode from raw bytes by those bytes.
func normalize(v any, all bool) any {
	switch x := v.(type) {
	case map[string]any:
		if expanded, ok := expandRawAny(x); ok {
			return normalize(expanded, all)
		}
		if x["@type"] == xds.UndecodedTypeURL {
			// A message this tool could not decode, kept as its bytes.
			url, _ := x["type_url"].(string)
			if url == "" {
				url, _ = x["typeUrl"].(string)
			}
			return map[string]any{"@type": V3TypeURL(url), rawBytes: x["value"]}
		}
		out := make(map[string]any, len(x))
		for k, val := range x {
			k = snake(k)
			if !all && ignored[k] {
				continue
			}
			if s, ok := val.(string); ok && (k == "@type" || k == "type_url") {
				val = V3TypeURL(s)
			}
			out[k] = normalize(val, all)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = normalize(val, all)
		}
		return out
	}
	return v
}

// v2Packages are Envoy's v2 proto packages with their v3 successors
// (longest first), after Envoy's own v2 to v3 migration.
var v2Packages = [][2]string{
	{"envoy.api.v2.auth.", "envoy.extensions.transport_sockets.tls.v3."},
	{"envoy.api.v2.core.", "envoy.config.core.v3."},
	{"envoy.api.v2.route.", "envoy.config.route.v3."},
	{"envoy.api.v2.listener.", "envoy.config.listener.v3."},
	{"envoy.api.v2.cluster.", "envoy.config.cluster.v3."},
	{"envoy.api.v2.endpoint.", "envoy.config.endpoint.v3."},
	{"envoy.config.filter.accesslog.v2.", "envoy.config.accesslog.v3."},
	{"envoy.config.accesslog.v2.", "envoy.extensions.access_loggers.file.v3."},
	{"envoy.admin.v2alpha.", "envoy.admin.v3."},
	{"envoy.type.matcher.", "envoy.type.matcher.v3."},
}

// v2Resources are the v2 resource types, renamed whole.
var v2Resources = map[string]string{
	"envoy.api.v2.Cluster":                  "envoy.config.cluster.v3.Cluster",
	"envoy.api.v2.Listener":                 "envoy.config.listener.v3.Listener",
	"envoy.api.v2.RouteConfiguration":       "envoy.config.route.v3.RouteConfiguration",
	"envoy.api.v2.ScopedRouteConfiguration": "envoy.config.route.v3.ScopedRouteConfiguration",
	"envoy.api.v2.ClusterLoadAssignment":    "envoy.config.endpoint.v3.ClusterLoadAssignment",
	"envoy.api.v2.auth.Secret":              "envoy.extensions.transport_sockets.tls.v3.Secret",
}

// V3TypeURL names an Envoy v2 type by its v3 successor, so that a v2 dump
// and a v3 dump of the same config compare by content; other URLs are
// returned as they are.
func V3TypeURL(url string) string {
	prefix, name := "", url
	if i := strings.LastIndexByte(url, '/'); i >= 0 {
		prefix, name = url[:i+1], url[i+1:]
	}
	if v3, ok := v2Resources[name]; ok {
		return prefix + v3
	}
	// envoy.config.filter.network.http_connection_manager.v2.X
	// -> envoy.extensions.filters.network.http_connection_manager.v3.X
	if rest, ok := strings.CutPrefix(name, "envoy.config.filter."); ok {
		if i := strings.Index(rest, ".v2."); i >= 0 {
			return prefix + "envoy.extensions.filters." + rest[:i] + ".v3." + rest[i+len(".v2."):]
		}
	}
	for _, p := range v2Packages {
		if rest, ok := strings.CutPrefix(name, p[0]); ok && !strings.HasPrefix(rest, "v3.") {
			return prefix + p[1] + rest
		}
	}
	return url
}

// snake writes a field name in snake_case. Protobuf's JSON names drop the
// underscore before a digit (proxy_100_continue is proxy100Continue), which
// cannot be told back, so no key keeps an underscore before a digit.
func snake(k string) string {
	return digitUnderscore.Replace(snakeCase(k))
}

var digitUnderscore = strings.NewReplacer("_0", "0", "_1", "1", "_2", "2", "_3", "3", "_4", "4", "_5", "5", "_6", "6", "_7", "7", "_8", "8", "_9", "9")

func snakeCase(k string) string {
	if k == "" || k[0] == '@' || !strings.ContainsAny(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
		return k
	}
	var b strings.Builder
	for i, r := range k {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r + ('a' - 'A'))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ordered are the lists whose order Envoy acts on: routes are tried in
// order, filters run in order, weighted clusters are walked in order.
var ordered = map[string]bool{
	"routes": true, "filters": true, "http_filters": true, "listener_filters": true,
	"transport_socket_matches": true, "alpn_protocols": true, "cipher_suites": true,
	"ecdh_curves": true, "clusters": true, "upgrade_configs": true, "access_log": true,
}

// compare records the paths where a and b differ.
func compare(a, b any, path, key string, paths *[]string) {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			*paths = append(*paths, pathOr(path))
			return
		}
		_, xRaw := x[rawBytes]
		_, yRaw := y[rawBytes]
		if xRaw != yRaw && (emptyBytes(x) && onlyType(y) || emptyBytes(y) && onlyType(x)) {
			return // an empty message: no bytes, no fields
		}
		if xRaw != yRaw {
			*paths = append(*paths, fmt.Sprintf("%s (%v: serialized bytes on one side, fields on the other; this build cannot decode the type, so they are not compared)", pathOr(path), x["@type"]))
			return
		}
		compareKeyed(x, y, func(k string) string { return join(path, k) }, func(k string) string { return k }, paths)
	case []any:
		y, ok := b.([]any)
		if !ok {
			*paths = append(*paths, pathOr(path))
			return
		}
		if ordered[key] {
			n := max(len(x), len(y))
			for i := 0; i < n; i++ {
				p := fmt.Sprintf("%s[%d]", path, i)
				if i >= len(x) || i >= len(y) {
					*paths = append(*paths, p)
					continue
				}
				compare(x[i], y[i], elementPath(path, x[i], i), "", paths)
			}
			return
		}
		compareSet(x, y, path, paths)
	default:
		if canonical(a) != canonical(b) {
			*paths = append(*paths, pathOr(path))
		}
	}
}

// compareKeyed compares two maps entry by entry: an entry on one side only
// is a difference at its path; entries on both are compared (key names the
// field, for the ordered-list rule).
func compareKeyed(x, y map[string]any, pathOf, keyOf func(string) string, paths *[]string) {
	for _, k := range unionKeys(x, y) {
		a, inX := x[k]
		b, inY := y[k]
		if !inX || !inY {
			*paths = append(*paths, pathOf(k))
			continue
		}
		compare(a, b, pathOf(k), keyOf(k), paths)
	}
}

// unionKeys are the keys of either map, sorted.
func unionKeys[V any](a, b map[string]V) []string {
	keys := slices.Collect(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// compareSet compares lists whose order does not matter: elements with a
// name are matched by it; others by their whole value, and those left over
// on both sides are paired, each with the one it differs least from, and
// compared field by field, so that the path names the field that changed.
func compareSet(x, y []any, path string, paths *[]string) {
	type elem struct {
		v     any
		index int
		canon string
	}
	named := func(list []any) (map[string]any, []elem) {
		m := map[string]any{}
		var rest []elem
		for i, e := range list {
			if n := elementName(e); n != "" {
				if _, dup := m[n]; !dup {
					m[n] = e
					continue
				}
			}
			rest = append(rest, elem{e, i, canonical(e)})
		}
		return m, rest
	}
	mx, rx := named(x)
	my, ry := named(y)
	compareKeyed(mx, my, func(n string) string { return fmt.Sprintf("%s[%s]", path, n) }, func(string) string { return "" }, paths)
	// Equal values cancel out, as many times as they occur on each side.
	counts := map[string]int{}
	for _, e := range ry {
		counts[e.canon]++
	}
	var left []elem
	for _, e := range rx {
		if counts[e.canon] > 0 {
			counts[e.canon]--
			continue
		}
		left = append(left, e)
	}
	var right []elem
	for _, e := range ry {
		if counts[e.canon] > 0 {
			counts[e.canon]--
			right = append(right, e)
		}
	}
	if len(left) == 0 && len(right) == 0 {
		return
	}
	if len(left)*len(right) > maxPairings || len(left) == 0 || len(right) == 0 {
		*paths = append(*paths, pathOr(path)+"[*]")
		return
	}
	used := make([]bool, len(right))
	for _, l := range left {
		best, bestPaths := -1, []string(nil)
		for j, r := range right {
			if used[j] {
				continue
			}
			var ps []string
			compare(l.v, r.v, fmt.Sprintf("%s[%d]", path, l.index), "", &ps)
			if best < 0 || len(ps) < len(bestPaths) {
				best, bestPaths = j, ps
			}
		}
		if best < 0 {
			*paths = append(*paths, fmt.Sprintf("%s[%d]", path, l.index))
			continue
		}
		used[best] = true
		*paths = append(*paths, bestPaths...)
	}
	for j, r := range right {
		if !used[j] {
			*paths = append(*paths, fmt.Sprintf("%s[+%d]", path, r.index))
		}
	}
}

// maxPairings bounds the element comparisons spent pairing unnamed set
// elements that differ; past it the set is reported as differing whole.
const maxPairings = 4096

// elementName identifies a list element: its name, or a filter chain's
// name, or a socket address.
func elementName(e any) string {
	m, ok := e.(map[string]any)
	if !ok {
		return ""
	}
	if n, ok := m["name"].(string); ok && n != "" {
		return n
	}
	if ep, ok := m["endpoint"].(map[string]any); ok {
		return canonical(ep["address"])
	}
	return ""
}

func elementPath(path string, e any, i int) string {
	if n := elementName(e); n != "" {
		return fmt.Sprintf("%s[%s]", path, n)
	}
	return fmt.Sprintf("%s[%d]", path, i)
}

func canonical(v any) string {
	b, _ := json.Marshal(v) // maps are written with sorted keys
	return string(b)
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func pathOr(p string) string {
	if p == "" {
		return "(the whole resource)"
	}
	return p
}

// expandRawAny turns {"type_url": URL, "value": base64} into the message's
// JSON with its "@type" when this binary knows the type, and otherwise into
// {"@type": URL, "@bytes": base64}: compared by its bytes, and different
// from the same message written out as fields (which cannot be compared
// with bytes: the difference says so).
func expandRawAny(m map[string]any) (map[string]any, bool) {
	url, ok1 := m["type_url"].(string)
	if !ok1 {
		url, ok1 = m["typeUrl"].(string)
	}
	val, ok2 := m["value"].(string)
	if !ok1 || !ok2 || len(m) != 2 {
		return nil, false
	}
	raw, err := base64.StdEncoding.DecodeString(val)
	if err != nil {
		return nil, false
	}
	// The strict registry, not xds.Resolver: a type (or a nested Any) this
	// build lacks must stay bytes, not become an empty message.
	b, err := protojson.MarshalOptions{UseProtoNames: true, Resolver: protoregistry.GlobalTypes}.Marshal(&anypb.Any{TypeUrl: url, Value: raw})
	if err != nil {
		return map[string]any{"@type": url, rawBytes: val}, true
	}
	var out map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return nil, false
	}
	return out, true
}

// emptyBytes is a message held as bytes that has none: the empty message.
func emptyBytes(m map[string]any) bool {
	b, ok := m[rawBytes].(string)
	return ok && b == ""
}

// onlyType is a message written by its fields that has none.
func onlyType(m map[string]any) bool {
	_, typed := m["@type"]
	return typed && len(m) == 1
}

// rawBytes keys the serialized bytes of a message this binary cannot decode.
const rawBytes = "@bytes"
