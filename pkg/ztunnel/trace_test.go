package ztunnel

import (
	"strings"
	"testing"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/trace"
)

// Connections through istioctl's ambient test dump (bookinfo in two
// namespaces, a namespace policy allow-nothing in default).
func TestOutboundAndInbound(t *testing.T) {
	d, err := Load(older(t))
	if err != nil {
		t.Fatal(err)
	}
	sleep := d.WorkloadByIP("10.244.2.58") // default/sleep, HBONE
	for _, tc := range []struct {
		name      string
		src       *Workload
		dst       string
		port      uint32
		result    string
		kind      string
		to        string // next address:port
		target    string // CONNECT authority
		inbound   string // the destination's result, "" for none
		authzNote string
	}{
		{"service VIP to its endpoint over HBONE; denied there by allow-nothing", sleep, "10.96.198.255", 9080, trace.Forwarded, "workload",
			"10.244.2.56:15008", "10.244.2.56:9080", trace.Denied, "no ALLOW policy matches (default/allow-nothing)"},
		{"a pod IP with a workload waypoint goes to the waypoint", sleep, "10.244.2.53", 9080, trace.Forwarded, "waypoint",
			"10.244.2.59:15008", "10.244.2.53:9080", "", ""},
		{"a service of bookinfo: its endpoint (the workload waypoint is not for service traffic)", sleep, "10.96.200.228", 9080, trace.Forwarded, "workload",
			"10.244.2.51:15008", "10.244.2.51:9080", trace.Forwarded, ""},
		{"a port the service lacks", sleep, "10.96.198.255", 8080, trace.NoHealthyUpstream, "", "", "", "", ""},
		{"an address outside the mesh", sleep, "1.2.3.4", 443, trace.Passthrough, "passthrough", "1.2.3.4:443", "", "", ""},
		{"a client not in ambient mode", d.WorkloadByIP("10.244.1.40"), "10.96.198.255", 9080, trace.Passthrough, "passthrough", "10.96.198.255:9080", "", "", ""},
		{"a TCP destination: plain TCP to its port", sleep, "10.96.26.108", 8000, trace.Forwarded, "workload", "10.244.1.40:80", "10.244.1.40:80", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Conn{SrcIP: "10.244.2.58", SrcIdentity: sleep.Identity(), DstIP: tc.dst, DstPort: tc.port}
			h, next := d.Outbound("ztunnel", tc.src, c)
			if h.Result != tc.result || next.Kind != tc.kind {
				t.Fatalf("result %s next %+v, want %s %s\nsteps %v\nnotes %v", h.Result, next, tc.result, tc.kind, h.Steps, h.Notes)
			}
			if tc.to != "" && netJoin(next.Address, next.Port) != tc.to || next.Target != tc.target {
				t.Errorf("to %s (%s), want %s (%s)", netJoin(next.Address, next.Port), next.Target, tc.to, tc.target)
			}
			if len(h.Steps) == 0 && h.Result == trace.Forwarded {
				t.Error("no reasons")
			}
			if tc.inbound == "" {
				return
			}
			in := d.Inbound("ztunnel", next.Workload, Conn{SrcIP: c.SrcIP, SrcIdentity: c.SrcIdentity, DstIP: next.Address, DstPort: 9080})
			if in.Result != tc.inbound || !strings.Contains(strings.Join(in.Notes, " "), tc.authzNote) {
				t.Errorf("inbound %s, want %s; notes %v", in.Result, tc.inbound, in.Notes)
			}
		})
	}
}

// L4 policies as ztunnel evaluates them (src/rbac.rs, src/state.rs
// assert_rbac at istio/ztunnel 62d82653): the newer-shape dump's
// reviews-viewer (principal sleep, or a namespace book*, on port 9080).
func TestAuthorize(t *testing.T) {
	d, err := Load(read(t, "testdata/newer-shape.json"))
	if err != nil {
		t.Fatal(err)
	}
	reviews := d.WorkloadByIP("10.244.1.7")
	reviews.AuthorizationPolicies = []string{"default/reviews-viewer"}
	for _, tc := range []struct {
		name     string
		identity string
		port     uint32
		want     tri
	}{
		{"sleep's principal on 9080", "spiffe://cluster.local/ns/default/sa/sleep", 9080, yes},
		{"a bookinfo namespace", "spiffe://cluster.local/ns/bookinfo/sa/x", 9080, yes},
		// deny-9999 is, despite its name, a Namespace-wide ALLOW of every
		// port but 9999 (ztunnel's examples/localhost.yaml).
		{"another identity: allowed by deny-9999", "spiffe://cluster.local/ns/default/sa/other", 9080, yes},
		{"no identity given: deny-9999 needs none", "", 9080, yes},
		{"port 9999: neither allows", "spiffe://cluster.local/ns/default/sa/sleep", 9999, no},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := hop("z", "inbound")
			got, why := d.Authorize(h, reviews, Conn{SrcIdentity: tc.identity, DstIP: "10.244.1.7", DstPort: tc.port})
			if got != tc.want {
				t.Errorf("got %v (%s), want %v; decisions %+v", got, why, tc.want, h.Authorization)
			}
		})
	}
	// Without deny-9999, reviews-viewer alone decides: its principal and
	// namespace need the client identity.
	all := d.Policies
	d.Policies = []*Policy{all[1]}
	if got, why := d.Authorize(hop("z", "inbound"), reviews, Conn{DstIP: "10.244.1.7", DstPort: 9080}); got != unknown || !strings.Contains(why, "not known") {
		t.Errorf("no identity: %v %s", got, why)
	}
	if got, _ := d.Authorize(hop("z", "inbound"), reviews, Conn{SrcIdentity: "spiffe://cluster.local/ns/default/sa/other", DstPort: 9080}); got != no {
		t.Errorf("another identity: %v", got)
	}
	// A rule-less ALLOW matches nothing; a DENY that matches wins over ALLOW.
	p := &Policy{Name: "x", Namespace: "default", Scope: "Namespace", Action: "Deny", Rules: [][][]*Match{{{{DestinationPorts: []int{9080}}}}}}
	d.Policies = append(d.Policies, p)
	if got, _ := d.Authorize(hop("z", "inbound"), reviews, Conn{SrcIdentity: "spiffe://cluster.local/ns/default/sa/sleep", DstPort: 9080}); got != no {
		t.Errorf("a matching DENY: %v", got)
	}
	p.DryRun = true
	if got, _ := d.Authorize(hop("z", "inbound"), reviews, Conn{SrcIdentity: "spiffe://cluster.local/ns/default/sa/sleep", DstPort: 9080}); got != yes {
		t.Errorf("a dry-run DENY is only logged: %v", got)
	}
}

