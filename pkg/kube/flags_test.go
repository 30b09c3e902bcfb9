package kube

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/restmapper"
	clienttesting "k8s.io/client-go/testing"
)

// TestFlagsAreKubectls: the flags kubectl's ConfigFlags registers
// (k8s.io/cli-runtime v0.37.2 genericclioptions/config_flags.go, without
// the deprecated password flags), under the same names and shorthands.
func TestFlagsAreKubectls(t *testing.T) {
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	NewFlags().AddFlags(fs)
	var got []string
	fs.VisitAll(func(f *pflag.Flag) {
		name := f.Name
		if f.Shorthand != "" {
			name += "/" + f.Shorthand
		}
		got = append(got, name)
	})
	sort.Strings(got)
	want := []string{"as", "as-group", "as-uid", "as-user-extra", "cache-dir", "certificate-authority", "client-certificate", "client-key",
		"cluster", "context", "disable-compression", "insecure-skip-tls-verify", "kubeconfig", "namespace/n", "proxy-url",
		"request-timeout", "server/s", "tls-server-name", "token", "user"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("flags\n  %v\nwant kubectl's\n  %v", got, want)
	}
}

// TestFlagsOverrideTheKubeconfig: --context picks a context, -n its
// namespace, --server and --as override what the kubeconfig says.
func TestFlagsOverrideTheKubeconfig(t *testing.T) {
	kc := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
current-context: a
clusters:
- name: ca
  cluster: {server: "https://a.example:6443"}
- name: cb
  cluster: {server: "https://b.example:6443"}
users:
- name: u
  user: {token: "t"}
contexts:
- name: a
  context: {cluster: ca, user: u, namespace: team-a}
- name: b
  context: {cluster: cb, user: u, namespace: team-b}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args           []string
		host, ns, user string
	}{
		{nil, "https://a.example:6443", "team-a", ""},
		{[]string{"--context", "b"}, "https://b.example:6443", "team-b", ""},
		{[]string{"--context", "b", "-n", "other"}, "https://b.example:6443", "other", ""},
		{[]string{"--server", "https://c.example", "--as", "jane"}, "https://c.example", "team-a", "jane"},
	} {
		f := NewFlags()
		fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
		f.AddFlags(fs)
		if err := fs.Parse(append([]string{"--kubeconfig", kc}, tc.args...)); err != nil {
			t.Fatal(err)
		}
		cfg, err := f.ToRESTConfig()
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		ns, _, err := f.ToRawKubeConfigLoader().Namespace()
		if err != nil || cfg.Host != tc.host || ns != tc.ns || cfg.Impersonate.UserName != tc.user {
			t.Errorf("%v: host %s namespace %s as %q (%v); want %s %s %q", tc.args, cfg.Host, ns, cfg.Impersonate.UserName, err, tc.host, tc.ns, tc.user)
		}
	}
}

// TestMappingIsKubectls: TYPE as kubectl's resource builder reads it, on a
// discovery that serves core, apps and a custom resource with short names.
func TestMappingIsKubectls(t *testing.T) {
	dc := &fakediscovery.FakeDiscovery{Fake: &clienttesting.Fake{}}
	dc.Resources = []*metav1.APIResourceList{
		{GroupVersion: "v1", APIResources: []metav1.APIResource{
			{Name: "pods", SingularName: "pod", Kind: "Pod", Namespaced: true, ShortNames: []string{"po"}, Verbs: []string{"get"}},
			{Name: "services", SingularName: "service", Kind: "Service", Namespaced: true, ShortNames: []string{"svc"}, Verbs: []string{"get"}},
			{Name: "nodes", SingularName: "node", Kind: "Node", ShortNames: []string{"no"}, Verbs: []string{"get"}},
		}},
		{GroupVersion: "apps/v1", APIResources: []metav1.APIResource{
			{Name: "deployments", SingularName: "deployment", Kind: "Deployment", Namespaced: true, ShortNames: []string{"deploy"}, Verbs: []string{"get"}},
			{Name: "statefulsets", SingularName: "statefulset", Kind: "StatefulSet", Namespaced: true, ShortNames: []string{"sts"}, Verbs: []string{"get"}},
		}},
		{GroupVersion: "example.com/v1alpha1", APIResources: []metav1.APIResource{
			{Name: "rollouts", SingularName: "rollout", Kind: "Rollout", Namespaced: true, ShortNames: []string{"ro"}, Verbs: []string{"get"}},
		}},
	}
	groups, err := restmapper.GetAPIGroupResources(dc)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewShortcutExpander(restmapper.NewDiscoveryRESTMapper(groups), dc, nil)
	for typ, want := range map[string]schema.GroupVersionResource{
		"deploy": {Group: "apps", Version: "v1", Resource: "deployments"}, "deployment": {Group: "apps", Version: "v1", Resource: "deployments"},
		"deployments.apps": {Group: "apps", Version: "v1", Resource: "deployments"}, "deployments.v1.apps": {Group: "apps", Version: "v1", Resource: "deployments"},
		"Deployment": {Group: "apps", Version: "v1", Resource: "deployments"}, "sts": {Group: "apps", Version: "v1", Resource: "statefulsets"},
		"statefulsets.apps": {Group: "apps", Version: "v1", Resource: "statefulsets"}, "svc": {Version: "v1", Resource: "services"},
		"ro": {Group: "example.com", Version: "v1alpha1", Resource: "rollouts"}, "rollouts.example.com": {Group: "example.com", Version: "v1alpha1", Resource: "rollouts"},
		"no": {Version: "v1", Resource: "nodes"},
	} {
		m, err := mappingFor(mapper, typ)
		if err != nil || m.Resource != want {
			t.Errorf("%s: %v (%v), want %v", typ, m, err, want)
		}
	}
	var unknown *UnknownTypeError
	if _, err := mappingFor(mapper, "frobs"); !errors.As(err, &unknown) || unknown.Type != "frobs" {
		t.Errorf("frobs: %v, want an UnknownTypeError", err)
	}
}
