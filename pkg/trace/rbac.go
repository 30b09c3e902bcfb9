package trace

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	rbacv3 "github.com/envoyproxy/go-control-plane/envoy/config/rbac/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
)

// tri is a match that may not be decidable from what the trace knows: a
// principal when the client's identity is not given, a source IP not
// given, metadata filters set at run time.
type tri uint8

const (
	no tri = iota
	yes
	unknownMatch
)

// or is true if any is, false if all are false, else unknown.
func or(n int, at func(int) (tri, string)) (tri, string) {
	result, why := no, ""
	for i := 0; i < n; i++ {
		t, w := at(i)
		switch t {
		case yes:
			return yes, w
		case unknownMatch:
			result, why = unknownMatch, w
		}
	}
	return result, why
}

// and is false if any is, true if all are true, else unknown.
func and(n int, at func(int) (tri, string)) (tri, string) {
	result, why := yes, ""
	for i := 0; i < n; i++ {
		t, w := at(i)
		switch t {
		case no:
			return no, w
		case unknownMatch:
			result, why = unknownMatch, w
		}
	}
	return result, why
}

func not(t tri, why string) (tri, string) {
	switch t {
	case yes:
		return no, "not: " + why
	case no:
		return yes, "not: " + why
	}
	return t, why
}

// peer is what an RBAC rule may ask of the downstream connection.
type peer struct {
	mtls      bool   // a client certificate was presented and verified
	principal string // its URI SAN ("" when not known)
	sourceIP  string // "" when not known
}

// policyMatch evaluates one RBAC policy: any permission and any principal.
func (t *tracer) policyMatch(p *rbacv3.Policy, pr peer) (tri, string) {
	perm, pwhy := or(len(p.GetPermissions()), func(i int) (tri, string) { return t.permission(p.GetPermissions()[i], pr) })
	if perm == no {
		return no, pwhy
	}
	prin, iwhy := or(len(p.GetPrincipals()), func(i int) (tri, string) { return t.principal(p.GetPrincipals()[i], pr) })
	if p.GetCondition() != nil || p.GetCheckedCondition() != nil {
		return unknownMatch, "a CEL condition this trace does not evaluate"
	}
	switch {
	case prin == no:
		return no, iwhy
	case perm == yes && prin == yes:
		return yes, joinWhy(pwhy, iwhy)
	case perm == unknownMatch:
		return unknownMatch, pwhy
	}
	return unknownMatch, iwhy
}

