package cmd

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sigs.k8s.io/yaml"
	"strings"
	"testing"
)

// TestListenerKindsBeyondTCP: Envoy Gateway's own translator goldens: a UDP
// proxy listener shows its protocol and where datagrams go; an HTTP/3
// listener its QUIC transport's TLS and certificate.
func TestListenerKindsBeyondTCP(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []string
	}{
		{"udp-route.listeners.yaml", []string{"10080/UDP", "UDP proxy: udp-route-dest", "UDP"}},
		{"http3.listeners.yaml", []string{"10443/UDP", "QUIC TLS cert=envoy-gateway-tls-secret-1", "10443 ", "TLS cert=envoy-gateway-tls-secret-1"}},
		// Istio's waypoint: internal listeners by their envoy:// address.
		{"../../../../examples/istio-waypoint.json", []string{"envoy://connect_originate", "envoy://main_internal"}},
	} {
		out, errOut, err := run(t, "", "listeners", "-f", "../xds/testdata/envoy-gateway/"+tc.file, "-o", "wide")
		if err != nil {
			t.Fatalf("%s: %v %s", tc.file, err, errOut)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: no %q in\n%s", tc.file, w, out)
			}
		}
	}
}

// TestSecretsMatchIstioctlSPIRE: istioctl's SPIRE golden (a workload
// certificate and one trust bundle per SPIFFE trust domain): our rows carry
// every fact of its rows.
func TestSecretsMatchIstioctlSPIRE(t *testing.T) {
	dir := "../xds/testdata/istioctl-spire/"
	golden := parseTableGap(readFile(t, dir+"output"), 3)
	out, _, err := run(t, "", "secrets", "-f", dir+"config_dump.json")
	if err != nil {
		t.Fatal(err)
	}
	ours := parseTable(out)
	if len(ours.rows) != len(golden.rows) {
		t.Fatalf("%d rows, istioctl prints %d:\n%s", len(ours.rows), len(golden.rows), out)
	}
	for i, want := range golden.rows {
		for _, col := range golden.cols {
			if got := ours.rows[i][col]; got != want[col] {
				t.Errorf("row %d %s: %q, istioctl prints %q", i, col, got, want[col])
			}
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestBootstrapOfOtherMeshes: a proxy that is not Istio's gets no empty
// Istio rows; its Envoy version is labelled Envoy's, and the node's own
// words for the workload are shown (Kuma's dataplane, OSM's service
// account and namespace).
func TestBootstrapOfOtherMeshes(t *testing.T) {
	for _, tc := range []struct {
		file      string
		want, not []string
	}{
		{"../../examples/envoy-gateway.json", []string{"Mesh:                Envoy Gateway", "Envoy Version:       1.26.0", "Envoy Build:         14111e3c",
			"xDS server      xds_cluster (envoy-gateway:18000)"}, []string{"Istio"}},
		// Envoy Gateway's rendered bootstrap: xDS from lds/cds config sources
		// (no ADS), no node and no version (a file, not a running Envoy).
		{"../envoyadmin/testdata/envoy-gateway/bootstrap-render-enable-prometheus.yaml", []string{"Mesh:                Envoy Gateway",
			"Envoy Version:       -", "xDS server      xds_cluster (envoy-gateway:18000)"}, []string{"Istio", "Envoy Version:       0.0.0"}},
		// The same with the node Envoy fills from Envoy Gateway's
		// --service-node (the pod) and --service-cluster (the Gateway).
		{egWithNode(t), []string{"Pod             envoy-default-eg-e41e7b31-7d9d6b6b6b-x2x4z", "Gateway         default/eg"}, []string{"Istio"}},
		{fixture("kuma/admin-sanitize/full_config.json"), []string{"Mesh:                Kuma dev-9fd12f2f3", "Dataplane         backend-1", "Kuma mesh         default"}, []string{"Istio"}},
		{fixture("osm/config_dump/sample-envoy-config-dump-bookbuyer.json"), []string{"Open Service Mesh", "Service account   bookbuyer", "Namespace         bookbuyer"}, []string{"Istio"}},
		// Consul's bootstrap fields (testdata README): the proxy ID and
		// namespace; the ACL token in the ADS metadata is never printed.
		{"../xds/testdata/consul/bootstrap-connect-envoy.json", []string{"Mesh:                Consul", "Proxy ID           web-sidecar-proxy",
			"Consul namespace   default", "xDS server         local_agent (127.0.0.1:8502)"}, []string{"Istio", "b911b6ed"}},
		{"../../examples/istio-sidecar.json", []string{"Istio Version:       1.26.2", "Pod                   frontend-694f65c7d-g7hz4"}, nil},
	} {
		out, _, err := run(t, "", "bootstrap", "-f", tc.file, "-o", "wide")
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		for _, o := range []string{"json", "yaml"} {
			doc, _, _ := run(t, "", "bootstrap", "-f", tc.file, "-o", o)
			out += doc
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: no %q in\n%s", tc.file, w, out)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(out, n) {
				t.Errorf("%s: %q shown for a proxy that is not Istio's:\n%s", tc.file, n, out)
			}
		}
	}
}

// egWithNode is Envoy Gateway's rendered bootstrap with the node id and
// cluster its proxy arguments give Envoy (proxy_args.go).
func egWithNode(t *testing.T) string {
	data, err := os.ReadFile("../envoyadmin/testdata/envoy-gateway/bootstrap-render-enable-prometheus.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "eg-node.yaml")
	node := "node:\n  id: envoy-default-eg-e41e7b31-7d9d6b6b6b-x2x4z\n  cluster: default/eg\n"
	if err := os.WriteFile(p, []byte(strings.Replace(string(data), "node:\n", node, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestKumaGeneratorGolden: Kuma's generator resource set reads as a proxy;
// its inbound mTLS chain takes a client of the mesh's trust domain only.
func TestKumaGeneratorGolden(t *testing.T) {
	k := "../envoyadmin/testdata/kuma/inbound-proxy-11.envoy-config.golden.yaml"
	out, _, err := run(t, "", "listeners", "-f", k, "-o", "wide")
	if err != nil || !strings.Contains(out, "Cluster: self_inbound_dp_http-port") || !strings.Contains(out, "mTLS cert=system_mtls_identity_default") {
		t.Errorf("listeners: %v\n%s", err, out)
	}
	for id, want := range map[string]string{"spiffe://default/backend": `"result": "forwarded"`, "spiffe://other/backend": `"result": "tls_error"`} {
		out, _, _ := run(t, "", "trace", "-f", k, "--mode", "gateway", "tcp://192.168.0.1:9000", "--tls", "mtls", "--client-identity", id, "-o", "json")
		if !strings.Contains(out, want) {
			t.Errorf("trace as %s: want %s\n%s", id, want, out)
		}
	}
}

// TestEveryListingAnswersOnEveryDump: each listing command on every dump of
// the fixtures and of this project's upstream testdata answers: exit 0, a
// table or "No resources found" for a kind the input lacks.
func TestEveryListingAnswersOnEveryDump(t *testing.T) {
	var files []string
	for _, root := range []string{fixtures, "../envoyadmin/testdata", "../xds/testdata", "../routecheck/testdata", "../../examples"} {
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".yaml")) {
				files = append(files, p)
			}
			return nil
		})
	}
	answered := 0
	for _, f := range files {
		// Only what the loader takes for Envoy config; the rest is named
		// as what it is (TestNotADumpIsNamed, the bad input tests).
		if _, _, err := run(t, "", "config", "-f", f, "-o", "json"); err != nil {
			continue
		}
		answered++
		for _, c := range []string{"listeners", "routes", "clusters", "endpoints", "secrets", "ecds", "bootstrap"} {
			out, errOut, err := run(t, "", c, "-f", f)
			if err != nil {
				t.Errorf("%s -f %s: %v", c, f, err)
				continue
			}
			if out == "" && !strings.Contains(errOut, "No resources found") {
				t.Errorf("%s -f %s: neither a table nor No resources found (stderr %q)", c, f, errOut)
			}
		}
	}
	if answered < 150 {
		t.Errorf("only %d files read as Envoy config", answered)
	}
}

// TestLegacyFileCertificates: Istio 1.0-1.4 read their workload
// certificate from files: listeners and clusters show the path, never
// "inline".
func TestLegacyFileCertificates(t *testing.T) {
	f := fixture("istio/config_dump/legacy-v2/productpage-v1-7bbd79f8fd-k6j79.json")
	for c, want := range map[string]string{"listeners": "mTLS cert=/etc/certs/cert-chain.pem", "clusters": "ISTIO_MUTUAL (/etc/certs/cert-chain.pem)"} {
		out, _, err := run(t, "", c, "-f", f, "-o", "wide")
		if err != nil || !strings.Contains(out, want) || strings.Contains(out, "inline") {
			t.Errorf("%s: %v; want %q and no inline\n%.2000s", c, err, want, out)
		}
	}
}

// TestSecretsFromFilesShowTheirPaths: Envoy Gateway's SDS files (its
// ConfigMap golden: a certificate and a trusted CA read from files) list
// the files, never "inline"; the ConfigMap itself is named as what it is.
func TestSecretsFromFilesShowTheirPaths(t *testing.T) {
	const cm = "../envoyadmin/testdata/envoy-gateway/sds-configmap-default.yaml"
	data, err := os.ReadFile(cm)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Data map[string]string `json:"data"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Data) != 2 {
		t.Fatalf("the ConfigMap golden: %v, %d files", err, len(doc.Data))
	}
	for name, want := range map[string][]string{
		"xds-trusted-ca.json":  {"xds_trusted_ca", "CA", "/certs/ca.crt"},
		"xds-certificate.json": {"xds_certificate", "Cert Chain", "/certs/tls.crt"},
	} {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, []byte(doc.Data[name]), 0o600); err != nil {
			t.Fatal(err)
		}
		out, _, err := run(t, "", "secrets", "-f", p, "-o", "wide")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: no %q in\n%s", name, w, out)
			}
		}
		if strings.Contains(out, "inline") {
			t.Errorf("%s: a file's certificate shown as inline:\n%s", name, out)
		}
	}
	if _, _, err := run(t, "", "secrets", "-f", cm); ExitCode(err) != ExitUsage || !strings.Contains(fmt.Sprint(err), "ConfigMap envoy-default-37a8eec1") {
		t.Errorf("the ConfigMap itself: exit %d, %v", ExitCode(err), err)
	}
}