// What this build cannot evaluate is decided "unknown", never skipped: a
// match field of a newer ztunnel, an action or scope it does not know, a
// destination on another network.
func TestWhatIsNotEvaluatedIsUnknown(t *testing.T) {
	load := func(policies string) *Dump {
		d, err := Load([]byte(`{"workloads":[
		  {"uid":"a","workloadIps":["10.0.0.1"],"protocol":"HBONE","name":"a","namespace":"n","serviceAccount":"a","status":"Healthy","authorizationPolicies":["n/gone"]},
		  {"uid":"b","workloadIps":["10.0.0.2"],"protocol":"HBONE","name":"b","namespace":"n","serviceAccount":"b","status":"Healthy","network":"west"}],
		 "services":[], "policies":` + policies + `}`))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	conn := Conn{SrcIP: "10.0.0.2", SrcIdentity: "spiffe://cluster.local/ns/n/sa/b", DstIP: "10.0.0.1", DstPort: 80}
	for _, tc := range []struct{ name, policies, why string }{
		{"a match field not known", `[{"name":"p","namespace":"n","scope":"Namespace","action":"Allow","rules":[[[{"namespaces":[{"Exact":"n"}],"destinationNamespaces":["x"]}]]]}]`, "destinationNamespaces"},
		{"an action not known", `[{"name":"p","namespace":"n","scope":"Namespace","action":"Audit","rules":[]}]`, `action "Audit"`},
		{"a scope not known", `[{"name":"p","namespace":"n","scope":"Cluster","action":"Deny","rules":[]}]`, `scope "Cluster"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := load(tc.policies)
			h := hop("z", "inbound")
			got, why := d.Authorize(h, d.WorkloadByIP("10.0.0.1"), conn)
			if got != unknown || !strings.Contains(why, tc.why) {
				t.Errorf("got %v %q, want unknown naming %s", got, why, tc.why)
			}
		})
	}
	d := load(`[]`)
	h := hop("z", "inbound")
	if got, _ := d.Authorize(h, d.WorkloadByIP("10.0.0.1"), conn); got != yes || !strings.Contains(strings.Join(h.Notes, " "), "policy n/gone selects a.n but is not in the dump") {
		t.Errorf("a selected policy missing from the dump: %v %v", got, h.Notes)
	}
	// b (network west) to a (the default network): through a gateway.
	out, next := d.Outbound("z", d.WorkloadByIP("10.0.0.2"), Conn{SrcIP: "10.0.0.2", DstIP: "10.0.0.1", DstPort: 80})
	if out.Result != trace.Unknown || next.Kind != "" || !strings.Contains(out.UnknownDependsOn, "network gateway") {
		t.Errorf("across networks: %s %q", out.Result, out.UnknownDependsOn)
	}
}

func TestWeightedWaypointsAreSaid(t *testing.T) {
	d, err := Load([]byte(`{"workloads":[
	  {"uid":"c","workloadIps":["10.0.0.3"],"protocol":"HBONE","name":"c","namespace":"n","status":"Healthy"},
	  {"uid":"w","workloadIps":["10.0.0.9"],"protocol":"TCP","name":"wp","namespace":"n","status":"Healthy"}],
	 "services":[{"name":"s","namespace":"n","hostname":"s.n.svc.cluster.local","vips":["10.96.0.1"],"ports":{"80":8080},"endpoints":{},
	   "waypoint":{"destination":"/10.96.0.9","hboneMtlsPort":15008},
	   "weightedWaypoints":[{"destination":{"destination":"/10.96.0.9","hboneMtlsPort":15008},"weight":90},{"destination":{"destination":"/10.96.0.8","hboneMtlsPort":15008},"weight":10}]},
	  {"name":"wp","namespace":"n","hostname":"wp.n.svc.cluster.local","vips":["/10.96.0.9"],"ports":{"15008":15008},"endpoints":{"w":{"workloadUid":"w","port":{"15008":15008}}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if s := d.ServiceByHost("s.n.svc.cluster.local"); s.VIP() != "10.96.0.1" {
		t.Errorf("a VIP written without its network: %q", s.VIP())
	}
	h, next := d.Outbound("z", d.WorkloadByIP("10.0.0.3"), Conn{SrcIP: "10.0.0.3", DstIP: "10.96.0.1", DstPort: 80})
	if next.Kind != "waypoint" || !strings.Contains(strings.Join(h.Notes, " "), "2 weighted waypoints") {
		t.Errorf("%s %+v %v", h.Result, next, h.Notes)
	}
}
