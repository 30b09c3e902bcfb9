package cmd

import (
	"strconv"
	"strings"
	"testing"
)

// Where ../shared/fixtures holds istioctl's expected output for a dump, our
// tables must carry the same facts. Each test names the columns compared.

func TestSidecarAndWaypointFactsMatchIstioctlProxyConfigAll(t *testing.T) {
	golden := strings.Split(readFixture(t, "istio/istioctl-golden/proxyconfig-all/config_dump_summary.txt"), "\n\n")
	dump := fixture("istio/istioctl-golden/proxyconfig-all/config_dump.json")
	section := func(header string, gap int) table {
		for _, s := range golden {
			if strings.HasPrefix(s, header) {
				tb := parseTableGap(s, gap)
				for _, r := range tb.rows {
					for _, c := range []string{"NAME", "RESOURCE NAME"} {
						if v, ok := r[c]; ok {
							r[c] = v[strings.IndexByte(v, '/')+1:] // istioctl prefixes cluster/, listener/, ...
						}
					}
				}
				return tb
			}
		}
		t.Fatalf("no %q section in the golden", header)
		return table{}
	}
	ours := func(args ...string) table {
		out, _, err := run(t, "", append(args, "-f", dump)...)
		if err != nil {
			t.Fatal(err)
		}
		return parseTable(out)
	}

	t.Run("versions", func(t *testing.T) {
		out, _, err := run(t, "", "bootstrap", "-f", dump)
		if err != nil {
			t.Fatal(err)
		}
		if want := golden[0] + "\n"; out != want {
			t.Errorf("got\n%s\nwant\n%s", out, want)
		}
	})
	t.Run("clusters", func(t *testing.T) {
		theirs := section("NAME  ", 2)
		for _, r := range theirs.rows { // in this view istioctl also prefixes non-Istio FQDNs
			r["SERVICE FQDN"] = strings.TrimPrefix(r["SERVICE FQDN"], "cluster/")
		}
		covers(t, theirs, ours("clusters"), map[string]string{
			"SERVICE FQDN": "SERVICE FQDN", "PORT": "PORT", "SUBSET": "SUBSET", "DIRECTION": "DIRECTION", "TYPE": "TYPE",
		})
	})
	t.Run("listeners", func(t *testing.T) {
		// istioctl writes this table with one space between columns. Its MATCH
		// says ALL for chains a filter_chain_matcher tree selects; ours names the
		// tree, so MATCH is compared on the other listeners only.
		theirs, ours := section("NAME                   ADDRESSES", 1), ours("listeners", "-o", "wide")
		covers(t, theirs, ours, map[string]string{"NAME": "NAME", "PORT": "PORT", "DESTINATION": "DESTINATION"})
		var plain table
		for _, r := range theirs.rows {
			if r["NAME"] != "main_internal" {
				plain.rows = append(plain.rows, r)
			}
		}
		covers(t, plain, ours, map[string]string{"NAME": "NAME", "PORT": "PORT", "MATCH": "MATCH", "DESTINATION": "DESTINATION"})
	})
	t.Run("routes", func(t *testing.T) {
		covers(t, section("NAME                                                              VHOST", 2), ours("routes"), map[string]string{
			"NAME": "NAME", "VHOST NAME": "VHOST NAME", "DOMAINS": "DOMAINS", "MATCH": "MATCH", "VIRTUAL SERVICE": "VIRTUAL SERVICE",
		})
	})
	t.Run("secrets", func(t *testing.T) {
		covers(t, section("RESOURCE NAME", 2), ours("secrets"), map[string]string{
			"RESOURCE NAME": "RESOURCE NAME", "TYPE": "TYPE", "STATUS": "STATUS", "VALID CERT": "VALID CERT",
			"SERIAL NUMBER": "SERIAL NUMBER", "NOT AFTER": "NOT AFTER", "NOT BEFORE": "NOT BEFORE",
		})
	})
	t.Run("endpoints", func(t *testing.T) {
		covers(t, section("NAME                                                       STATUS", 2), ours("endpoints"), map[string]string{
			"NAME": "ENDPOINT", "STATUS": "STATUS", "LOCALITY": "LOCALITY", "CLUSTER": "CLUSTER",
		})
	})
}

func TestGatewayRoutesMatchIstioctl(t *testing.T) {
	for _, dir := range []string{"empty-gateway", "k8s-gateway-http-route-path-prefix"} {
		t.Run(dir, func(t *testing.T) {
			out, _, err := run(t, "", "routes", "-f", fixture("istio/istioctl-golden/routes/"+dir+"/configdump.json"))
			if err != nil {
				t.Fatal(err)
			}
			covers(t, parseTable(readFixture(t, "istio/istioctl-golden/routes/"+dir+"/output.txt")), parseTable(out), map[string]string{
				"NAME": "NAME", "VHOST NAME": "VHOST NAME", "DOMAINS": "DOMAINS", "MATCH": "MATCH", "VIRTUAL SERVICE": "VIRTUAL SERVICE",
			})
		})
	}
}

