package trace

import (
	"fmt"
	"strings"

	rbacv3 "github.com/envoyproxy/go-control-plane/envoy/config/rbac/v3"
	commonfaultv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/common/fault/v3"
	faultv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/fault/v3"
	httprbacv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/rbac/v3"
	netrbacv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/rbac/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// filterKind is what the trace can do with a filter.
type filterKind uint8

const (
	filterUnknown filterKind = iota // its effect is not evaluated: the outcome depends on it
	filterPassive                   // observes, never ends or reroutes a request (stats, metadata exchange)
	filterRouter                    // the router: the end of the chain
	filterRBAC
	filterJWT
	filterFault
	filterCORS
	filterLocalRateLimit
	filterDNS        // dynamic forward proxy: resolves the host at run time, routing unchanged
	filterLuaHeaders // a Lua script that only adds or changes headers
	filterStatsWasm  // a Wasm module that by its name is a mesh's stats plugin
)

// passiveHTTP are HTTP filters that only observe or re-encode: they never
// answer a request themselves or change where it goes.
var passiveHTTP = []string{
	"istio.metadata_exchange", "istio.stats", "istio.alpn", "istio.peer_metadata", "envoy.filters.http.grpc_stats",
	"envoy.grpc_web", "envoy.filters.http.grpc_web", "envoy.filters.http.compressor", "envoy.filters.http.decompressor",
	"envoy.filters.http.peer_metadata", "envoy.filters.http.alternate_protocols_cache",
}

// passiveTypes are the same, by the type of their config.
var passiveTypes = []string{
	".grpc_stats.v3.FilterConfig", ".grpc_web.v3.GrpcWeb", ".compressor.v3.Compressor", ".decompressor.v3.Decompressor",
	"io.istio.http.peer_metadata.Config", "stats.PluginConfig", "istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig",
	"envoy.tcp.metadataexchange.config.MetadataExchange", ".alternate_protocols_cache.v3.FilterConfig",
}

// classify says what kind of filter an HTTP filter is, by its config's
// type (the name is a label any config may carry) or, without a type, by
// the well-known names of older Envoys.
func classifyHTTP(name, typeURL string, config jsonscan.Value) filterKind {
	t := typeURL[strings.LastIndexByte(typeURL, '/')+1:]
	// A TypedStruct wraps a config by its type URL (Istio's own filters).
	if t == "udpa.type.v1.TypedStruct" || t == "xds.type.v3.TypedStruct" {
		if inner := config.Get("type_url").Str(); inner != "" && !strings.HasSuffix(inner, "TypedStruct") {
			return classifyHTTP(name, inner, config.Get("value"))
		}
	}
	switch {
	case strings.HasSuffix(t, ".router.v3.Router") || strings.HasSuffix(t, ".router.v2.Router") || t == "" && (name == "envoy.router" || name == "envoy.filters.http.router"):
		return filterRouter
	case strings.HasSuffix(t, ".rbac.v3.RBAC") || strings.HasSuffix(t, ".rbac.v2.RBAC") || t == "" && strings.HasSuffix(name, "rbac"):
		return filterRBAC
	case strings.HasSuffix(t, ".jwt_authn.v3.JwtAuthentication") || strings.HasSuffix(t, ".jwt_authn.v2alpha.JwtAuthentication"):
		return filterJWT
	case strings.HasSuffix(t, ".fault.v3.HTTPFault") || strings.HasSuffix(t, ".fault.v2.HTTPFault") || t == "" && (name == "envoy.fault" || name == "envoy.filters.http.fault"):
		return filterFault
	case strings.HasSuffix(t, ".cors.v3.Cors") || t == "" && (name == "envoy.cors" || name == "envoy.filters.http.cors"):
		return filterCORS
	case strings.HasSuffix(t, ".local_ratelimit.v3.LocalRateLimit"):
		return filterLocalRateLimit
	case strings.HasSuffix(t, ".dynamic_forward_proxy.v3.FilterConfig"):
		return filterDNS
	}
	for _, p := range passiveTypes {
		if t != "" && strings.HasSuffix(t, p) {
			return filterPassive
		}
	}
	for _, p := range passiveHTTP {
		if name == p {
			return filterPassive
		}
	}
	// A Lua script that cannot answer the request (no respond) nor send it
	// elsewhere (no route cache clearing, upstream override or metadata for
	// later filters) only edits headers after the route was chosen.
	if strings.HasSuffix(t, ".lua.v3.Lua") {
		code := config.Get("inline_code").Str() + config.Get("default_source_code", "inline_string").Str()
		if code != "" && !strings.Contains(code, "respond") && !strings.Contains(code, "clearRouteCache") &&
			!strings.Contains(code, "setUpstreamOverrideHost") && !strings.Contains(code, "dynamicMetadata") &&
			!strings.Contains(code, "httpCall") && len(config.Get("source_codes").Raw()) == 0 {
			return filterLuaHeaders
		}
	}
	// Istio's stats as a Wasm module (Istio 1.5 to 1.17: root_id
	// stats_inbound, stats_outbound) and Open Service Mesh's (named stats).
	if strings.HasSuffix(t, ".wasm.v3.Wasm") {
		if c := config.Get("config"); strings.HasPrefix(c.Get("root_id").Str(), "stats_") || c.Get("name").Str() == "stats" {
			return filterStatsWasm
		}
	}
	return filterUnknown
}

// perFilter finds a filter's per-route config, the most specific first:
// the route's, its virtual host's, the route configuration's.
func perFilter(name string, rt Routing, rc *xds.RouteConfig) jsonscan.Value {
	var levels []jsonscan.Value
	if rt.Route != nil {
		levels = append(levels, rt.Route.Raw)
	}
	if rt.VirtualHost != nil && rc != nil {
		_ = rc.Raw.Get("virtual_hosts").Items(func(_ int, vh jsonscan.Value) bool {
			if vh.Get("name").Str() == rt.VirtualHost.Name {
				levels = append(levels, vh)
				return false
			}
			return true
		})
	}
	if rc != nil {
		levels = append(levels, rc.Raw)
	}
	for _, l := range levels {
		var found jsonscan.Value
		_ = l.Get("typed_per_filter_config").Fields(func(k []byte, v jsonscan.Value) bool {
			if string(k) == name {
				found = v
				return false
			}
			return true
		})
		if found.Present() {
			return found
		}
	}
	return jsonscan.Value{}
}

// decodeConfig reads a filter's typed config into msg (a wrapping
// TypedStruct or FilterConfig is unwrapped); a filter without config has
// the message's defaults.
func decodeConfig(v jsonscan.Value, msg proto.Message) error {
	if !v.Exists() {
		return nil
	}
	if inner := v.Get("config"); v.Get("@type").Str() == "type.googleapis.com/envoy.config.route.v3.FilterConfig" && inner.Exists() {
		v = inner
	}
	return (protojson.UnmarshalOptions{DiscardUnknown: true, Resolver: xds.Resolver}).Unmarshal(v.Raw(), msg)
}

// httpFilters runs the connection manager's HTTP filters up to the router,
// in their order, with the route the router picked (their per-route
// overrides). It returns false when a filter ends the request (denied,
// aborted, answered) or its effect cannot be evaluated (the hop is then
// unknown: the outcome depends on it).
func (t *tracer) httpFilters(d xds.Destination, rc *xds.RouteConfig, rt Routing) bool {
	type hf struct {
		name, typeURL string
		config        jsonscan.Value
		disabled      bool
	}
	var filters []hf
	_ = d.HCM.Get("http_filters").Items(func(_ int, f jsonscan.Value) bool {
		p := f.Pick("name", "typed_config", "config", "disabled", "config_discovery")
		cfg := p[1]
		if !cfg.Exists() {
			cfg = p[2]
		}
		typ := cfg.Get("@type").Str()
		if p[4].Exists() {
			typ = "(ECDS: " + strings.Join(p[4].Get("type_urls").Strings(), ",") + ")"
		}
		filters = append(filters, hf{name: p[0].Str(), typeURL: typ, config: cfg, disabled: p[3].Bool()})
		return true
	})
	for _, f := range filters {
		override := perFilter(f.name, rt, rc)
		if f.disabled && !override.Exists() {
			continue
		}
		if override.Get("disabled").Bool() {
			t.step("http_filter", f.name, "disabled for this route")
			continue
		}
		kind := classifyHTTP(f.name, f.typeURL, f.config)
		if strings.HasPrefix(f.typeURL, "(ECDS") {
			kind = filterUnknown
		}
		switch kind {
		case filterRouter:
			return true
		case filterPassive:
			continue
		case filterRBAC:
			if !t.httpRBAC(f.name, f.config, override) {
				return false
			}
		case filterFault:
			if !t.fault(f.name, f.config, override) {
				return false
			}
		case filterCORS:
			if !t.cors(f.name, rt, rc) {
				return false
			}
		case filterJWT:
			if !t.jwt(f.name, f.config, override, rt) {
				return false
			}
		case filterLuaHeaders:
			t.note("HTTP filter %s is a Lua script that only edits headers (it never answers, reroutes or sets metadata): read, and passed", f.name)
		case filterStatsWasm:
			t.note("HTTP filter %s is a Wasm module named as a mesh's stats plugin (Istio's stats_*, Open Service Mesh's stats): taken to observe only", f.name)
		case filterDNS:
			t.note("HTTP filter %s (dynamic forward proxy) resolves the upstream host by DNS at run time: a failed lookup is a 503 with flag DF", f.name)
		case filterLocalRateLimit:
			t.note("HTTP filter %s is a local rate limit: whether its token bucket has a token for this request is run-time state no dump holds (a 429 with flag RL when it has none)", f.name)
		default:
			what := f.typeURL
			if what == "" {
				what = "no typed config"
			}
			t.note("HTTP filter %s (%s) runs before the router and may answer or change the request itself; this trace does not evaluate it, so what happens to the request depends on it", f.name, what)
			t.hop.Result, t.hop.UnknownDependsOn = Unknown, "HTTP filter "+f.name
			return false
		}
	}
	return true
}

// httpRBAC applies an RBAC filter (Istio's AuthorizationPolicy): its rules,
// or the route's override; shadow rules are only reported.
func (t *tracer) httpRBAC(name string, config, override jsonscan.Value) bool {
	var f httprbacv3.RBAC
	if override.Exists() {
		var per httprbacv3.RBACPerRoute
		if err := decodeConfig(override, &per); err != nil {
			return t.cannot(name, "its per-route config could not be read: "+err.Error())
		}
		if per.GetRbac() == nil {
			t.step("http_filter", name, "the route turns RBAC off")
			return true
		}
		f = *per.GetRbac()
		t.note("RBAC filter %s: the route overrides its rules", name)
	} else if err := decodeConfig(config, &f); err != nil {
		return t.cannot(name, "its config could not be read: "+err.Error())
	}
	if f.GetMatcher() != nil && f.GetRules() == nil {
		return t.cannot(name, "it decides with a matcher tree (xds.type.matcher), which this trace does not evaluate")
	}
	if sr := f.GetShadowRules(); sr != nil {
		d := t.rbac(sr, t.peer())
		t.note("RBAC filter %s has shadow rules (Istio's CUSTOM or dry-run policies): they only log, never deny; they would %s (%s)", name, map[tri]string{yes: "allow", no: "deny", unknownMatch: "decide on what is not known"}[d.allowed], d.why)
	}
	if f.GetRules() == nil {
		return true
	}
	return t.applyRBAC(name, f.GetRules(), 403)
}

// applyRBAC applies RBAC rules and records the decision.
func (t *tracer) applyRBAC(name string, rules *rbacv3.RBAC, status uint32) bool {
	d := t.rbac(rules, t.peer())
	t.hop.Authorization = append(t.hop.Authorization, Authz{Filter: name, Action: rules.GetAction().String(), Policy: d.policy, Decision: map[tri]string{yes: "allow", no: "deny", unknownMatch: "unknown"}[d.allowed], Reason: d.why})
	switch d.allowed {
	case yes:
		t.step("rbac", name, "%s", d.why)
		return true
	case no:
		t.step("rbac", name, "%s", d.why)
		if status == 0 {
			t.note("the RBAC network filter %s closes the connection (%s)", name, policyWords(d.policy))
		} else {
			t.note("Envoy answers %d \"RBAC: access denied\" (%s)", status, policyWords(d.policy))
		}
		t.fail(Denied, "RBAC", status)
		return false
	}
	t.note("RBAC filter %s: %s", name, d.why)
	t.hop.Result, t.hop.UnknownDependsOn = Unknown, "RBAC filter "+name+": "+d.why
	return false
}

// policyWords names the policy that decided as Istio names its rules:
// ns[NS]-policy[NAME]-rule[N].
func policyWords(policy string) string {
	if policy == "" {
		return "no policy matched"
	}
	if strings.HasPrefix(policy, "ns[") {
		ns, rest, _ := strings.Cut(strings.TrimPrefix(policy, "ns["), "]-policy[")
		name, rule, _ := strings.Cut(rest, "]-rule[")
		return fmt.Sprintf("AuthorizationPolicy %s/%s, rule %s", ns, name, strings.TrimSuffix(rule, "]"))
	}
	return "policy " + policy
}

// networkRBAC applies an RBAC network filter before the chain's HTTP
// connection manager or TCP proxy: a denial closes the connection.
func (t *tracer) networkRBAC(fc *xds.FilterChain) bool {
	for _, f := range fc.Filters {
		if !strings.HasSuffix(f.Type, ".rbac.v3.RBAC") && !strings.HasSuffix(f.Type, ".rbac.v2.RBAC") {
			continue
		}
		var cfg jsonscan.Value
		_ = fc.Raw.Get("filters").Items(func(_ int, v jsonscan.Value) bool {
			if v.Get("name").Str() == f.Name {
				cfg = v.Get("typed_config")
				if !cfg.Exists() {
					cfg = v.Get("config")
				}
				return false
			}
			return true
		})
		var r netrbacv3.RBAC
		if err := decodeConfig(cfg, &r); err != nil {
			return t.cannot(f.Name, "its config could not be read: "+err.Error())
		}
		if r.GetMatcher() != nil && r.GetRules() == nil {
			return t.cannot(f.Name, "it decides with a matcher tree, which this trace does not evaluate")
		}
		if r.GetRules() == nil {
			continue
		}
		// HTTP rules do not apply to a connection: a network RBAC sees none.
		if !t.applyRBAC(f.Name, r.GetRules(), 0) {
			return false
		}
	}
	return true
}

// cannot makes the hop unknown: a filter the outcome depends on could not
// be evaluated.
func (t *tracer) cannot(filter, why string) bool {
	t.note("filter %s: %s; what happens to the request depends on it", filter, why)
	t.hop.Result, t.hop.UnknownDependsOn = Unknown, "filter "+filter+": "+why
	return false
}

// peer is the downstream connection as the filters see it.
func (t *tracer) peer() peer {
	return peer{mtls: t.req.TLS == "mtls" && t.clientCert != "none", principal: t.req.ClientIdentity, sourceIP: t.req.SourceIP}
}

// fault applies fault injection: an abort or delay for the share of
// requests its percentage gives (the route's override, if any).
func (t *tracer) fault(name string, config, override jsonscan.Value) bool {
	var f faultv3.HTTPFault
	src := config
	if override.Exists() {
		src = override
	}
	if err := decodeConfig(src, &f); err != nil {
		return t.cannot(name, "its config could not be read: "+err.Error())
	}
	for _, h := range f.GetHeaders() {
		vs, present := t.headerValues(h.GetName())
		if !MatchHeader(h, vs, present) {
			t.step("fault", name, "applies only to requests with header %s %s", h.GetName(), describeHeader(h))
			return true
		}
	}
	if len(f.GetUpstreamCluster()) > 0 {
		t.note("fault filter %s applies to requests for cluster %s only", name, f.GetUpstreamCluster())
	}
	if d := f.GetDelay(); d != nil {
		switch pick, pct := t.fraction(d.GetPercentage()); pick {
		case yes:
			t.note("fault filter %s delays the request (%s, %s of requests)", name, delayWords(d), pct)
		case unknownMatch:
			t.note("fault filter %s delays %s of requests (%s); pass --random-value to follow one", name, pct, delayWords(d))
		}
	}
	a := f.GetAbort()
	if a == nil {
		return true
	}
	var status uint32
	switch s := a.GetErrorType().(type) {
	case *faultv3.FaultAbort_HttpStatus:
		status = s.HttpStatus
	case *faultv3.FaultAbort_GrpcStatus:
		status = 200
	case *faultv3.FaultAbort_HeaderAbort_:
		vs, _ := t.headerValues("x-envoy-fault-abort-request")
		if len(vs) == 0 {
			t.step("fault", name, "aborts only requests with the x-envoy-fault-abort-request header")
			return true
		}
		fmt.Sscan(vs[0], &status)
	}
	pick, pct := t.fraction(a.GetPercentage())
	switch pick {
	case yes:
		t.note("fault filter %s aborts the request with %d (%s of requests; response flag FI)", name, status, pct)
		t.fail(Fault, "FI", status)
		return false
	case unknownMatch:
		t.note("fault filter %s aborts %s of requests with %d (flag FI): whether this one is depends on a random draw; pass --random-value to follow one", name, pct, status)
		t.hop.Result, t.hop.UnknownDependsOn = Unknown, "fault injection of "+pct+" of requests (random)"
		return false
	}
	t.step("fault", name, "the request is not aborted (%s of requests are)", pct)
	return true
}

// fraction decides whether a percentage takes this request: certain at 0
// and 100%, else by --random-value, else unknown.
func (t *tracer) fraction(p *typev3.FractionalPercent) (tri, string) {
	if p == nil {
		return yes, "100%"
	}
	den := denominator(p.GetDenominator().String())
	num := uint64(p.GetNumerator())
	pct := fmt.Sprintf("%.4g%%", float64(num)*100/float64(den))
	switch {
	case num == 0:
		return no, pct
	case num >= den:
		return yes, pct
	case t.req.Random != nil:
		return boolTri(*t.req.Random%den < num), pct
	}
	return unknownMatch, pct
}

func delayWords(d *commonfaultv3.FaultDelay) string {
	if fd := d.GetFixedDelay(); fd != nil {
		return "a fixed delay of " + fd.AsDuration().String()
	}
	return "a delay the x-envoy-fault-delay-request header sets"
}
