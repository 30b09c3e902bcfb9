package trace

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	jwtv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/jwt_authn/v3"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// cors answers a CORS preflight (OPTIONS with Origin and
// Access-Control-Request-Method) itself when the route's or virtual host's
// policy allows the origin; other requests pass on.
func (t *tracer) cors(name string, rt Routing, rc *xds.RouteConfig) bool {
	origin, method := t.header("origin"), t.header("access-control-request-method")
	if t.req.Method != "OPTIONS" || origin == "" || method == "" {
		return true
	}
	var policy routev3.CorsPolicy
	raw := perFilter(name, rt, rc)
	if !raw.Exists() && rt.Route != nil {
		raw = rt.Route.Raw.Get("route", "cors")
	}
	if !raw.Exists() {
		_ = rc.Raw.Get("virtual_hosts").Items(func(_ int, vh jsonscan.Value) bool {
			if rt.VirtualHost != nil && vh.Get("name").Str() == rt.VirtualHost.Name {
				raw = vh.Get("cors")
				return false
			}
			return true
		})
	}
	if !raw.Exists() {
		t.step("cors", name, "a preflight request, and no CORS policy applies to the route: it goes on to the upstream")
		return true
	}
	if err := decodeConfig(raw, &policy); err != nil {
		return t.cannot(name, "its CORS policy could not be read: "+err.Error())
	}
	for _, m := range policy.GetAllowOriginStringMatch() {
		if stringMatches(m, origin) {
			t.step("cors", name, "a CORS preflight from allowed origin %s (%s): Envoy answers it itself", origin, describeString(m))
			t.hop.Result, t.hop.Status = DirectResponse, 200
			return false
		}
	}
	t.step("cors", name, "origin %s is not allowed by the CORS policy: the preflight goes on to the upstream, which the browser will refuse without allow headers", origin)
	return true
}

// jwtToken is a token found in the request, decoded (not verified).
type jwtToken struct {
	raw    string
	claims map[string]any
	err    string // why it is not a valid JWT
}

// jwt applies a jwt_authn filter: the requirement for the route, the
// request's token decoded (issuer, audience, expiry; its signature is not
// verified here), 401 when a required token is missing or invalid, and
// the payload handed to the filters after (RBAC's request.auth claims).
func (t *tracer) jwt(name string, config, override jsonscan.Value, rt Routing) bool {
	var f jwtv3.JwtAuthentication
	if err := decodeConfig(config, &f); err != nil {
		return t.cannot(name, "its config could not be read: "+err.Error())
	}
	var req *jwtv3.JwtRequirement
	if override.Exists() {
		var per jwtv3.PerRouteConfig
		if err := decodeConfig(override, &per); err != nil {
			return t.cannot(name, "its per-route config could not be read: "+err.Error())
		}
		if per.GetDisabled() {
			t.step("jwt_authn", name, "disabled for this route")
			return true
		}
		req = f.GetRequirementMap()[per.GetRequirementName()]
	} else {
		for _, rule := range f.GetRules() {
			if ok, _ := t.routeMatches(rule.GetMatch()); !ok {
				continue
			}
			req = rule.GetRequires()
			if n := rule.GetRequirementName(); n != "" {
				req = f.GetRequirementMap()[n]
			}
			break
		}
	}
	tokens := map[string]*jwtToken{}
	for pname, p := range f.GetProviders() {
		if tok := t.findToken(p); tok != nil {
			tokens[pname] = tok
			t.checkToken(pname, p, tok)
		}
	}
	// Whatever the requirement, valid tokens' payloads are handed on.
	for pname, tok := range tokens {
		if tok.err != "" {
			continue
		}
		p := f.GetProviders()[pname]
		t.setJWTMetadata(p, tok)
	}
	if req == nil {
		if len(tokens) > 0 {
			t.step("jwt_authn", name, "no requirement applies to the route: the token is checked, but a missing or failed one is not refused")
		}
		return true
	}
	ok, why := t.requirement(req, f.GetProviders(), tokens)
	if !ok {
		t.step("jwt_authn", name, "%s", why)
		t.note("Envoy answers 401 (%s)", why)
		t.fail(Denied, "", 401)
		return false
	}
	t.step("jwt_authn", name, "%s", why)
	for _, tok := range tokens {
		if tok.err == "" {
			t.note("the JWT's signature is not verified by this trace (the keys are fetched at run time): its claims are taken as given")
			break
		}
	}
	return true
}

