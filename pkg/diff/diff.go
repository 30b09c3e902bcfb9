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
}

// KindOrder is the order kinds are reported in.
var KindOrder = []string{"clusters", "listeners", "routes", "endpoints", "secrets"}

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

// Equal tells whether nothing differs.
func (r *Result) Equal() bool { return len(r.Changes) == 0 }

// Compare compares left (e.g. what istiod intends) with right (what the
// proxy holds).
func Compare(left, right *envoyadmin.Dump, opts Options) *Result {
	res := &Result{Changes: []Change{}, Compared: map[string][2]int{}, OneSided: map[string]string{}}
	kinds := opts.Kinds
	if len(kinds) == 0 {
		for _, k := range KindOrder {
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
			default:
				var paths []string
				compare(a, b, "", "", &paths)
				if len(paths) > 0 {
					res.Changes = append(res.Changes, Change{Kind: k, Name: n, Change: "changed", Paths: paths})
				}
			}
		}
	}
	return res
}

// ignored are fields that differ between any two fetches or proxies.
var ignored = map[string]bool{"version_info": true, "last_updated": true, "last_update_attempt": true}

// resources reads the kind's resources in effect (active or static) by
// name, normalized: snake_case keys, bookkeeping dropped.
func resources(d *envoyadmin.Dump, k envoyadmin.Kind, opts Options) map[string]any {
	out := map[string]any{}
	if k == envoyadmin.KindSecret {
		// Secrets by their certificates' facts, never key material.
		for _, s := range xds.New(d).Secrets() {
			if s.State == envoyadmin.StateWarming || s.State == envoyadmin.StateError {
				continue
			}
			out[s.Name] = map[string]any{"type": s.Type, "serial": s.Serial, "not_after": s.NotAfter.String(),
				"not_before": s.NotBefore.String(), "identity": strings.Join(s.Identity, ","), "issuer": s.Issuer}
		}
		return out
	}
	for _, e := range d.Entries(k) {
		if e.State == envoyadmin.StateWarming || e.State == envoyadmin.StateError || e.State == envoyadmin.StateDraining {
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
		v := normalize(decode(r), opts.AllFields)
		if opts.AllFields {
			v = map[string]any{"resource": v, "version_info": e.Version, "last_updated": e.LastUpdated}
		}
		out[name] = v
	}
	return out
}

func nameOf(r jsonscan.Value, k envoyadmin.Kind) string {
	if k == envoyadmin.KindEndpoints {
		return r.Get("cluster_name").Str()
	}
	return r.Get("name").Str()
}

func decode(v jsonscan.Value) any {
	var out any
	dec := json.NewDecoder(bytes.NewReader(v.Raw()))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return string(v.Raw())
	}
	return out
}

// normalize writes keys in snake_case (camelCase dumps: egctl, istiod's
// protojson), expands Any values written raw ({type_url, value} with the
// message's bytes, as istiod's debug dump does for some) into fields, and
// drops the bookkeeping fields unless all is set.
func normalize(v any, all bool) any {
	switch x := v.(type) {
	case map[string]any:
		if expanded, ok := expandRawAny(x); ok {
			return normalize(expanded, all)
		}
		// A type outside what this tool links (Istio's own filters) is
		// compared by its type only: one side may hold its fields and the
		// other not, as the loader keeps such types opaque.
		if url, ok := x["@type"].(string); ok {
			if _, err := protoregistry.GlobalTypes.FindMessageByURL(url); err != nil && !structLike(url) {
				return map[string]any{"@type": url}
			}
		}
		out := make(map[string]any, len(x))
		for k, val := range x {
			k = snake(k)
			if !all && ignored[k] {
				continue
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
// name are matched by it; others by their whole value.
func compareSet(x, y []any, path string, paths *[]string) {
	named := func(list []any) (map[string]any, []string) {
		m := map[string]any{}
		var rest []string
		for _, e := range list {
			if n := elementName(e); n != "" {
				if _, dup := m[n]; !dup {
					m[n] = e
					continue
				}
			}
			rest = append(rest, canonical(e))
		}
		return m, rest
	}
	mx, rx := named(x)
	my, ry := named(y)
	compareKeyed(mx, my, func(n string) string { return fmt.Sprintf("%s[%s]", path, n) }, func(string) string { return "" }, paths)
	counts := map[string]int{}
	for _, c := range rx {
		counts[c]++
	}
	for _, c := range ry {
		counts[c]--
	}
	for _, n := range counts {
		if n != 0 {
			*paths = append(*paths, pathOr(path)+"[*]")
			return
		}
	}
}

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
// JSON with its "@type", when this binary knows the type.
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
	b, err := protojson.MarshalOptions{UseProtoNames: true, Resolver: xds.Resolver}.Marshal(&anypb.Any{TypeUrl: url, Value: raw})
	if err != nil {
		return nil, false
	}
	var out map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return nil, false
	}
	return out, true
}

// structLike are the types whose JSON is free-form (TypedStruct, Struct):
// always compared whole.
func structLike(url string) bool {
	return strings.HasSuffix(url, ".TypedStruct") || strings.HasSuffix(url, ".Struct")
}
