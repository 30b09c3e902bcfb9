package xds

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/kubectl-mesh/kubectl-mesh/internal/dumpgen"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
)

// endpointsByPick is how assignments were read before the Reader: each
// object by Pick, level by level. It is the reference the one-pass reading
// is compared with.
func endpointsByPick(e envoyadmin.Entry) []Endpoint {
	var hosts []Endpoint
	var cla, le, f [3]jsonscan.Value
	var ep [2]jsonscan.Value
	e.Resource.PickTo(cla[:], "cluster_name", "endpoints")
	cluster := cla[0].Str()
	_ = cla[1].Items(func(_ int, group jsonscan.Value) bool {
		group.PickTo(le[:], "locality", "priority", "lb_endpoints")
		loc := locality(le[0])
		prio, _ := le[1].Uint()
		_ = le[2].Items(func(_ int, lb jsonscan.Value) bool {
			lb.PickTo(f[:], "endpoint", "health_status", "load_balancing_weight")
			f[0].PickTo(ep[:], "address", "hostname")
			w, invalid := uint32(1), ""
			if f[2].Present() {
				var ok bool
				if w, ok = lbWeight(f[2]); !ok {
					invalid = string(f[2].Raw())
				}
			}
			hosts = append(hosts, Endpoint{
				Address: hostPort(ep[0]), Cluster: cluster, Health: healthStatus(f[1]), Weight: w, WeightInvalid: invalid,
				Locality: loc, Priority: uint32(prio), Hostname: ep[1].Str(),
			})
			return true
		})
		return true
	})
	return hosts
}

func agreeOnAssignment(t *testing.T, name string, e envoyadmin.Entry) int {
	t.Helper()
	want := endpointsByPick(e)
	var got []Endpoint
	for _, h := range endpointsFromEDS(e) {
		if h.Entry == nil || h.Entry.Resource != e.Resource {
			t.Fatalf("%s: a host does not point at its entry", name)
		}
		h.Entry = nil
		got = append(got, h)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: read in one pass\n%+v\nby Pick\n%+v\nfrom %.2000s", name, got, want, e.Resource.Raw())
	}
	// What -o json prints without filters: the assignments with a host.
	r := e.Resource.Reader()
	if holds := holdsHosts(&r); holds != (len(want) > 0) {
		t.Fatalf("%s: holdsHosts says %v, the assignment has %d hosts:\n%.2000s", name, holds, len(want), e.Resource.Raw())
	}
	return len(want)
}

// edsFixtures are the assignments of every dump among the fixtures, and of
// both generators' dumps.
func edsFixtures(t *testing.T) map[string]envoyadmin.Entry {
	out := map[string]envoyadmin.Entry{}
	add := func(name string, data []byte) {
		dumps, err := envoyadmin.Load(data)
		if err != nil {
			return
		}
		for _, d := range dumps {
			for i, e := range d.Entries(envoyadmin.KindEndpoints) {
				out[fmt.Sprintf("%s #%d", name, i)] = e
			}
		}
	}
	_ = filepath.WalkDir("../../../shared/fixtures", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".yaml")) {
			if b, err := os.ReadFile(p); err == nil && len(b) < 32<<20 && bytes.Contains(b, []byte("ndpoint")) {
				add(p, b)
			}
		}
		return nil
	})
	template, err := os.ReadFile("../../examples/istio-sidecar.json")
	if err != nil {
		t.Fatal(err)
	}
	var b, v bytes.Buffer
	if err := dumpgen.Write(&b, template, dumpgen.Options{Services: 40}); err != nil {
		t.Fatal(err)
	}
	add("generated", b.Bytes())
	if err := dumpgen.WriteVaried(&v, dumpgen.Options{Services: 40}); err != nil {
		t.Fatal(err)
	}
	add("generated (varied)", v.Bytes())
	return out
}

// TestEndpointsReadInOnePassAsByPick: on every assignment of the fixtures
// (Istio, Envoy Gateway, OSM, ...) and of the generators, the one-pass
// reading gives the hosts Pick gives.
func TestEndpointsReadInOnePassAsByPick(t *testing.T) {
	hosts := 0
	for name, e := range edsFixtures(t) {
		hosts += agreeOnAssignment(t, name, e)
	}
	if hosts < 500 {
		t.Fatalf("only %d hosts compared", hosts)
	}
}

// TestEndpointsOddAssignmentsAsByPick: the same on assignments changed at
// random: members in another order, renamed to camelCase, repeated with
// other values (the first counts), dropped, or given values of other
// kinds (a string for a number, null, an array for an object).
func TestEndpointsOddAssignmentsAsByPick(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var sources []any
	for _, e := range edsFixtures(t) {
		var v any
		d := json.NewDecoder(bytes.NewReader(e.Resource.Raw()))
		d.UseNumber()
		if d.Decode(&v) == nil {
			sources = append(sources, v)
		}
	}
	odd := []string{`"x"`, `null`, `[]`, `{}`, `7`, `"9"`, `-1`, `true`, `[{}]`, `"DRAINING"`, `1.5`, `12`, `"10.0.0.9"`,
		`{"socket_address": {"address": "10.1.1.1", "port_value": 81}}`, `{"region": "r", "zone": "z"}`}
	for i := range 3000 {
		var b bytes.Buffer
		scramble(&b, sources[r.IntN(len(sources))], r, odd, 0)
		v, err := jsonscan.Parse(b.Bytes())
		if err != nil {
			t.Fatalf("scrambled assignment is not JSON: %v\n%s", err, b.Bytes())
		}
		agreeOnAssignment(t, fmt.Sprintf("scrambled #%d", i), envoyadmin.Entry{Kind: envoyadmin.KindEndpoints, Resource: v})
	}
}