// requirement evaluates a JwtRequirement on the tokens found.
func (t *tracer) requirement(r *jwtv3.JwtRequirement, providers map[string]*jwtv3.JwtProvider, tokens map[string]*jwtToken) (bool, string) {
	one := func(provider string, audiences []string) (bool, string) {
		tok := tokens[provider]
		switch {
		case tok == nil:
			return false, "Jwt is missing (provider " + provider + ")"
		case tok.err != "":
			return false, tok.err + " (provider " + provider + ")"
		}
		if len(audiences) > 0 && !audienceMatches(tok.claims, audiences) {
			return false, "Audiences in Jwt are not allowed (provider " + provider + ")"
		}
		return true, "a valid JWT for provider " + provider
	}
	switch x := r.GetRequiresType().(type) {
	case *jwtv3.JwtRequirement_ProviderName:
		return one(x.ProviderName, nil)
	case *jwtv3.JwtRequirement_ProviderAndAudiences:
		return one(x.ProviderAndAudiences.GetProviderName(), x.ProviderAndAudiences.GetAudiences())
	case *jwtv3.JwtRequirement_RequiresAny:
		var whys []string
		for _, sub := range x.RequiresAny.GetRequirements() {
			ok, why := t.requirement(sub, providers, tokens)
			if ok {
				return true, why
			}
			whys = append(whys, why)
		}
		return false, strings.Join(whys, "; ")
	case *jwtv3.JwtRequirement_RequiresAll:
		for _, sub := range x.RequiresAll.GetRequirements() {
			if ok, why := t.requirement(sub, providers, tokens); !ok {
				return false, why
			}
		}
		return true, "every required JWT is valid"
	case *jwtv3.JwtRequirement_AllowMissingOrFailed:
		return true, "a missing or failed JWT is allowed"
	case *jwtv3.JwtRequirement_AllowMissing:
		for _, tok := range tokens {
			if tok.err != "" {
				return false, tok.err
			}
		}
		return true, "a missing JWT is allowed (a failed one is not)"
	}
	return true, "no requirement"
}

func audienceMatches(claims map[string]any, allowed []string) bool {
	switch aud := claims["aud"].(type) {
	case string:
		return slices.Contains(allowed, aud)
	case []any:
		for _, a := range aud {
			if s, ok := a.(string); ok && slices.Contains(allowed, s) {
				return true
			}
		}
	}
	return false
}

// findToken looks for a provider's token where it says (headers with
// their prefix, query parameters, cookies), by default in Authorization:
// Bearer and the access_token parameter.
func (t *tracer) findToken(p *jwtv3.JwtProvider) *jwtToken {
	type loc struct{ header, prefix string }
	locs := []loc{}
	for _, h := range p.GetFromHeaders() {
		locs = append(locs, loc{h.GetName(), h.GetValuePrefix()})
	}
	params := p.GetFromParams()
	if len(locs) == 0 && len(params) == 0 && len(p.GetFromCookies()) == 0 {
		locs = append(locs, loc{"authorization", "Bearer "})
		params = []string{"access_token"}
	}
	for _, l := range locs {
		for _, v := range headerList(t, l.header) {
			if l.prefix == "" || strings.HasPrefix(v, l.prefix) {
				return decodeJWT(strings.TrimSpace(strings.TrimPrefix(v, l.prefix)))
			}
		}
	}
	if _, q, ok := strings.Cut(t.req.Path, "?"); ok {
		vals, _ := url.ParseQuery(q)
		for _, name := range params {
			if v := vals.Get(name); v != "" {
				return decodeJWT(v)
			}
		}
	}
	for _, c := range p.GetFromCookies() {
		for _, cookie := range headerList(t, "cookie") {
			for _, part := range strings.Split(cookie, ";") {
				if k, v, ok := strings.Cut(strings.TrimSpace(part), "="); ok && k == c {
					return decodeJWT(v)
				}
			}
		}
	}
	return nil
}

