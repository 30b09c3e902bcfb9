package render

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// Routes writes one row per route, under its route configuration and virtual host.
func Routes(w io.Writer, rcs []*xds.RouteConfig, opts TableOptions) error {
	cols := []string{"NAME", "VHOST NAME", "DOMAINS", "MATCH", "ACTION", "VIRTUAL SERVICE", "STATE"}
	if opts.Wide {
		cols = []string{"NAME", "VHOST NAME", "DOMAINS", "MATCH", "ACTION", "VIRTUAL SERVICE", "STATE", "ROUTE", "REWRITE", "TIMEOUT", "VERSION"}
	}
	t := NewTable(w, opts, cols...)
	var ns []note
	for _, rc := range rcs {
		ns = addNote(ns, note{rc.Name, rc.State, rc.Version, rc.LastUpdated, rc.Error})
	}
	// A row for each route of each virtual host: the virtual hosts are the
	// items made on several cores (a gateway has a few configurations of
	// many hosts).
	type host struct {
		rc *xds.RouteConfig
		vh *xds.VirtualHost // nil: a configuration without virtual hosts
	}
	var hosts []host
	for _, rc := range rcs {
		if len(rc.VirtualHosts) == 0 {
			hosts = append(hosts, host{rc: rc})
		}
		for _, vh := range rc.VirtualHosts {
			hosts = append(hosts, host{rc, vh})
		}
	}
	t.RowsOf(len(hosts), func(i int, rows *Rows) {
		rc, vh := hosts[i].rc, hosts[i].vh
		name := rc.Name
		if rc.InlineIn != "" {
			name = "(inline in listener " + rc.InlineIn + ")"
		}
		if vh == nil {
			rows.Row(name, "-", "-", "-", "-", "-", string(rc.State))
			return
		}
		domains := Domains(vh.Domains, !opts.Wide)
		if len(vh.Routes) == 0 {
			rows.Row(name, vh.Name, domains, "-", "-", "-", string(rc.State))
			return
		}
		for _, r := range vh.Routes {
			if opts.Wide {
				rows.Row(name, vh.Name, domains, RouteMatch(r), RouteAction(r.Action), dash(r.VirtualService), string(rc.State),
					dash(r.Name), dash(rewrite(r.Action)), dash(r.Action.Timeout), dash(rc.Version))
				continue
			}
			rows.Row(name, vh.Name, domains, RouteMatch(r), RouteAction(r.Action), dash(r.VirtualService), string(rc.State))
		}
	})
	if err := t.Flush(); err != nil {
		return err
	}
	return stateNotes(w, "route config", ns)
}

// Domains lists a virtual host's domains; short keeps the first two.
func Domains(ds []string, short bool) string {
	if short && len(ds) > 2 {
		return fmt.Sprintf("%s + %d more...", strings.Join(ds[:2], ", "), len(ds)-2)
	}
	return dash(strings.Join(ds, ", "))
}

// pathMatch describes the path part of a match as istioctl does:
// "/api*" for a prefix, the path for an exact match.
func pathMatch(r *xds.Route) string {
	if r.MatchError != "" {
		return "unreadable: " + r.MatchError
	}
	m := r.Match
	switch p := m.GetPathSpecifier().(type) {
	case *routev3.RouteMatch_Prefix:
		return p.Prefix + "*"
	case *routev3.RouteMatch_Path:
		return p.Path
	case *routev3.RouteMatch_SafeRegex:
		return "regex " + p.SafeRegex.GetRegex()
	case *routev3.RouteMatch_PathSeparatedPrefix:
		return "PathPrefix:" + p.PathSeparatedPrefix
	case *routev3.RouteMatch_ConnectMatcher_:
		return "CONNECT"
	case *routev3.RouteMatch_PathMatchPolicy:
		return "template " + xds.ShortType(p.PathMatchPolicy.GetTypedConfig().GetTypeUrl())
	}
	return "/*"
}

// RouteMatch describes a whole route match: the path, then every other
// condition istioctl leaves out (methods, headers, query parameters, gRPC,
// case, runtime fraction).
func RouteMatch(r *xds.Route) string {
	s := pathMatch(r)
	m := r.Match
	var conds []string
	for _, h := range m.GetHeaders() {
		conds = append(conds, headerCond(h))
	}
	for _, q := range m.GetQueryParameters() {
		conds = append(conds, queryCond(q))
	}
	if m.GetGrpc() != nil {
		conds = append(conds, "grpc")
	}
	if cs := m.GetCaseSensitive(); cs != nil && !cs.GetValue() {
		conds = append(conds, "case-insensitive")
	}
	if rf := m.GetRuntimeFraction(); rf != nil {
		d := rf.GetDefaultValue()
		conds = append(conds, fmt.Sprintf("runtime %s %d/%s", rf.GetRuntimeKey(), d.GetNumerator(), strings.ToLower(d.GetDenominator().String())))
	}
	if len(conds) > 0 {
		s += " [" + strings.Join(conds, ", ") + "]"
	}
	return s
}

