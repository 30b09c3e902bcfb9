package xds

import (
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
)

// fastMatch reads the route matches control planes write most (a path
// prefix, exact path or RE2 regex, case sensitivity, header and query
// parameter string matches) straight from the dump's JSON, for large route
// tables. It answers only when every field is one it reads, each once, in
// the form protojson would take; anything else (and null, numbers, other
// matchers) is left to protojson: ok is false then, so the result is
// always protojson's.
func fastMatch(v jsonscan.Value) (m *routev3.RouteMatch, ok bool) {
	if v.Kind() != jsonscan.Object {
		return nil, false
	}
	m = &routev3.RouteMatch{}
	ok = true
	seen := 0
	_ = v.Fields(func(k []byte, val jsonscan.Value) bool {
		var bit int
		switch {
		case jsonscan.KeyIs(k, "prefix") && val.Kind() == jsonscan.String:
			bit, m.PathSpecifier = 1, &routev3.RouteMatch_Prefix{Prefix: val.Str()}
		case jsonscan.KeyIs(k, "path") && val.Kind() == jsonscan.String:
			bit, m.PathSpecifier = 1, &routev3.RouteMatch_Path{Path: val.Str()}
		case jsonscan.KeyIs(k, "safe_regex"):
			re, good := fastRegex(val)
			bit, ok, m.PathSpecifier = 1, good, &routev3.RouteMatch_SafeRegex{SafeRegex: re}
		case jsonscan.KeyIs(k, "case_sensitive") && val.Kind() == jsonscan.Bool:
			bit, m.CaseSensitive = 2, wrapperspb.Bool(val.Bool())
		case jsonscan.KeyIs(k, "headers") && val.Kind() == jsonscan.Array:
			bit = 4
			_ = val.Items(func(_ int, h jsonscan.Value) bool {
				hm, good := fastHeader(h)
				ok = ok && good
				m.Headers = append(m.Headers, hm)
				return ok
			})
		case jsonscan.KeyIs(k, "query_parameters") && val.Kind() == jsonscan.Array:
			bit = 8
			_ = val.Items(func(_ int, q jsonscan.Value) bool {
				qm, good := fastQuery(q)
				ok = ok && good
				m.QueryParameters = append(m.QueryParameters, qm)
				return ok
			})
		default:
			ok = false
		}
		if seen&bit != 0 { // two path specifiers, or a field twice: protojson's to judge
			ok = false
		}
		seen |= bit
		return ok
	})
	return m, ok
}

// fastRegex reads {"regex": "..."}.
func fastRegex(v jsonscan.Value) (*matcherv3.RegexMatcher, bool) {
	if v.Kind() != jsonscan.Object {
		return nil, false
	}
	re, ok, n := &matcherv3.RegexMatcher{}, true, 0
	_ = v.Fields(func(k []byte, val jsonscan.Value) bool {
		n++
		if jsonscan.KeyIs(k, "regex") && val.Kind() == jsonscan.String {
			re.Regex = val.Str()
			return true
		}
		ok = false
		return false
	})
	return re, ok && n == 1
}

// fastString reads a StringMatcher: one of exact, prefix, suffix,
// contains or safe_regex, and ignore_case.
func fastString(v jsonscan.Value) (*matcherv3.StringMatcher, bool) {
	if v.Kind() != jsonscan.Object {
		return nil, false
	}
	sm, ok, patterns, ignore := &matcherv3.StringMatcher{}, true, 0, 0
	_ = v.Fields(func(k []byte, val jsonscan.Value) bool {
		str := val.Kind() == jsonscan.String
		switch {
		case jsonscan.KeyIs(k, "exact") && str:
			patterns++
			sm.MatchPattern = &matcherv3.StringMatcher_Exact{Exact: val.Str()}
		case jsonscan.KeyIs(k, "prefix") && str:
			patterns++
			sm.MatchPattern = &matcherv3.StringMatcher_Prefix{Prefix: val.Str()}
		case jsonscan.KeyIs(k, "suffix") && str:
			patterns++
			sm.MatchPattern = &matcherv3.StringMatcher_Suffix{Suffix: val.Str()}
		case jsonscan.KeyIs(k, "contains") && str:
			patterns++
			sm.MatchPattern = &matcherv3.StringMatcher_Contains{Contains: val.Str()}
		case jsonscan.KeyIs(k, "safe_regex"):
			patterns++
			re, good := fastRegex(val)
			ok = ok && good
			sm.MatchPattern = &matcherv3.StringMatcher_SafeRegex{SafeRegex: re}
		case jsonscan.KeyIs(k, "ignore_case") && val.Kind() == jsonscan.Bool:
			ignore++
			sm.IgnoreCase = val.Bool()
		default:
			ok = false
		}
		return ok
	})
	return sm, ok && patterns == 1 && ignore <= 1
}

// fastHeader reads a HeaderMatcher by name with a string match or
// present_match, and invert_match.
func fastHeader(v jsonscan.Value) (*routev3.HeaderMatcher, bool) {
	n, ok := fastNamed(v, true)
	h := &routev3.HeaderMatcher{Name: n.name, InvertMatch: n.invert}
	switch {
	case n.string != nil:
		h.HeaderMatchSpecifier = &routev3.HeaderMatcher_StringMatch{StringMatch: n.string}
	case n.present != nil:
		h.HeaderMatchSpecifier = &routev3.HeaderMatcher_PresentMatch{PresentMatch: *n.present}
	}
	return h, ok
}

// fastQuery reads a QueryParameterMatcher by name with a string match or
// present_match.
func fastQuery(v jsonscan.Value) (*routev3.QueryParameterMatcher, bool) {
	n, ok := fastNamed(v, false)
	q := &routev3.QueryParameterMatcher{Name: n.name}
	switch {
	case n.string != nil:
		q.QueryParameterMatchSpecifier = &routev3.QueryParameterMatcher_StringMatch{StringMatch: n.string}
	case n.present != nil:
		q.QueryParameterMatchSpecifier = &routev3.QueryParameterMatcher_PresentMatch{PresentMatch: *n.present}
	}
	return q, ok
}

// named is what header and query parameter matchers share.
type named struct {
	name    string
	string  *matcherv3.StringMatcher
	present *bool
	invert  bool
}

// fastNamed reads name, one of string_match or present_match, and (for
// headers) invert_match, each at most once.
func fastNamed(v jsonscan.Value, invert bool) (named, bool) {
	var n named
	if v.Kind() != jsonscan.Object {
		return n, false
	}
	ok, seen := true, 0
	_ = v.Fields(func(k []byte, val jsonscan.Value) bool {
		var bit int
		switch {
		case jsonscan.KeyIs(k, "name") && val.Kind() == jsonscan.String:
			bit, n.name = 1, val.Str()
		case jsonscan.KeyIs(k, "string_match"):
			bit, n.string, ok = 2, nil, false
			if sm, good := fastString(val); good {
				n.string, ok = sm, true
			}
		case jsonscan.KeyIs(k, "present_match") && val.Kind() == jsonscan.Bool:
			p := val.Bool()
			bit, n.present = 2, &p
		case invert && jsonscan.KeyIs(k, "invert_match") && val.Kind() == jsonscan.Bool:
			bit, n.invert = 4, val.Bool()
		default:
			ok = false
		}
		if seen&bit != 0 {
			ok = false
		}
		seen |= bit
		return ok
	})
	return n, ok
}