func joinWhy(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

func (t *tracer) permission(p *rbacv3.Permission, pr peer) (tri, string) {
	switch r := p.GetRule().(type) {
	case *rbacv3.Permission_Any:
		return yes, ""
	case *rbacv3.Permission_AndRules:
		rs := r.AndRules.GetRules()
		return and(len(rs), func(i int) (tri, string) { return t.permission(rs[i], pr) })
	case *rbacv3.Permission_OrRules:
		rs := r.OrRules.GetRules()
		return or(len(rs), func(i int) (tri, string) { return t.permission(rs[i], pr) })
	case *rbacv3.Permission_NotRule:
		return not(t.permission(r.NotRule, pr))
	case *rbacv3.Permission_Header:
		if !t.req.HTTP() {
			return no, "a header rule on a TCP connection"
		}
		vs, present := t.headerValues(r.Header.GetName())
		return boolTri(MatchHeader(r.Header, vs, present)), "header " + r.Header.GetName() + " " + describeHeader(r.Header)
	case *rbacv3.Permission_UrlPath:
		if !t.req.HTTP() {
			return no, "a path rule on a TCP connection"
		}
		path, _, _ := strings.Cut(t.req.Path, "?")
		return boolTri(stringMatches(r.UrlPath.GetPath(), path)), "path " + describeString(r.UrlPath.GetPath())
	case *rbacv3.Permission_DestinationIp:
		return ipRule(t.req.Address, r.DestinationIp, "destination")
	case *rbacv3.Permission_DestinationPort:
		return boolTri(t.req.Port == r.DestinationPort), fmt.Sprintf("destination port %d", r.DestinationPort)
	case *rbacv3.Permission_DestinationPortRange:
		pr := r.DestinationPortRange
		return boolTri(int64(t.req.Port) >= int64(pr.GetStart()) && int64(t.req.Port) < int64(pr.GetEnd())), fmt.Sprintf("destination port in [%d,%d)", pr.GetStart(), pr.GetEnd())
	case *rbacv3.Permission_RequestedServerName:
		return boolTri(stringMatches(r.RequestedServerName, t.sni)), "SNI " + describeString(r.RequestedServerName)
	case *rbacv3.Permission_Metadata:
		return t.metadataRule(r.Metadata, pr)
	}
	return unknownMatch, fmt.Sprintf("a %T permission this trace does not evaluate", p.GetRule())
}

func (t *tracer) principal(p *rbacv3.Principal, pr peer) (tri, string) {
	switch r := p.GetIdentifier().(type) {
	case *rbacv3.Principal_Any:
		return yes, ""
	case *rbacv3.Principal_AndIds:
		ids := r.AndIds.GetIds()
		return and(len(ids), func(i int) (tri, string) { return t.principal(ids[i], pr) })
	case *rbacv3.Principal_OrIds:
		ids := r.OrIds.GetIds()
		return or(len(ids), func(i int) (tri, string) { return t.principal(ids[i], pr) })
	case *rbacv3.Principal_NotId:
		return not(t.principal(r.NotId, pr))
	case *rbacv3.Principal_Authenticated_:
		if !pr.mtls {
			return no, "the client presents no certificate (no mTLS)"
		}
		m := r.Authenticated.GetPrincipalName()
		if m == nil {
			return yes, "an authenticated client"
		}
		if pr.principal == "" {
			return unknownMatch, fmt.Sprintf("principal %s: the client's identity is not known (give --client-identity, or trace --from a pod)", describeString(m))
		}
		return boolTri(stringMatches(m, pr.principal)), fmt.Sprintf("principal %s (the client is %s)", describeString(m), pr.principal)
	case *rbacv3.Principal_SourceIp:
		return ipRule(pr.sourceIP, r.SourceIp, "source")
	case *rbacv3.Principal_DirectRemoteIp:
		return ipRule(pr.sourceIP, r.DirectRemoteIp, "source")
	case *rbacv3.Principal_RemoteIp:
		return ipRule(pr.sourceIP, r.RemoteIp, "source")
	case *rbacv3.Principal_Header:
		if !t.req.HTTP() {
			return no, "a header rule on a TCP connection"
		}
		vs, present := t.headerValues(r.Header.GetName())
		return boolTri(MatchHeader(r.Header, vs, present)), "header " + r.Header.GetName() + " " + describeHeader(r.Header)
	case *rbacv3.Principal_UrlPath:
		path, _, _ := strings.Cut(t.req.Path, "?")
		return boolTri(stringMatches(r.UrlPath.GetPath(), path)), "path " + describeString(r.UrlPath.GetPath())
	case *rbacv3.Principal_Metadata:
		return t.metadataRule(r.Metadata, pr)
	}
	return unknownMatch, fmt.Sprintf("a %T principal this trace does not evaluate", p.GetIdentifier())
}

// metadataRule evaluates a rule on dynamic metadata. What Istio's authn
// filter (istio_authn) and jwt_authn set is known to the trace: the peer's
// identity (source.principal, from the client certificate) and the
// request's JWT (request.auth.*, from the token given, or absent). Other
// filters' metadata is set at run time: the rule is then unknown.
func (t *tracer) metadataRule(m *matcherv3.MetadataMatcher, pr peer) (tri, string) {
	filter := m.GetFilter()
	key := ""
	if len(m.GetPath()) > 0 {
		key = m.GetPath()[0].GetKey()
	}
	md := t.req.DynamicMetadata
	if md == nil {
		md = map[string]any{}
	}
	switch {
	case filter == "istio_authn" && strings.HasPrefix(key, "source."):
		if !pr.mtls {
			return boolTri(metadataMatches(m, map[string]any{})), "the peer's identity (" + key + "): none without mTLS"
		}
		if pr.principal == "" {
			return unknownMatch, fmt.Sprintf("the peer's identity (%s): not known (give --client-identity, or trace --from a pod)", key)
		}
		id := strings.TrimPrefix(pr.principal, "spiffe://")
		ns := ""
		if _, rest, ok := strings.Cut(id, "/ns/"); ok {
			ns, _, _ = strings.Cut(rest, "/")
		}
		authn := map[string]any{"source.principal": id, "source.user": id, "source.namespace": ns}
		return boolTri(metadataMatches(m, map[string]any{"istio_authn": authn})), fmt.Sprintf("the peer's identity %s (%s)", id, key)
	case filter == "istio_authn" || filter == "envoy.filters.http.jwt_authn":
		return boolTri(metadataMatches(m, md)), fmt.Sprintf("the request's JWT (%s of %s)", key, filter)
	}
	if _, ok := md[filter]; ok {
		return boolTri(metadataMatches(m, md)), "dynamic metadata of " + filter
	}
	return unknownMatch, fmt.Sprintf("dynamic metadata of %s, set at run time", filter)
}

func boolTri(b bool) tri {
	if b {
		return yes
	}
	return no
}

func ipRule(ip string, r *corev3.CidrRange, which string) (tri, string) {
	p, err := cidr(r)
	if err != nil {
		return unknownMatch, fmt.Sprintf("%s range %s/%d is not valid", which, r.GetAddressPrefix(), r.GetPrefixLen().GetValue())
	}
	if ip == "" {
		return unknownMatch, fmt.Sprintf("%s IP in %s: not known (give --source-ip)", which, p)
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return unknownMatch, fmt.Sprintf("%s IP %q is not an IP", which, ip)
	}
	return boolTri(p.Contains(a.Unmap())), fmt.Sprintf("%s IP %s in %s", which, ip, p)
}

// rbacDecision is what an RBAC filter does with the request.
type rbacDecision struct {
	allowed tri
	policy  string // the policy that decided, when one did
	why     string
}

// rbac evaluates an RBAC filter's rules: ALLOW lets through what a policy
// matches, DENY stops what one matches, LOG changes nothing.
func (t *tracer) rbac(rules *rbacv3.RBAC, pr peer) rbacDecision {
	names := slices.Sorted(maps.Keys(rules.GetPolicies()))
	matched, unsure, unsureWhy := "", "", ""
	var reasons []string
	for _, n := range names {
		m, why := t.policyMatch(rules.GetPolicies()[n], pr)
		switch m {
		case yes:
			if matched == "" {
				matched = n
				reasons = append(reasons, why)
			}
		case unknownMatch:
			if unsure == "" {
				unsure, unsureWhy = n, why
			}
		}
	}
	switch rules.GetAction() {
	case rbacv3.RBAC_ALLOW:
		switch {
		case matched != "":
			return rbacDecision{yes, matched, fmt.Sprintf("ALLOW policy %s matches%s", matched, because(reasons))}
		case unsure != "":
			return rbacDecision{unknownMatch, unsure, fmt.Sprintf("whether ALLOW policy %s matches depends on %s", unsure, unsureWhy)}
		case len(names) == 0:
			return rbacDecision{no, "", "an ALLOW filter with no policy denies every request"}
		}
		return rbacDecision{no, "", fmt.Sprintf("no ALLOW policy matches (%d: %s)", len(names), strings.Join(names, ", "))}
	case rbacv3.RBAC_DENY:
		switch {
		case matched != "":
			return rbacDecision{no, matched, fmt.Sprintf("DENY policy %s matches%s", matched, because(reasons))}
		case unsure != "":
			return rbacDecision{unknownMatch, unsure, fmt.Sprintf("whether DENY policy %s matches depends on %s", unsure, unsureWhy)}
		}
		return rbacDecision{yes, "", fmt.Sprintf("no DENY policy matches (%d)", len(names))}
	}
	return rbacDecision{yes, matched, "LOG (audit) policies only log"}
}

func because(reasons []string) string {
	if len(reasons) == 0 || reasons[0] == "" {
		return ""
	}
	return ": " + reasons[0]
}
