package cmd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/routecheck"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/xds"
)

// RouteCheckOptions are the options of "kubectl mesh route-check".
type RouteCheckOptions struct {
	deps             Deps
	Config           string
	Tests            string
	Dump             string
	Pod              string
	Route            string
	Listener         string
	Details          bool
	OnlyFailures     bool
	CoverAll         bool
	DetailedCoverage bool
	Coverage         float64
	Output           string
}

// NewRouteCheckCmd returns the route-check command.
func NewRouteCheckCmd(deps Deps) *cobra.Command {
	o := &RouteCheckOptions{deps: deps, Output: outTable, Coverage: -1}
	cmd := &cobra.Command{
		Use:     "route-check (--config ROUTES | --config BOOTSTRAP -l LISTENER | -f DUMP --route NAME) --tests TESTS",
		GroupID: groupCompare,
		Short:   "Run Envoy router_check_tool tests against a route configuration, alone or inside a dump",
		Long: `Run route table tests written for Envoy's router_check_tool against an Envoy
RouteConfiguration (--config, YAML or JSON), the routes inline in a Bootstrap's listener
(--config BOOTSTRAP -l LISTENER), or a route configuration of a proxy's dump (-f DUMP --route NAME).

The test file is read as Envoy's tool reads it (JSON, YAML or protobuf text) against its schema,
validation.proto: {"tests": [{"test_name", "input": {authority, path, method, random_value, ssl,
internal, runtime, additional_request_headers, additional_response_headers, dynamic_metadata},
"validate": {cluster_name, virtual_cluster_name, virtual_host_name, host_rewrite, path_rewrite,
path_redirect, code_redirect, timeout, request_header_matches, response_header_matches,
request_header_fields, response_header_fields}}]}. A field the schema does not have is an
error (exit 2), never skipped. Every assertion is evaluated; a failing test is printed with
router_check_tool's own failure lines, --details adds the names of the tests that pass.
Coverage: the share of routes some test reached, with --covall the routes none did.

Exit status 1 when a test fails or coverage is below --coverage.`,
		Example: `  # Envoy's router_check corpus format, against a RouteConfiguration file
  kubectl mesh route-check --config routes.yaml --tests routes.golden.json --details

  # The routes inline in listener "main" of an Envoy bootstrap
  kubectl mesh route-check --config envoy.yaml -l main --tests tests.yaml

  # Against the route configuration "80" of a sidecar's saved dump
  kubectl mesh route-check -f examples/istio-sidecar.json --route 80 --tests examples/route-tests.yaml --details

  # Fail below 80% route coverage, and list the routes no test reaches
  kubectl mesh route-check --config routes.yaml --tests tests.json --coverage 80 --covall`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return o.Run()
		},
	}
	cmd.Flags().StringVarP(&o.Config, "config", "c", "", "the RouteConfiguration under test (YAML or JSON)")
	cmd.Flags().StringVarP(&o.Tests, "tests", "t", "", "the test file, in router_check_tool's format")
	cmd.Flags().StringVarP(&o.Dump, "filename", "f", "", "a proxy's saved dump holding the route configuration (with --route)")
	cmd.Flags().StringVar(&o.Pod, "pod", "", "with -f on a file holding several proxies, the one to use")
	cmd.Flags().StringVar(&o.Route, "route", "", "with -f, the name of the route configuration to test")
	cmd.Flags().StringVarP(&o.Listener, "listener", "l", "", "with a Bootstrap as --config, the listener whose HTTP connection manager holds the routes inline")
	cmd.Flags().BoolVarP(&o.Details, "details", "d", false, "print each test, and for failures what was expected and what the route gave")
	cmd.Flags().BoolVar(&o.OnlyFailures, "only-show-failures", false, "print only the tests that fail")
	cmd.Flags().BoolVar(&o.CoverAll, "covall", false, "list the routes no test reaches")
	cmd.Flags().BoolVar(&o.DetailedCoverage, "detailed-coverage", false, "list the routes no test reaches, with their names")
	cmd.Flags().Float64Var(&o.Coverage, "coverage", -1, "fail when fewer than this percentage of routes are reached by a test")
	cmd.Flags().StringVarP(&o.Output, "output", "o", o.Output, "output format: table or json")
	_ = cmd.MarkFlagFilename("config", "yaml", "yml", "json")
	_ = cmd.MarkFlagFilename("tests", "yaml", "yml", "json", "pb_text")
	_ = cmd.RegisterFlagCompletionFunc("output", completeWords(outTable, outJSON))
	return cmd
}

