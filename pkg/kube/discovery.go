package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
)

// The REST mapping of TYPE/NAME targets, from the API server's discovery,
// as kubectl's resource builder maps a TYPE. client-go's discovery client
// and restmapper are not linked: they import client-go's scheme of every
// API group (k8s.io/client-go/kubernetes/scheme), whose registration runs
// at every start of the plugin. The mapping itself is apimachinery's
// (meta.PriorityRESTMapper over a DefaultRESTMapper per group version),
// set up from discovery in the order kubectl's sets it up, and short
// names are expanded as kubectl expands them; a test compares the two on
// the same discovery.

// apiGroup is one API group as discovery lists it: its versions, the
// preferred first, and the resources each serves. The legacy core group
// has the name "".
type apiGroup struct {
	Name      string
	Versions  []string
	Resources map[string][]metav1.APIResource
}

// discoveryTTL is how long kubectl's disk cache of discovery is used.
const discoveryTTL = 6 * time.Hour

// DiscoveryError is the API server's discovery failing (a TYPE/NAME other
// than a pod needs it to know TYPE): Path is the document asked for.
type DiscoveryError struct {
	Path string
	Err  error
}

func (e *DiscoveryError) Error() string { return fmt.Sprintf("API discovery (%s): %v", e.Path, e.Err) }

func (e *DiscoveryError) Unwrap() error { return e.Err }

// aggregatedAccept asks for aggregated discovery (Kubernetes 1.26 and
// later), v2 or v2beta1, else the legacy documents, as client-go asks.
const aggregatedAccept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList," +
	"application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"

// The aggregated discovery document (apidiscovery.k8s.io/v2), the fields
// the mapping reads.
type aggregatedList struct {
	Kind  string `json:"kind"`
	Items []struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Versions []struct {
			Version   string `json:"version"`
			Freshness string `json:"freshness"`
			Resources []struct {
				Resource     string `json:"resource"`
				ResponseKind *struct {
					Kind string `json:"kind"`
				} `json:"responseKind"`
				Scope            string   `json:"scope"`
				SingularResource string   `json:"singularResource"`
				ShortNames       []string `json:"shortNames"`
				Verbs            []string `json:"verbs"`
				Categories       []string `json:"categories"`
			} `json:"resources"`
		} `json:"versions"`
	} `json:"items"`
}

func discoverLive(ctx context.Context, cfg *rest.Config) ([]apiGroup, error) {
	rc, err := rawClient(cfg)
	if err != nil {
		return nil, err
	}
	get := func(path, accept string) ([]byte, error) {
		return rc.Get().AbsPath(path).SetHeader("Accept", accept).DoRaw(ctx)
	}
	var groups []apiGroup
	var legacy []string // group versions to ask one by one
	for _, root := range []string{"/api", "/apis"} {
		body, err := get(root, aggregatedAccept)
		if err != nil {
			return nil, &DiscoveryError{Path: root, Err: err}
		}
		var kind struct {
			Kind string `json:"kind"`
		}
		if err := json.Unmarshal(body, &kind); err != nil {
			return nil, &DiscoveryError{Path: root, Err: err}
		}
		switch kind.Kind {
		case "APIGroupDiscoveryList":
			var agg aggregatedList
			if err := json.Unmarshal(body, &agg); err != nil {
				return nil, &DiscoveryError{Path: root, Err: err}
			}
			groups = append(groups, fromAggregated(agg)...)
		case "APIVersions": // legacy /api
			var v metav1.APIVersions
			if err := json.Unmarshal(body, &v); err != nil {
				return nil, &DiscoveryError{Path: root, Err: err}
			}
			g := apiGroup{Resources: map[string][]metav1.APIResource{}}
			for _, version := range v.Versions {
				g.Versions = append(g.Versions, version)
				legacy = append(legacy, version)
			}
			groups = append(groups, g)
		case "APIGroupList": // legacy /apis
			var l metav1.APIGroupList
			if err := json.Unmarshal(body, &l); err != nil {
				return nil, &DiscoveryError{Path: root, Err: err}
			}
			for _, lg := range l.Groups {
				g := fromGroup(lg)
				for _, v := range g.Versions {
					legacy = append(legacy, lg.Name+"/"+v)
				}
				groups = append(groups, g)
			}
		default:
			return nil, &DiscoveryError{Path: root, Err: fmt.Errorf("the server answered with %q, not a discovery document", kind.Kind)}
		}
	}
	if len(legacy) > 0 {
		lists := make([]*metav1.APIResourceList, len(legacy))
		var wg sync.WaitGroup
		for i, gv := range legacy {
			wg.Go(func() {
				path := "/apis/" + gv
				if !strings.Contains(gv, "/") {
					path = "/api/" + gv
				}
				body, err := get(path, "application/json")
				var l metav1.APIResourceList
				if err == nil && json.Unmarshal(body, &l) == nil {
					lists[i] = &l // a group version that fails is left out, as kubectl leaves it
				}
			})
		}
		wg.Wait()
		addResourceLists(groups, lists)
	}
	return groups, nil
}

