package cmd

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/kube"
)

// Shell completion. kubectl (1.26 and later) completes "kubectl mesh ..." by
// running kubectl_complete-mesh, which is this binary under that name (see
// main); shells completing kubectl-mesh itself use "kubectl-mesh completion".

// completionTimeout bounds what a TAB press may wait for the API server.
const completionTimeout = 5 * time.Second

// completeTargets completes the TARGET argument of a proxy command: pods in
// the namespace of the current context (those with an istio-proxy sidecar
// when there are any and no --admin-port says otherwise), and deploy/NAME and
// svc/NAME once the user has typed the prefix.
func completeTargets(flags *kube.Flags) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 || flagSet(c, "filename") || flagSet(c, "selector") || flags == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		cs, dyn, ns, err := completionClient(flags)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(c.Context(), completionTimeout)
		defer cancel()
		kind, _, typed := strings.Cut(toComplete, "/")
		var names []string
		switch {
		case !typed:
			names = podNames(ctx, cs, ns, !flagSet(c, "admin-port"))
			names = append(names, "deploy/", "svc/")
		case kind == "deploy" || kind == "deployment":
			deployments := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
			if list, err := dyn.Resource(deployments).Namespace(ns).List(ctx, metav1.ListOptions{}); err == nil {
				for _, d := range list.Items {
					names = append(names, kind+"/"+d.GetName())
				}
			}
		case kind == "svc" || kind == "service":
			if list, err := cs.Services(ctx, ns, metav1.ListOptions{}); err == nil {
				for _, s := range list.Items {
					names = append(names, kind+"/"+s.Name)
				}
			}
		case kind == "pod" || kind == "po":
			for _, p := range podNames(ctx, cs, ns, !flagSet(c, "admin-port")) {
				names = append(names, kind+"/"+p)
			}
		}
		out := names[:0]
		for _, n := range names {
			if strings.HasPrefix(n, toComplete) && (n != toComplete || !strings.HasSuffix(n, "/")) {
				out = append(out, n)
			}
		}
		directive := cobra.ShellCompDirectiveNoFileComp
		if len(out) > 0 && strings.HasSuffix(out[0], "/") && len(out) == 1 {
			directive |= cobra.ShellCompDirectiveNoSpace
		}
		return out, directive
	}
}

// podNames lists the namespace's running pods, only those with Istio's
// sidecar when sidecarsOnly is set and there are any.
func podNames(ctx context.Context, cs kube.Core, ns string, sidecarsOnly bool) []string {
	list, err := cs.Pods(ctx, ns, metav1.ListOptions{FieldSelector: "status.phase=Running"})
	if err != nil {
		return nil
	}
	var all, sidecars []string
	for i := range list.Items {
		p := &list.Items[i]
		all = append(all, p.Name)
		if hasContainer(p, istioProxy) {
			sidecars = append(sidecars, p.Name)
		}
	}
	if sidecarsOnly && len(sidecars) > 0 {
		all = sidecars
	}
	sort.Strings(all)
	return all
}

// completeNamespaces completes -n from the cluster's namespaces.
func completeNamespaces(flags *kube.Flags) cobra.CompletionFunc {
	return func(c *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		cs, _, _, err := completionClient(flags)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(c.Context(), completionTimeout)
		defer cancel()
		list, err := cs.Namespaces(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		for _, n := range list.Items {
			if strings.HasPrefix(n.Name, toComplete) {
				out = append(out, n.Name)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeContexts completes --context from the kubeconfig.
func completeContexts(flags *kube.Flags) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		raw, err := flags.ToRawKubeConfigLoader().RawConfig()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		for name := range raw.Contexts {
			if strings.HasPrefix(name, toComplete) {
				out = append(out, name)
			}
		}
		sort.Strings(out)
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

func completionClient(flags *kube.Flags) (kube.Core, dynamic.Interface, string, error) {
	rc, err := flags.ToRESTConfig()
	if err != nil {
		return nil, nil, "", err
	}
	if rc.Timeout == 0 { // --request-timeout, when given, rules
		rc.Timeout = completionTimeout
	}
	cs, err := kube.NewCore(rc)
	if err != nil {
		return nil, nil, "", err
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, nil, "", err
	}
	ns, _, err := flags.ToRawKubeConfigLoader().Namespace()
	return cs, dyn, ns, err
}

// completeWords completes a flag from a fixed list.
func completeWords(words ...string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return words, cobra.ShellCompDirectiveNoFileComp
	}
}

func flagSet(c *cobra.Command, name string) bool {
	f := c.Flags().Lookup(name)
	return f != nil && f.Changed
}