// Run loads the route configuration and the tests, and runs them.
func (o *RouteCheckOptions) Run() error {
	switch {
	case o.Tests == "":
		return usageError("give the test file with --tests")
	case (o.Config == "") == (o.Dump == ""):
		return usageError("give the routes under test: --config ROUTES, or -f DUMP --route NAME")
	case o.Listener != "" && o.Config == "":
		return usageError("--listener NAME goes with --config BOOTSTRAP: the listener whose inline routes to test")
	case o.Dump != "" && o.Route == "":
		return usageError("-f DUMP needs --route NAME: the route configuration to test")
	case o.Output != outTable && o.Output != outJSON:
		return usageError("unknown output format %q: use table or json", o.Output)
	}
	rc, err := o.routeConfig()
	if err != nil {
		return err
	}
	data, err := readInput(o.Tests)
	if err != nil {
		return err
	}
	suite, err := routecheck.Parse(data)
	if err != nil {
		return usageError("%s: %v", o.Tests, err)
	}
	checker := routecheck.NewChecker(rc)
	var results []routecheck.Result
	failed := 0
	for _, t := range suite.Tests {
		if routecheck.Vacuous(t) {
			fmt.Fprintf(o.deps.ErrOut, "warning: test %s asserts nothing (its validate is empty): it passes, as in Envoy's tool, having checked nothing\n", t.Name)
		}
		r := checker.Run(t)
		if !r.Passed {
			failed++
		}
		results = append(results, r)
	}
	pct, missing := checker.Coverage(o.DetailedCoverage)
	coverageFails := o.Coverage >= 0 && pct < o.Coverage
	if o.Output == outJSON {
		if err := writeStructured(o.deps.Out, map[string]any{"tests": results, "failed": failed, "coverage": pct, "missing": missing}, false); err != nil {
			return err
		}
	} else {
		o.print(results, failed, pct, missing, coverageFails)
	}
	if failed > 0 || coverageFails {
		return ErrNegative
	}
	return nil
}

// print writes the results as router_check_tool does: with --details each
// test's name, and for a failing test (always shown) its name and then its
// failure lines, exactly as the tool words them; then the totals.
func (o *RouteCheckOptions) print(results []routecheck.Result, failed int, pct float64, missing []string, coverageFails bool) {
	w := o.deps.Out
	for _, r := range results {
		if r.Passed && (!o.Details || o.OnlyFailures) {
			continue
		}
		fmt.Fprintln(w, r.Name)
		for _, f := range r.Failures {
			fmt.Fprintln(w, f.Line)
		}
	}
	fmt.Fprintf(w, "%d tests, %d failed\n", len(results), failed)
	if o.Coverage >= 0 || o.CoverAll || o.DetailedCoverage || o.Details {
		fmt.Fprintf(w, "Current route coverage: %.6g%%\n", pct)
	}
	if coverageFails {
		fmt.Fprintf(w, "Failed to meet coverage requirement: %.6g%%\n", o.Coverage)
	}
	if o.CoverAll || o.DetailedCoverage {
		for _, m := range missing {
			fmt.Fprintln(w, m)
		}
	}
}

// routeConfig reads the route configuration under test.
func (o *RouteCheckOptions) routeConfig() (*xds.RouteConfig, error) {
	if o.Dump != "" {
		src := &fileSource{path: o.Dump, pod: o.Pod, in: o.deps.In}
		defer src.Close()
		d, err := src.Dump(context.Background(), envoyadmin.KindRouteConfig, envoyadmin.KindListener)
		if err != nil {
			return nil, err
		}
		cfg := xds.New(d)
		var names []string
		for _, rc := range append(cfg.RouteConfigs(), cfg.InlineRouteConfigs()...) {
			if rc.Name == o.Route {
				return rc, nil
			}
			names = append(names, rc.Name)
		}
		if len(names) > 12 {
			names = append(names[:12], "...")
		}
		return nil, usageError("%s has no route configuration %q; it has %s", o.Dump, o.Route, strings.Join(names, ", "))
	}
	data, err := readInput(o.Config)
	if err != nil {
		return nil, err
	}
	if o.Listener != "" {
		return o.listenerRoutes(data)
	}
	if root, err := jsonscan.Parse(data); err == nil && root.Get("tests").Exists() {
		return nil, usageError("INVALID_ARGUMENT: %s is not an envoy.config.route.v3.RouteConfiguration: it has a \"tests\" field (is it the test file? give it with --tests)", o.Config)
	}
	dumps, err := envoyadmin.Load(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Config, err)
	}
	rcs := xds.New(dumps[0]).RouteConfigs()
	if len(rcs) != 1 {
		return nil, usageError("%s holds %d route configurations: give one, or use -f DUMP --route NAME", o.Config, len(rcs))
	}
	return rcs[0], nil
}

// listenerRoutes reads the route configuration a Bootstrap's listener
// carries inline in its HTTP connection manager (--listener).
func (o *RouteCheckOptions) listenerRoutes(data []byte) (*xds.RouteConfig, error) {
	dumps, err := envoyadmin.Load(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Config, err)
	}
	cfg := xds.New(dumps[0])
	var names []string
	for _, l := range cfg.Listeners() {
		names = append(names, l.Name)
	}
	var found []*xds.RouteConfig
	for _, rc := range cfg.InlineRouteConfigs() {
		if rc.InlineIn == o.Listener {
			found = append(found, rc)
		}
	}
	switch {
	case len(names) == 0:
		return nil, usageError("%s has no listeners: --listener reads the routes inline in a Bootstrap's listener", o.Config)
	case !slices.Contains(names, o.Listener):
		return nil, usageError("%s has no listener %q; it has %s", o.Config, o.Listener, strings.Join(names, ", "))
	case len(found) == 0:
		return nil, usageError("listener %q of %s has no HTTP connection manager with its routes inline (route_config)", o.Listener, o.Config)
	case len(found) > 1:
		return nil, usageError("listener %q of %s has %d filter chains with inline routes: kubectl mesh tests one route configuration", o.Listener, o.Config, len(found))
	}
	return found[0], nil
}

func readInput(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, usageError("cannot read %s: no such file", path)
	}
	if err != nil {
		return nil, usageError("cannot read %s: %v", path, err)
	}
	return data, nil
}