// rawClient is a REST client for discovery's documents, read as bytes.
func rawClient(cfg *rest.Config) (*rest.RESTClient, error) {
	s, err := coreScheme()
	if err != nil {
		return nil, err
	}
	c := rest.CopyConfig(cfg)
	c.APIPath = "/api"
	c.GroupVersion = &schema.GroupVersion{Version: "v1"}
	c.NegotiatedSerializer = serializer.NewCodecFactory(s).WithoutConversion()
	if c.UserAgent == "" {
		c.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	if c.Burst == 0 {
		c.Burst = 300 // kubectl's for discovery: it asks every group at once
	}
	return rest.RESTClientFor(c)
}

func fromAggregated(agg aggregatedList) []apiGroup {
	var out []apiGroup
	for _, item := range agg.Items {
		g := apiGroup{Name: item.Metadata.Name, Resources: map[string][]metav1.APIResource{}}
		for _, v := range item.Versions {
			if v.Freshness == "Stale" {
				continue // kubectl leaves out what the server says is stale
			}
			g.Versions = append(g.Versions, v.Version)
			var rs []metav1.APIResource
			for _, r := range v.Resources {
				if r.ResponseKind == nil || r.ResponseKind.Kind == "" {
					continue
				}
				rs = append(rs, metav1.APIResource{Name: r.Resource, SingularName: r.SingularResource,
					Namespaced: r.Scope == "Namespaced", Kind: r.ResponseKind.Kind, ShortNames: r.ShortNames,
					Verbs: r.Verbs, Categories: r.Categories, Group: item.Metadata.Name, Version: v.Version})
			}
			g.Resources[v.Version] = rs
		}
		if len(g.Versions) > 0 {
			out = append(out, g)
		}
	}
	return out
}

// fromGroup is a legacy APIGroup, its preferred version first.
func fromGroup(lg metav1.APIGroup) apiGroup {
	g := apiGroup{Name: lg.Name, Resources: map[string][]metav1.APIResource{}}
	if p := lg.PreferredVersion.Version; p != "" {
		g.Versions = append(g.Versions, p)
	}
	for _, v := range lg.Versions {
		if v.Version != lg.PreferredVersion.Version {
			g.Versions = append(g.Versions, v.Version)
		}
	}
	return g
}

// addResourceLists files each group version's resources under its group.
func addResourceLists(groups []apiGroup, lists []*metav1.APIResourceList) {
	for _, l := range lists {
		if l == nil {
			continue
		}
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for i := range groups {
			if groups[i].Name == gv.Group {
				groups[i].Resources[gv.Version] = l.APIResources
			}
		}
	}
}

// readDiscoveryCache reads kubectl's discovery cache of one API server
// (dir, see discoveryCacheDir): servergroups.json, and for each group
// version GROUP/VERSION/serverresources.json, all written in the last six
// hours. Anything missing, old or unreadable: not cached.
func readDiscoveryCache(dir string) ([]apiGroup, bool) {
	if dir == "" {
		return nil, false
	}
	read := func(path string, into any) bool {
		st, err := os.Stat(path)
		if err != nil || time.Since(st.ModTime()) > discoveryTTL {
			return false
		}
		b, err := os.ReadFile(path)
		return err == nil && json.Unmarshal(b, into) == nil
	}
	var l metav1.APIGroupList
	if !read(filepath.Join(dir, "servergroups.json"), &l) || len(l.Groups) == 0 {
		return nil, false
	}
	var groups []apiGroup
	var lists []*metav1.APIResourceList
	for _, lg := range l.Groups {
		g := fromGroup(lg)
		for _, v := range g.Versions {
			var rl metav1.APIResourceList
			if !read(filepath.Join(dir, lg.Name, v, "serverresources.json"), &rl) {
				return nil, false
			}
			if rl.GroupVersion == "" {
				rl.GroupVersion = schema.GroupVersion{Group: lg.Name, Version: v}.String()
			}
			lists = append(lists, &rl)
		}
		groups = append(groups, g)
	}
	addResourceLists(groups, lists)
	return groups, true
}

// newMapper is the REST mapping of the groups, set up as kubectl's: core
// v1 first, then each group's preferred version, then its others, then
// any version of each group in discovery's order; a DefaultRESTMapper per
// group version knowing each resource by plural, singular and kind (and
// the kind in lower case); and short names expanded before mapping.
func newMapper(groups []apiGroup) meta.RESTMapper {
	resources := []schema.GroupVersionResource{{Version: "v1", Resource: meta.AnyResource}}
	kinds := []schema.GroupVersionKind{{Version: "v1", Kind: meta.AnyKind}}
	var multi meta.MultiRESTMapper
	for _, g := range groups {
		for _, v := range g.Versions {
			rs, ok := g.Resources[v]
			if !ok {
				continue
			}
			resources = append(resources, schema.GroupVersionResource{Group: g.Name, Version: v, Resource: meta.AnyResource})
			kinds = append(kinds, schema.GroupVersionKind{Group: g.Name, Version: v, Kind: meta.AnyKind})
			gv := schema.GroupVersion{Group: g.Name, Version: v}
			m := meta.NewDefaultRESTMapper([]schema.GroupVersion{gv})
			for _, r := range rs {
				if strings.Contains(r.Name, "/") {
					continue // a subresource
				}
				scope := meta.RESTScopeRoot
				if r.Namespaced {
					scope = meta.RESTScopeNamespace
				}
				plural, singular := gv.WithResource(r.Name), gv.WithResource(r.SingularName)
				if r.SingularName == "" {
					_, singular = meta.UnsafeGuessKindToResource(gv.WithKind(r.Kind))
				}
				m.AddSpecific(gv.WithKind(strings.ToLower(r.Kind)), plural, singular, scope)
				m.AddSpecific(gv.WithKind(r.Kind), plural, singular, scope)
				m.Add(gv.WithKind(r.Kind+"List"), scope)
			}
			m.Add(gv.WithKind("List"), meta.RESTScopeRoot)
			multi = append(multi, m)
		}
	}
	for _, g := range groups {
		resources = append(resources, schema.GroupVersionResource{Group: g.Name, Version: meta.AnyVersion, Resource: meta.AnyResource})
		kinds = append(kinds, schema.GroupVersionKind{Group: g.Name, Version: meta.AnyVersion, Kind: meta.AnyKind})
	}
	return newShortNames(meta.PriorityRESTMapper{Delegate: multi, ResourcePriority: resources, KindPriority: kinds}, groups)
}

// shortNames expands a short name (deploy, svc, sts, a custom resource's)
// to its resource before the mapping, as kubectl does: not when the name
// is a resource's plural or singular; the first group in discovery's
// order that has it; a partial group (TYPE.autoscal) matched as a prefix.
type shortNames struct {
	meta.RESTMapper
	groups []apiGroup
	shorts []shortName // every resource's short names, in discovery's order
}

type shortName struct{ group, short, long string }

func newShortNames(m meta.RESTMapper, groups []apiGroup) shortNames {
	s := shortNames{RESTMapper: m, groups: groups}
	for _, g := range groups {
		for _, v := range g.Versions {
			for _, res := range g.Resources[v] {
				for _, sn := range res.ShortNames {
					s.shorts = append(s.shorts, shortName{g.Name, sn, res.Name})
				}
			}
		}
	}
	return s
}

func (s shortNames) KindFor(r schema.GroupVersionResource) (schema.GroupVersionKind, error) {
	return s.RESTMapper.KindFor(s.expand(r))
}

func (s shortNames) KindsFor(r schema.GroupVersionResource) ([]schema.GroupVersionKind, error) {
	return s.RESTMapper.KindsFor(s.expand(r))
}

func (s shortNames) ResourceFor(r schema.GroupVersionResource) (schema.GroupVersionResource, error) {
	return s.RESTMapper.ResourceFor(s.expand(r))
}

func (s shortNames) ResourcesFor(r schema.GroupVersionResource) ([]schema.GroupVersionResource, error) {
	return s.RESTMapper.ResourcesFor(s.expand(r))
}

func (s shortNames) expand(r schema.GroupVersionResource) schema.GroupVersionResource {
	for _, g := range s.groups {
		if r.Group != "" && r.Group != g.Name {
			continue
		}
		for _, v := range g.Versions {
			for _, res := range g.Resources[v] {
				if r.Resource == res.Name || r.Resource == res.SingularName {
					return r // a resource's own name wins over any short name
				}
			}
		}
	}
	for _, sh := range s.shorts {
		if (r.Group == "" || r.Group == sh.group) && r.Resource == sh.short {
			return schema.GroupVersionResource{Group: sh.group, Resource: sh.long}
		}
	}
	if r.Group == "" {
		return r
	}
	for _, sh := range s.shorts {
		if strings.HasPrefix(sh.group, r.Group) && r.Resource == sh.short {
			r.Group, r.Resource = sh.group, sh.long
			return r
		}
	}
	return r
}

// discoveryMapper is the mapping from kubectl's discovery cache when it
// has one, asked again of the server when the cache does not know a type
// (a custom resource installed since), as kubectl's deferred mapper does.
type discoveryMapper struct {
	cfg      *rest.Config
	cacheDir string
	mu       sync.Mutex
	mapper   meta.RESTMapper
	live     bool
}

// get is the mapping, read on first use.
func (d *discoveryMapper) get() (meta.RESTMapper, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.mapper == nil {
		if groups, ok := readDiscoveryCache(d.cacheDir); ok {
			d.mapper = newMapper(groups)
		} else if err := d.refresh(); err != nil {
			return nil, false, err
		}
	}
	return d.mapper, d.live, nil
}

// refresh asks the server (d.mu held).
func (d *discoveryMapper) refresh() error {
	groups, err := discoverLive(context.TODO(), d.cfg)
	if err != nil {
		return err
	}
	d.mapper, d.live = newMapper(groups), true
	return nil
}

// try runs fn on the mapping, and once more on the server's own when the
// cached one has no match.
func (d *discoveryMapper) try(fn func(meta.RESTMapper) error) error {
	m, live, err := d.get()
	if err != nil {
		return err
	}
	err = fn(m)
	if err == nil || live || !meta.IsNoMatchError(err) {
		return err
	}
	d.mu.Lock()
	if !d.live {
		if rerr := d.refresh(); rerr != nil {
			d.mu.Unlock()
			return rerr
		}
	}
	m = d.mapper
	d.mu.Unlock()
	return fn(m)
}

func (d *discoveryMapper) KindFor(r schema.GroupVersionResource) (gvk schema.GroupVersionKind, err error) {
	err = d.try(func(m meta.RESTMapper) (e error) { gvk, e = m.KindFor(r); return })
	return
}

func (d *discoveryMapper) KindsFor(r schema.GroupVersionResource) (gvks []schema.GroupVersionKind, err error) {
	err = d.try(func(m meta.RESTMapper) (e error) { gvks, e = m.KindsFor(r); return })
	return
}

func (d *discoveryMapper) ResourceFor(r schema.GroupVersionResource) (gvr schema.GroupVersionResource, err error) {
	err = d.try(func(m meta.RESTMapper) (e error) { gvr, e = m.ResourceFor(r); return })
	return
}

func (d *discoveryMapper) ResourcesFor(r schema.GroupVersionResource) (gvrs []schema.GroupVersionResource, err error) {
	err = d.try(func(m meta.RESTMapper) (e error) { gvrs, e = m.ResourcesFor(r); return })
	return
}

func (d *discoveryMapper) RESTMapping(gk schema.GroupKind, versions ...string) (rm *meta.RESTMapping, err error) {
	err = d.try(func(m meta.RESTMapper) (e error) { rm, e = m.RESTMapping(gk, versions...); return })
	return
}

func (d *discoveryMapper) RESTMappings(gk schema.GroupKind, versions ...string) (rms []*meta.RESTMapping, err error) {
	err = d.try(func(m meta.RESTMapper) (e error) { rms, e = m.RESTMappings(gk, versions...); return })
	return
}

func (d *discoveryMapper) ResourceSingularizer(resource string) (singular string, err error) {
	err = d.try(func(m meta.RESTMapper) (e error) { singular, e = m.ResourceSingularizer(resource); return })
	return
}
