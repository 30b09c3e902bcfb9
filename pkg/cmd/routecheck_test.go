package cmd

import (
	"strings"
	"testing"
)

func TestRouteCheckCommand(t *testing.T) {
	rc := func(name string) string { return fixture("envoy/router_check/" + name) }
	for _, tc := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"-c", rc("Weighted.yaml"), "-t", rc("Weighted.golden.proto.pb_text"), "--details"}, 0, []string{"\nTest_2\n", "2 tests, 0 failed"}},
		{[]string{"-c", rc("ComprehensiveRoutes.yaml"), "-t", rc("ComprehensiveRoutes.golden.proto.json"), "--details", "--coverage", "100", "--covall"}, 0, []string{"Current route coverage: 100%"}},
		{[]string{"-c", rc("Redirect.yaml"), "-t", rc("Redirect.golden.proto.json"), "--details", "--coverage", "1.0"}, 0, []string{"Current route coverage: "}},
		{[]string{"-c", rc("Redirect.yaml"), "-t", rc("Redirect.golden.proto.json"), "--coverage", "100"}, 1, []string{"Failed to meet coverage requirement: 100%"}},
		{[]string{"-c", rc("TestRoutes.yaml"), "-t", rc("Weighted.golden.proto.json"), "--only-show-failures"}, 1, []string{
			"Test_2\nexpected: [cluster1], actual: [instant-server], test type: cluster_name\nexpected: [test_virtual_cluster], actual: [other], test type: virtual_cluster_name\n"}},
		{[]string{"-c", "../routecheck/testdata/envoy/ClusterHeaderBootstrap.yaml", "-l", "main", "-t", rc("ClusterHeader.golden.proto.json"), "--details"}, 0, []string{"Test1\nTest2\nTest3\n3 tests, 0 failed"}},
		{[]string{"-c", "../routecheck/testdata/envoy/Timeout.yaml", "-t", "../routecheck/testdata/envoy/TimeoutFailures.golden.proto.json"}, 1, []string{"Test_1\nexpected: [120000], actual: [30000], test type: timeout\n"}},
		{[]string{"-c", rc("DetailedCoverage.yaml"), "-t", rc("DetailedCoverage.golden.proto.json"), "--detailed-coverage"}, 0, []string{"Missing test for host: localhost, route name: new_endpoint2-"}},
		{[]string{"-f", "../../examples/istio-sidecar.json", "--route", "80", "-t", "../../examples/route-tests.yaml"}, 0, []string{"2 tests, 0 failed"}},
	} {
		out, errOut, err := run(t, "", append([]string{"route-check"}, tc.args...)...)
		if ExitCode(err) != tc.code {
			t.Errorf("%v: exit %d (%v %s), want %d\n%s", tc.args, ExitCode(err), err, errOut, tc.code, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", tc.args, w, out)
			}
		}
	}
	if out, _, _ := run(t, "", "route-check", "-c", rc("TestRoutes.yaml"), "-t", rc("TestRoutes.golden.proto.json")); strings.Contains(out, "Test_1\n") {
		t.Errorf("passing tests are listed only with --details:\n%s", out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"route-check", "-c", rc("Redirect.golden.proto.json"), "-t", rc("Redirect.golden.proto.json")}, "INVALID_ARGUMENT"},
		{[]string{"route-check", "-c", rc("Redirect.yaml")}, "--tests"},
		{[]string{"route-check", "-t", rc("Redirect.golden.proto.json")}, "--config ROUTES"},
		{[]string{"route-check", "-f", "../../examples/istio-sidecar.json", "-t", rc("Redirect.golden.proto.json")}, "--route NAME"},
		{[]string{"route-check", "-f", "../../examples/istio-sidecar.json", "--route", "nope", "-t", rc("Redirect.golden.proto.json")}, `no route configuration "nope"`},
		{[]string{"route-check", "-c", rc("Redirect.yaml"), "-t", rc("Redirect.yaml")}, `unknown field "virtual_hosts"`},
		{[]string{"route-check", "-c", "../routecheck/testdata/envoy/ClusterHeaderBootstrap.yaml", "-l", "nope", "-t", rc("ClusterHeader.golden.proto.json")}, `no listener "nope"; it has main`},
		{[]string{"route-check", "-f", "../../examples/istio-sidecar.json", "-l", "main", "-t", rc("ClusterHeader.golden.proto.json")}, "--listener NAME goes with --config"},
	} {
		_, _, err := run(t, "", tc.args...)
		if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want status 2 and %q", tc.args, err, tc.want)
		}
	}
}
