// Package dumpgen scales a real Istio sidecar config dump to many services,
// for benchmarks. A sidecar without Sidecar scoping receives config for every
// service in the mesh; this reproduces that: each generated service gets what
// istiod really sends, copied from resources of the template dump with the
// names, addresses and ports changed.
//
// Per service: an outbound listener (HTTP with RDS, or TCP proxy), for HTTP a
// route configuration, an EDS cluster and its endpoints. Every fourth HTTP
// service also has subsets v1 and v2 and a 90/10 weighted route between them.
package dumpgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// The resources of the template copied for each service, and the strings in
// them that name the service. They come from the Istio 1.26 sidecar dump in
// examples/istio-sidecar.json.
const (
	httpListener = "10.96.173.1_8080"
	httpRoute    = "backend.demo.svc.cluster.local:8080"
	httpCluster  = "outbound|8080||backend.demo.svc.cluster.local"
	tcpListener  = "10.96.0.1_443"
	tcpCluster   = "outbound|443||kubernetes.default.svc.cluster.local"
)

// Options says how much to generate.
type Options struct {
	Services          int // number of services
	EndpointsPerShard int // endpoints per cluster (default 3)
	TCPEvery          int // every n-th service is TCP (default 5)
}

type configDump struct {
	Configs []map[string]json.RawMessage `json:"configs"`
}

type templates struct {
	httpListener, httpRoute, httpCluster, tcpListener, tcpCluster string
}

// Write generates a dump from template (an Istio sidecar /config_dump) and
// writes it to w, indented like Envoy's admin output.
func Write(w io.Writer, template []byte, opts Options) error {
	if opts.EndpointsPerShard == 0 {
		opts.EndpointsPerShard = 3
	}
	if opts.TCPEvery == 0 {
		opts.TCPEvery = 5
	}
	var dump configDump
	if err := json.Unmarshal(template, &dump); err != nil {
		return fmt.Errorf("read template: %w", err)
	}
	t, err := findTemplates(dump)
	if err != nil {
		return err
	}

	var clusters, listeners, routes, endpoints []json.RawMessage
	for i := 0; i < opts.Services; i++ {
		name, ns := fmt.Sprintf("svc-%d", i), fmt.Sprintf("ns-%d", i%50)
		fqdn := name + "." + ns + ".svc.cluster.local"
		ip := fmt.Sprintf("10.%d.%d.%d", 96+i/65536, (i/256)%256, i%256)
		if i%opts.TCPEvery == opts.TCPEvery-1 {
			r := strings.NewReplacer("kubernetes.default.svc.cluster.local", fqdn,
				`"kubernetes"`, `"`+name+`"`, `"default"`, `"`+ns+`"`, "10.96.0.1", ip)
			listeners = append(listeners, json.RawMessage(r.Replace(t.tcpListener)))
			clusters = append(clusters, json.RawMessage(r.Replace(t.tcpCluster)))
			endpoints = append(endpoints, assignment("outbound|443||"+fqdn, i, 6443, opts.EndpointsPerShard))
			continue
		}
		r := strings.NewReplacer("backend.demo.svc.cluster.local", fqdn, "backend.demo", name+"."+ns,
			`"backend"`, `"`+name+`"`, `"demo"`, `"`+ns+`"`, "10.96.173.1", ip)
		listeners = append(listeners, json.RawMessage(r.Replace(t.httpListener)))
		route := r.Replace(t.httpRoute)
		base := "outbound|8080||" + fqdn
		clusters = append(clusters, json.RawMessage(r.Replace(t.httpCluster)))
		endpoints = append(endpoints, assignment(base, i, 8080, opts.EndpointsPerShard))
		if i%4 == 0 {
			for _, subset := range []string{"v1", "v2"} {
				sub := "outbound|8080|" + subset + "|" + fqdn
				clusters = append(clusters, json.RawMessage(strings.ReplaceAll(r.Replace(t.httpCluster), base, sub)))
				endpoints = append(endpoints, assignment(sub, i, 8080, opts.EndpointsPerShard))
			}
			// The templates are compact JSON: "cluster":"...".
			weighted := fmt.Sprintf(`"weighted_clusters":{"clusters":[{"name":%q,"weight":90},{"name":%q,"weight":10}]}`,
				"outbound|8080|v1|"+fqdn, "outbound|8080|v2|"+fqdn)
			before := route
			route = strings.Replace(route, fmt.Sprintf(`"cluster":%q`, base), weighted, 1)
			if route == before {
				return fmt.Errorf("template route has no action to weight for %s", fqdn)
			}
		}
		routes = append(routes, json.RawMessage(route))
	}

	for _, c := range dump.Configs {
		var typ string
		_ = json.Unmarshal(c["@type"], &typ)
		switch {
		case strings.HasSuffix(typ, ".ClustersConfigDump"):
			c["dynamic_active_clusters"] = appendRaw(c["dynamic_active_clusters"], clusters)
		case strings.HasSuffix(typ, ".ListenersConfigDump"):
			c["dynamic_listeners"] = appendRaw(c["dynamic_listeners"], listeners)
		case strings.HasSuffix(typ, ".RoutesConfigDump"):
			c["dynamic_route_configs"] = appendRaw(c["dynamic_route_configs"], routes)
		}
	}
	eds, _ := json.Marshal(map[string]any{
		"@type":                    "type.googleapis.com/envoy.admin.v3.EndpointsConfigDump",
		"dynamic_endpoint_configs": endpoints,
	})
	dump.Configs = append(dump.Configs, map[string]json.RawMessage{"eds": eds})

	// Write config by config so the whole document is never indented in one buffer.
	bw := &errWriter{w: w}
	bw.write("{\n \"configs\": [\n")
	for i, c := range dump.Configs {
		raw, ok := c["eds"]
		if !ok {
			var err error
			if raw, err = json.Marshal(orderedConfig(c)); err != nil {
				return err
			}
		}
		var buf bytes.Buffer
		if err := json.Indent(&buf, raw, "  ", " "); err != nil {
			return err
		}
		bw.write("  ")
		bw.write(buf.String())
		if i < len(dump.Configs)-1 {
			bw.write(",")
		}
		bw.write("\n")
	}
	bw.write(" ]\n}\n")
	return bw.err
}

