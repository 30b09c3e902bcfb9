package cmd

import "testing"

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		arg, selector string
		want          Target
		bad           bool
	}{
		{"frontend-7d9", "", Target{Kind: "pod", Name: "frontend-7d9"}, false},
		{"pod/frontend-7d9", "", Target{Kind: "pod", Name: "frontend-7d9"}, false},
		{"po/x", "", Target{Kind: "pod", Name: "x"}, false},
		{"deploy/frontend", "", Target{Kind: "deployment", Name: "frontend"}, false},
		{"deployments/frontend", "", Target{Kind: "deployment", Name: "frontend"}, false},
		{"svc/reviews", "", Target{Kind: "service", Name: "reviews"}, false},
		{"service/reviews", "", Target{Kind: "service", Name: "reviews"}, false},
		{"", "app=frontend", Target{Selector: "app=frontend"}, false},
		{"x", "app=frontend", Target{}, true},
		{"statefulset/db", "", Target{Kind: "statefulset", Name: "db"}, false},
		{"sts/db", "", Target{Kind: "sts", Name: "db"}, false},
		{"/db", "", Target{}, true},
		{"deploy/a/b", "", Target{}, true},
		{"deploy/", "", Target{}, true},
	} {
		got, err := ParseTarget(tc.arg, tc.selector)
		if tc.bad {
			if err == nil || ExitCode(err) != ExitUsage {
				t.Errorf("%q %q: got %+v, %v; want a usage error", tc.arg, tc.selector, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q %q: got %+v, %v; want %+v", tc.arg, tc.selector, got, err, tc.want)
		}
	}
}
