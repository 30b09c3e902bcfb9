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
		{[]string{"-c", rc("Weighted.yaml"), "-t", rc("Weighted.golden.proto.pb_text"), "--details"}, 0, []string{"PASS Test_2", "2 tests, 0 failed"}},
		{[]string{"-c", rc("ComprehensiveRoutes.yaml"), "-t", rc("ComprehensiveRoutes.golden.proto.json"), "--details", "--coverage", "100", "--covall"}, 0, []string{"Current route coverage: 100%"}},
		{[]string{"-c", rc("Redirect.yaml"), "-t", rc("Redirect.golden.proto.json"), "--details", "--coverage", "1.0"}, 0, []string{"Current route coverage: "}},
		{[]string{"-c", rc("Redirect.yaml"), "-t", rc("Redirect.golden.proto.json"), "--coverage", "100"}, 1, []string{"Failed to meet coverage requirement: 100%"}},
		{[]string{"-c", rc("TestRoutes.yaml"), "-t", rc("Weighted.golden.proto.json"), "--only-show-failures"}, 1, []string{
			"FAIL Test_2", "expected: [cluster1], actual: [instant-server], test type: cluster_name"}},
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
	if out, _, _ := run(t, "", "route-check", "-c", rc("TestRoutes.yaml"), "-t", rc("TestRoutes.golden.proto.json")); strings.Contains(out, "PASS") {
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
		{[]string{"route-check", "-c", rc("Redirect.yaml"), "-t", rc("Redirect.yaml")}, "no tests"},
	} {
		_, _, err := run(t, "", tc.args...)
		if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want status 2 and %q", tc.args, err, tc.want)
		}
	}
}