// orderedConfig keeps "@type" first, as Envoy writes it.
func orderedConfig(c map[string]json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	b.WriteString(`{"@type":`)
	b.Write(c["@type"])
	for k, v := range c {
		if k == "@type" {
			continue
		}
		fmt.Fprintf(&b, ",%q:", k)
		b.Write(v)
	}
	b.WriteString("}")
	return b.Bytes()
}

func appendRaw(list json.RawMessage, extra []json.RawMessage) json.RawMessage {
	var items []json.RawMessage
	_ = json.Unmarshal(list, &items)
	items = append(items, extra...)
	out, _ := json.Marshal(items)
	return out
}

func assignment(cluster string, svc, port, n int) json.RawMessage {
	var lb []string
	for e := 0; e < n; e++ {
		ip := fmt.Sprintf("10.%d.%d.%d", 128+svc/65536, (svc/256)%256, (svc*7+e)%250+1)
		lb = append(lb, fmt.Sprintf(`{"endpoint":{"address":{"socket_address":{"address":%q,"port_value":%d}},"health_check_config":{}},`+
			`"health_status":"HEALTHY","metadata":{"filter_metadata":{"envoy.transport_socket_match":{"tlsMode":"istio"},`+
			`"istio":{"workload":"svc-%d-v1;ns-%d;svc-%d;v1;Kubernetes"}}},"load_balancing_weight":1}`, ip, port, svc, svc%50, svc))
	}
	return json.RawMessage(fmt.Sprintf(`{"endpoint_config":{"@type":"type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",`+
		`"cluster_name":%q,"endpoints":[{"locality":{},"lb_endpoints":[%s],"load_balancing_weight":%d}],"policy":{"overprovisioning_factor":140}}}`,
		cluster, strings.Join(lb, ","), n))
}

func findTemplates(dump configDump) (templates, error) {
	var t templates
	for _, c := range dump.Configs {
		for _, key := range []string{"dynamic_active_clusters", "dynamic_listeners", "dynamic_route_configs"} {
			var items []json.RawMessage
			_ = json.Unmarshal(c[key], &items)
			for _, it := range items {
				var compact bytes.Buffer
				if json.Compact(&compact, it) != nil {
					continue
				}
				s := compact.String()
				has := func(name string) bool { return strings.Contains(s, `"name":"`+name+`"`) }
				switch {
				case key == "dynamic_listeners" && has(httpListener):
					t.httpListener = s
				case key == "dynamic_listeners" && has(tcpListener):
					t.tcpListener = s
				case key == "dynamic_route_configs" && has(httpRoute):
					t.httpRoute = s
				case key == "dynamic_active_clusters" && has(httpCluster):
					t.httpCluster = s
				case key == "dynamic_active_clusters" && has(tcpCluster):
					t.tcpCluster = s
				}
			}
		}
	}
	if t.httpListener == "" || t.httpRoute == "" || t.httpCluster == "" || t.tcpListener == "" || t.tcpCluster == "" {
		return t, fmt.Errorf("template is not the Istio sidecar dump this generator copies from (examples/istio-sidecar.json)")
	}
	return t, nil
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) write(s string) {
	if e.err == nil {
		_, e.err = io.WriteString(e.w, s)
	}
}