func headerList(t *tracer, name string) []string {
	vs, _ := t.headerValues(name)
	return vs
}

// decodeJWT reads a token's payload without verifying its signature.
func decodeJWT(raw string) *jwtToken {
	tok := &jwtToken{raw: raw}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		tok.err = "Jwt is not in the form of Header.Payload.Signature"
		return tok
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		tok.err = "Jwt payload is not base64url"
		return tok
	}
	if err := json.Unmarshal(payload, &tok.claims); err != nil {
		tok.err = "Jwt payload is not a JSON object"
	}
	return tok
}

// checkToken checks a token against its provider: issuer, audiences and
// expiry (Envoy's wording).
func (t *tracer) checkToken(provider string, p *jwtv3.JwtProvider, tok *jwtToken) {
	if tok.err != "" {
		return
	}
	iss, _ := tok.claims["iss"].(string)
	if p.GetIssuer() != "" && iss != p.GetIssuer() {
		tok.err = "Jwt issuer is not configured"
		return
	}
	if len(p.GetAudiences()) > 0 && !audienceMatches(tok.claims, p.GetAudiences()) {
		tok.err = "Audiences in Jwt are not allowed"
		return
	}
	now := float64(t.now().Unix())
	skew := float64(60) // Envoy's default clock_skew_seconds
	if s := p.GetClockSkewSeconds(); s != 0 {
		skew = float64(s)
	}
	if exp, ok := tok.claims["exp"].(float64); ok && now > exp+skew {
		tok.err = "Jwt is expired"
		return
	}
	if nbf, ok := tok.claims["nbf"].(float64); ok && now+skew < nbf {
		tok.err = "Jwt not yet valid"
	}
}

// now is the clock for token expiry.
func (t *tracer) now() time.Time {
	if t.req.Now != nil {
		return t.req.Now()
	}
	return time.Now()
}

// setJWTMetadata hands a valid token's payload on as Envoy does (the
// provider's payload_in_metadata) and as Istio's authn filter does
// (istio_authn: request.auth.principal, audiences, presenter, claims).
func (t *tracer) setJWTMetadata(p *jwtv3.JwtProvider, tok *jwtToken) {
	if t.req.DynamicMetadata == nil {
		t.req.DynamicMetadata = map[string]any{}
	}
	if key := p.GetPayloadInMetadata(); key != "" {
		md, _ := t.req.DynamicMetadata["envoy.filters.http.jwt_authn"].(map[string]any)
		if md == nil {
			md = map[string]any{}
			t.req.DynamicMetadata["envoy.filters.http.jwt_authn"] = md
		}
		md[key] = tok.claims
	}
	iss, _ := tok.claims["iss"].(string)
	sub, _ := tok.claims["sub"].(string)
	authn := map[string]any{"request.auth.principal": iss + "/" + sub, "request.auth.claims": claimsAsLists(tok.claims)}
	if aud, ok := tok.claims["aud"]; ok {
		authn["request.auth.audiences"] = fmt.Sprint(aud)
	}
	if azp, ok := tok.claims["azp"].(string); ok {
		authn["request.auth.presenter"] = azp
	}
	t.req.DynamicMetadata["istio_authn"] = authn
}

// claimsAsLists writes claims as Istio's authn filter does for RBAC: each
// claim a list of strings (Istio matches request.auth.claims[NAME] with a
// list matcher).
func claimsAsLists(claims map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range claims {
		switch x := v.(type) {
		case []any:
			out[k] = x
		case map[string]any:
			out[k] = claimsAsLists(x)
		default:
			out[k] = []any{fmt.Sprint(x)}
		}
	}
	return out
}