func TestSecretsMatchIstioctlIncludingWarming(t *testing.T) {
	out, _, err := run(t, "", "secrets", "-f", fixture("istio/istioctl-golden/secret/istio/config_dump.json"))
	if err != nil {
		t.Fatal(err)
	}
	covers(t, parseTable(readFixture(t, "istio/istioctl-golden/secret/istio/output")), parseTable(out), map[string]string{
		"RESOURCE NAME": "RESOURCE NAME", "TYPE": "TYPE", "STATUS": "STATUS", "VALID CERT": "VALID CERT",
		"SERIAL NUMBER": "SERIAL NUMBER", "NOT AFTER": "NOT AFTER", "NOT BEFORE": "NOT BEFORE",
	})
	if !strings.Contains(out, "secret configmap://some/thing: warming") {
		t.Errorf("the warming secret is not explained:\n%s", out)
	}
}

func TestEDSEndpointsMatchIstioctl(t *testing.T) {
	dump := fixture("istio/istioctl-golden/endpoint/configdump.json")
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"emptyfilter_output.txt", nil},
		{"portfilter_output.txt", []string{"--port", "8080"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			out, _, err := run(t, "", append([]string{"endpoints", "-f", dump}, tc.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			theirs, ours := parseTable(readFixture(t, "istio/istioctl-golden/endpoint/"+tc.golden)), parseTable(out)
			covers(t, theirs, ours, map[string]string{"NAME": "ENDPOINT", "STATUS": "STATUS", "LOCALITY": "LOCALITY", "CLUSTER": "CLUSTER"})
			if len(ours.rows) != len(theirs.rows) {
				t.Errorf("%d rows, istioctl has %d", len(ours.rows), len(theirs.rows))
			}
		})
	}
}

func TestClusterHealthMatchesIstioctlWithEachFilter(t *testing.T) {
	dump := fixture("istio/istioctl-golden-1.6/clusters/clusters.json")
	cols := map[string]string{"ENDPOINT": "ENDPOINT", "STATUS": "STATUS", "OUTLIER CHECK": "OUTLIER CHECK", "CLUSTER": "CLUSTER"}
	out, _, err := run(t, "", "endpoints", "-f", dump)
	if err != nil {
		t.Fatal(err)
	}
	covers(t, parseTable(readFixture(t, "istio/istioctl-golden-1.6/clusters/clustersummary.txt")), parseTable(out), cols)
	filtered := parseTable(readFixture(t, "istio/istioctl-golden-1.6/clusters/clustersummaryfiltered.txt"))
	for _, f := range [][]string{
		{"--cluster", "outbound|15014||istio-policy.istio-system.svc.cluster.local"},
		{"--address", "172.17.0.14"}, {"--port", "15014"}, {"--status", "unhealthy"},
	} {
		out, _, err := run(t, "", append([]string{"endpoints", "-f", dump}, f...)...)
		if err != nil {
			t.Fatal(err)
		}
		ours := parseTable(out)
		covers(t, filtered, ours, cols)
		if len(ours.rows) != 1 {
			t.Errorf("%v: %d rows, want 1", f, len(ours.rows))
		}
	}
}

func TestIstio16SummariesMatch(t *testing.T) {
	dump := fixture("istio/istioctl-golden-1.6/configdump/configdump.json")
	t.Run("clusters", func(t *testing.T) {
		cols := map[string]string{"SERVICE FQDN": "SERVICE FQDN", "PORT": "PORT", "SUBSET": "SUBSET", "DIRECTION": "DIRECTION", "TYPE": "TYPE"}
		out, _, _ := run(t, "", "clusters", "-f", dump)
		covers(t, parseTable(readFixture(t, "istio/istioctl-golden-1.6/configdump/clustersummary.txt")), parseTable(out), cols)
		for _, f := range [][]string{{"--fqdn", "istio-policy.istio-system.svc.cluster.local"}, {"--port", "15004"}} {
			out, _, _ := run(t, "", append([]string{"clusters", "-f", dump}, f...)...)
			ours := parseTable(out)
			covers(t, parseTable(readFixture(t, "istio/istioctl-golden-1.6/configdump/clustersummaryfiltered.txt")), ours, cols)
			if len(ours.rows) != 1 {
				t.Errorf("%v: %d rows, want 1", f, len(ours.rows))
			}
		}
	})
	t.Run("listeners", func(t *testing.T) {
		cols := map[string]string{"ADDRESS": "ADDRESS", "PORT": "PORT", "TYPE": "TYPE"}
		out, _, _ := run(t, "", "listeners", "-f", dump, "-o", "wide")
		covers(t, parseTable(readFixture(t, "istio/istioctl-golden-1.6/configdump/listenersummary.txt")), parseTable(out), cols)
		for _, f := range [][]string{{"--address", "172.21.134.116"}, {"--port", "443"}, {"--type", "TCP"}} {
			out, _, _ := run(t, "", append([]string{"listeners", "-f", dump, "-o", "wide"}, f...)...)
			ours := parseTable(out)
			covers(t, parseTable(readFixture(t, "istio/istioctl-golden-1.6/configdump/listenersummaryfiltered.txt")), ours, cols)
			for _, r := range ours.rows {
				if r["ADDRESS"] != "172.21.134.116" {
					t.Errorf("%v let through %v", f, r)
				}
			}
		}
	})
	t.Run("routes", func(t *testing.T) {
		out, _, _ := run(t, "", "routes", "-f", dump)
		vhosts := map[string]map[string]bool{}
		for _, r := range parseTable(out).rows {
			if vhosts[r["NAME"]] == nil {
				vhosts[r["NAME"]] = map[string]bool{}
			}
			vhosts[r["NAME"]][r["VHOST NAME"]] = true
		}
		theirs := parseTable(readFixture(t, "istio/istioctl-golden-1.6/configdump/routesummary.txt")[len("NOTE: This output only contains routes loaded via RDS.\n"):])
		for _, r := range theirs.rows {
			if got := len(vhosts[r["NAME"]]); got == 0 || r["VIRTUAL HOSTS"] != itoa(got) {
				t.Errorf("route config %s: %d virtual hosts, istioctl says %s", r["NAME"], got, r["VIRTUAL HOSTS"])
			}
		}
	})
}