func headerCond(h *routev3.HeaderMatcher) string {
	name := h.GetName()
	if name == ":method" {
		name = "method"
	}
	var c string
	switch {
	case h.GetStringMatch() != nil:
		c = stringMatch(name, h.GetStringMatch())
	case h.GetExactMatch() != "":
		c = name + "=" + h.GetExactMatch()
	case h.GetSafeRegexMatch() != nil:
		c = name + "~" + h.GetSafeRegexMatch().GetRegex()
	case h.GetPrefixMatch() != "":
		c = name + "^=" + h.GetPrefixMatch()
	case h.GetSuffixMatch() != "":
		c = name + "$=" + h.GetSuffixMatch()
	case h.GetContainsMatch() != "":
		c = name + "*=" + h.GetContainsMatch()
	case h.GetRangeMatch() != nil:
		c = fmt.Sprintf("%s in [%d,%d)", name, h.GetRangeMatch().GetStart(), h.GetRangeMatch().GetEnd())
	case h.GetPresentMatch():
		c = name + " present"
	default:
		c = name + " present"
	}
	if h.GetInvertMatch() {
		c = "!(" + c + ")"
	}
	return c
}

func stringMatch(name string, m *matcherv3.StringMatcher) string {
	c := name
	switch p := m.GetMatchPattern().(type) {
	case *matcherv3.StringMatcher_Exact:
		c += "=" + p.Exact
	case *matcherv3.StringMatcher_Prefix:
		c += "^=" + p.Prefix
	case *matcherv3.StringMatcher_Suffix:
		c += "$=" + p.Suffix
	case *matcherv3.StringMatcher_Contains:
		c += "*=" + p.Contains
	case *matcherv3.StringMatcher_SafeRegex:
		c += "~" + p.SafeRegex.GetRegex()
	default:
		c += " present"
	}
	if m.GetIgnoreCase() {
		c += " (any case)"
	}
	return c
}

func queryCond(q *routev3.QueryParameterMatcher) string {
	name := "?" + q.GetName()
	if sm := q.GetStringMatch(); sm != nil {
		return stringMatch(name, sm)
	}
	return name + " present"
}

// RouteAction says what a route does.
func RouteAction(a xds.Action) string {
	switch a.Kind {
	case xds.ActCluster:
		return a.Cluster
	case xds.ActClusterHeader:
		return "cluster from header " + a.ClusterHeader
	case xds.ActWeighted:
		return weighted(a.Weighted, a.TotalWeight)
	case xds.ActClusterPlugin:
		return "cluster specifier plugin"
	case xds.ActRedirect:
		return redirect(a.Redirect)
	case xds.ActDirectResponse:
		return "direct response " + strconv.FormatUint(uint64(a.Status), 10)
	case xds.ActNonForwarding:
		return "non-forwarding (handled by a filter)"
	}
	return "-"
}

// weighted writes "a 90%, b 10%" (weights as shares of the total).
func weighted(ws []xds.WeightedCluster, total uint32) string {
	if total == 0 {
		for _, w := range ws {
			total += w.Weight
		}
	}
	var buf [512]byte // on the stack: the string is the one allocation
	b := buf[:0]
	for i, w := range ws {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, w.Name...)
		if total == 0 {
			continue
		}
		b = append(b, ' ')
		if n := uint64(w.Weight) * 100; n%uint64(total) == 0 {
			b = strconv.AppendUint(b, n/uint64(total), 10) // a whole share, as FormatFloat writes it
		} else {
			b = strconv.AppendFloat(b, float64(w.Weight)*100/float64(total), 'f', -1, 64)
		}
		b = append(b, '%')
	}
	return string(b)
}

func redirect(r *xds.Redirect) string {
	var parts []string
	if r.Scheme != "" {
		parts = append(parts, "scheme="+r.Scheme)
	}
	if r.Host != "" {
		parts = append(parts, "host="+r.Host)
	}
	if r.Port != 0 {
		parts = append(parts, "port="+strconv.FormatUint(uint64(r.Port), 10))
	}
	if r.Path != "" {
		parts = append(parts, "path="+r.Path)
	}
	if r.PrefixRewrite != "" {
		parts = append(parts, "prefix="+r.PrefixRewrite)
	}
	if r.StripQuery {
		parts = append(parts, "strip query")
	}
	code := r.Code
	if code == "" {
		code = "MOVED_PERMANENTLY"
	}
	return "redirect " + code + " " + strings.Join(parts, " ")
}

func rewrite(a xds.Action) string {
	var parts []string
	if a.PrefixRewrite != "" {
		parts = append(parts, "prefix="+a.PrefixRewrite)
	}
	if a.RegexRewrite != "" {
		parts = append(parts, "regex="+a.RegexRewrite)
	}
	if a.HostRewrite != "" {
		parts = append(parts, "host="+a.HostRewrite)
	}
	return strings.Join(parts, " ")
}