// scramble writes v as JSON with its objects' members shuffled, some keys
// in camelCase, some members repeated or dropped, and some values replaced.
func scramble(b *bytes.Buffer, v any, r *rand.Rand, odd []string, depth int) {
	if depth > 0 && r.IntN(25) == 0 {
		b.WriteString(odd[r.IntN(len(odd))])
		return
	}
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		r.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
		b.WriteString("{")
		n := 0
		member := func(k string, val any) {
			if n > 0 {
				b.WriteString(",")
			}
			n++
			if r.IntN(4) == 0 {
				k = camel(k)
			}
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteString(":")
			scramble(b, val, r, odd, depth+1)
		}
		for _, k := range keys {
			if r.IntN(20) == 0 {
				continue
			}
			member(k, v[k])
			if r.IntN(12) == 0 {
				member(k, json.RawMessage(odd[r.IntN(len(odd))]))
			}
		}
		if r.IntN(4) == 0 { // a field of the assignment's, where it may or may not belong
			member(edsFields[r.IntN(len(edsFields))], json.RawMessage(odd[r.IntN(len(odd))]))
		}
		b.WriteString("}")
	case []any:
		b.WriteString("[")
		for i, e := range v {
			if i > 0 {
				b.WriteString(",")
			}
			scramble(b, e, r, odd, depth+1)
		}
		b.WriteString("]")
	case json.RawMessage:
		b.Write(v)
	default:
		out, _ := json.Marshal(v)
		b.Write(out)
	}
}

var edsFields = []string{"cluster_name", "endpoints", "locality", "priority", "lb_endpoints", "endpoint",
	"health_status", "load_balancing_weight", "address", "hostname", "socket_address", "port_value", "named_port",
	"pipe", "envoy_internal_address", "region", "zone", "sub_zone"}

func camel(k string) string {
	parts := strings.Split(k, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

// TestHostWeightIsWhatEnvoyAccepts: a host's load_balancing_weight is read
// as Envoy's own Go types take it (protojson into an LbEndpoint, then its
// generated validation: a UInt32Value of at least 1): accepted values give
// the same weight, the others are said to be invalid, as written, never
// shown as a weight.
func TestHostWeightIsWhatEnvoyAccepts(t *testing.T) {
	for _, w := range []string{
		"1", "5", "4294967295", "4294967296", "0", "-1", "1.5", "5.0", "5e0", "1e2", "1e400", "-0",
		`"5"`, `"5.0"`, `"1e2"`, `"0"`, `""`, `"x"`, `"0x10"`, `"inf"`, `"1_0"`, `" 5"`,
		"true", "null", "{}", "[]", `{"value": 5}`,
	} {
		host := `{"endpoint": {"address": {"socket_address": {"address": "10.0.0.1", "port_value": 80}}}, "load_balancing_weight": ` + w + `}`
		var lb endpointv3.LbEndpoint
		envoyOK := protojson.Unmarshal([]byte(host), &lb) == nil && lb.ValidateAll() == nil
		c := load(t, `{"configs": [{"@type": "type.googleapis.com/envoy.admin.v3.EndpointsConfigDump", "dynamic_endpoint_configs": [
			{"endpoint_config": {"cluster_name": "c", "endpoints": [{"lb_endpoints": [`+host+`]}]}}]}]}`)
		es := c.Endpoints()
		if len(es) != 1 {
			t.Fatalf("weight %s: %d hosts", w, len(es))
		}
		e := es[0]
		switch {
		case envoyOK && e.WeightInvalid != "":
			t.Errorf("weight %s: Envoy's types accept it (%d), read as invalid", w, lb.GetLoadBalancingWeight().GetValue())
		case envoyOK && lb.LoadBalancingWeight != nil && e.Weight != lb.GetLoadBalancingWeight().GetValue():
			t.Errorf("weight %s: read as %d, Envoy's types say %d", w, e.Weight, lb.GetLoadBalancingWeight().GetValue())
		case envoyOK && lb.LoadBalancingWeight == nil && e.Weight != 1:
			t.Errorf("weight %s (unset): read as %d, not 1", w, e.Weight)
		case !envoyOK && (e.WeightInvalid != w || e.Weight != 0):
			t.Errorf("weight %s: Envoy's types reject it, read as %d (invalid %q)", w, e.Weight, e.WeightInvalid)
		}
	}
}