func TestBootstrapVersionsMatchIstioctl(t *testing.T) {
	out, _, err := run(t, "", "bootstrap", "-f", fixture("istio/istioctl-golden/bootstrap/configdump.json"))
	if err != nil {
		t.Fatal(err)
	}
	if want := readFixture(t, "istio/istioctl-golden/bootstrap/versionsummary.txt"); strings.TrimSpace(out) != strings.TrimSpace(want) {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestECDSMatchesIstioctl(t *testing.T) {
	out, _, err := run(t, "", "ecds", "-f", fixture("istio/istioctl-golden/ecds/configdump.json"))
	if err != nil {
		t.Fatal(err)
	}
	theirs, ours := parseTable(readFixture(t, "istio/istioctl-golden/ecds/output.txt")), parseTable(out)
	covers(t, theirs, ours, map[string]string{"ECDS NAME": "ECDS NAME", "TYPE": "TYPE"})
	for i, r := range theirs.rows { // same order as istioctl too
		if ours.rows[i]["ECDS NAME"] != r["ECDS NAME"] {
			t.Errorf("row %d: %s, istioctl has %s", i, ours.rows[i]["ECDS NAME"], r["ECDS NAME"])
		}
	}
}

// egctl wraps the same dump ({"default": {"eg": ...}}) and splits it by type:
// every form must show the same rows as the admin dump it came from.
func TestEnvoyGatewayFormsShowTheSameRows(t *testing.T) {
	for _, tc := range []struct{ cmd, whole, part string }{
		{"listeners", "envoy-gateway/egctl-config/in/in.all.json", "envoy-gateway/egctl-config/out/out.listener.yaml"},
		{"clusters", "envoy-gateway/egctl-config/in/in.all.json", "envoy-gateway/egctl-config/out/out.cluster.json"},
		{"routes", "envoy-gateway/egctl-config/in/in.all.json", "envoy-gateway/egctl-config/out/out.route.yaml"},
		{"endpoints", "envoy-gateway/egctl-config/in/in.all.json", "envoy-gateway/egctl-config/out/out.endpoints.json"},
		{"secrets", "envoy-gateway/egctl-config/in/in.all.json", "envoy-gateway/egctl-config/out/out.all.yaml"},
		{"listeners", "envoy-gateway/egctl-translate/from-gateway-api-to-xds.all.json", "envoy-gateway/egctl-translate/from-gateway-api-to-xds.listener.yaml"},
		{"routes", "envoy-gateway/egctl-translate/from-gateway-api-to-xds.all.yaml", "envoy-gateway/egctl-translate/from-gateway-api-to-xds.route.yaml"},
		{"clusters", "envoy-gateway/egctl-translate/from-gateway-api-to-xds.all.json", "envoy-gateway/egctl-translate/from-gateway-api-to-xds.cluster.yaml"},
		{"endpoints", "envoy-gateway/egctl-translate/from-gateway-api-to-xds.all.json", "envoy-gateway/egctl-translate/from-gateway-api-to-xds.endpoint.yaml"},
	} {
		want, _, err := run(t, "", tc.cmd, "-f", fixture(tc.whole), "-o", "wide")
		if err != nil {
			t.Fatalf("%s %s: %v", tc.cmd, tc.whole, err)
		}
		got, _, err := run(t, "", tc.cmd, "-f", fixture(tc.part), "-o", "wide")
		if err != nil {
			t.Fatalf("%s %s: %v", tc.cmd, tc.part, err)
		}
		if got != want {
			t.Errorf("%s: %s and %s differ\n%s\n---\n%s", tc.cmd, tc.whole, tc.part, want, got)
		}
		if len(parseTable(got).rows) == 0 {
			t.Errorf("%s %s: no rows", tc.cmd, tc.part)
		}
	}
}
