package cmd

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDiffCommand(t *testing.T) {
	cmp := func(name string) string { return fixture("istio/istioctl-golden/compare/" + name) }
	out, _, err := run(t, "", "diff", "-f", cmp("configdump.json"), "-f", cmp("configdump.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Clusters Match", "Listeners Match", "Routes Match"} {
		if !strings.Contains(out, want) {
			t.Errorf("same dumps: no %q:\n%s", want, out)
		}
	}
	out, _, err = run(t, "", "diff", "-f", cmp("configdump.json"), "-f", cmp("configdump_diff.json"))
	if ExitCode(err) != ExitNegative {
		t.Errorf("different dumps: exit %d, want 1", ExitCode(err))
	}
	for _, want := range []string{"Clusters Don't Match", "Listeners Don't Match", "Routes Don't Match",
		"  ~ connect_terminate", "filter_chains[default].filters[envoy.filters.network.http_connection_manager].typed_config.use_remote_address"} {
		if !strings.Contains(out, want) {
			t.Errorf("different dumps: no %q:\n%s", want, out)
		}
	}
	out, _, _ = run(t, "", "diff", "-f", cmp("configdump.json"), "-f", cmp("configdump_diff.json"), "--kind", "listeners", "-o", "json")
	var doc struct {
		Changes []struct{ Kind, Name, Change string } `json:"changes"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Changes) != 2 || doc.Changes[0].Kind != "listeners" {
		t.Errorf("--kind listeners -o json: %v\n%s", err, out)
	}
	// A snapshot against the file it holds.
	bundle := writeBundle(t)
	if out, _, err := run(t, "", "diff", "-f", sidecar, "-f", bundle, "--pod", "demo/frontend-1"); err != nil || !strings.Contains(out, "Listeners Match") {
		t.Errorf("a dump against a snapshot of it: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"diff"}, "compare what with what?"},
		{[]string{"diff", "-f", sidecar}, "compare what with what?"},
		{[]string{"diff", "-f", sidecar, "-f", sidecar, "--kind", "pods"}, `--kind "pods"`},
		{[]string{"diff", "-f", sidecar, "-f", sidecar, "-o", "yaml"}, "unknown output format"},
		{[]string{"diff", "-f", sidecar, "-f", "nope.json"}, "no such file"},
	} {
		_, _, err := run(t, "", tc.args...)
		if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want status 2 and %q", tc.args, err, tc.want)
		}
	}
}
