package cmd

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/ambient"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/render"
)

var (
	gatewaysGVR       = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "gateways"}
	gatewayClassesGVR = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "gatewayclasses"}
)

// AmbientOptions are the options of "kubectl mesh ambient".
type AmbientOptions struct {
	deps          Deps
	AllNamespaces bool
	Output        string
	NoHeaders     bool
	// cluster, dyn and namespace stand in for the API server (tests).
	cluster   *cluster
	dyn       dynamic.Interface
	namespace string
}

// AmbientPod is one pod's row.
type AmbientPod struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Node      string `json:"node"`
	ambient.Enrollment
	Waypoint    string   `json:"waypoint,omitempty"`
	WaypointWhy string   `json:"waypointWhy,omitempty"`
	Problems    []string `json:"problems,omitempty"`
}

// AmbientService is one Service's row.
type AmbientService struct {
	Namespace   string   `json:"namespace"`
	Name        string   `json:"name"`
	Waypoint    string   `json:"waypoint,omitempty"`
	WaypointWhy string   `json:"waypointWhy,omitempty"`
	Problems    []string `json:"problems,omitempty"`
}

// AmbientView is what the command shows.
type AmbientView struct {
	Pods      []AmbientPod       `json:"pods"`
	Services  []AmbientService   `json:"services"`
	Waypoints []ambient.Waypoint `json:"waypoints"`
}

// NewAmbientCmd returns the ambient command.
func NewAmbientCmd(deps Deps) *cobra.Command {
	o := &AmbientOptions{deps: deps, Output: outTable, cluster: deps.cluster}
	cmd := &cobra.Command{
		Use:     "ambient [-n NAMESPACE | -A]",
		GroupID: groupInspect,
		Short:   "Ambient mode: which pods ztunnel captures and why, which waypoint serves each service and workload",
		Long: `Say, from the Kubernetes objects, what Istio's ambient mode does with a namespace (or every
namespace with -A), by istio-cni's default enablement selectors and istiod's waypoint rules (an
istio-cni installed with other enablementSelectors captures other pods):

  pods       ambient, sidecar or none, and why: the istio.io/dataplane-mode label on the pod or its
             namespace (a pod's "none" opts out), a sidecar, host networking; whether istio-cni has
             captured it (ambient.istio.io/redirection); the waypoint of its workload traffic
  services   the waypoint of each Service: istio.io/use-waypoint on the Service, else on its
             namespace ("none" opts out; istio.io/use-waypoint-namespace for another namespace)
  waypoints  the Gateways of class istio-waypoint: which traffic each takes (istio.io/waypoint-for:
             service by default, workload, all, none), whether it is ready (has an address)

A binding that has no effect (a waypoint that does not exist, is not ready, or does not take
that kind of traffic) and a pod enrolled but not captured are named as warnings. What ztunnel
actually holds: kubectl mesh ztunnel workloads.`,
		Example: `  # The bookinfo namespace in ambient mode
  kubectl mesh ambient -n bookinfo

  # Every namespace, with the reasons
  kubectl mesh ambient -A -o wide`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := oneOf("--output", o.Output, outTable, outWide, outJSON, outYAML); err != nil {
				return err
			}
			v, err := o.view(c.Context())
			if err != nil {
				return err
			}
			return o.print(v)
		},
	}
	cmd.Flags().BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "every namespace")
	cmd.Flags().StringVarP(&o.Output, "output", "o", o.Output, "output format: table, wide, json or yaml")
	cmd.Flags().BoolVar(&o.NoHeaders, "no-headers", false, "print tables without their header line")
	_ = cmd.RegisterFlagCompletionFunc("output", completeWords(outTable, outWide, outJSON, outYAML))
	return cmd
}

// view reads the namespaces, pods, Services and waypoint Gateways, and
// applies the rules.
func (o *AmbientOptions) view(ctx context.Context) (*AmbientView, error) {
	c, dyn := o.cluster, o.dyn
	if c == nil {
		var err error
		if c, err = connectCluster(o.deps.KubeFlags); err != nil {
			return nil, err
		}
	}
	if dyn == nil {
		dyn = c.dyn
	}
	if dyn == nil {
		var err error
		if dyn, err = dynamic.NewForConfig(c.cfg); err != nil {
			return nil, failure("cannot reach the API server: %v", err)
		}
	}
	ns := ""
	if !o.AllNamespaces {
		ns = o.namespace
		if ns == "" {
			var err error
			if ns, _, err = o.deps.KubeFlags.ToRawKubeConfigLoader().Namespace(); err != nil {
				return nil, failure("cannot tell the namespace: %v", err)
			}
		}
	}
	where := ns
	if where == "" {
		where = "all namespaces"
	}
	apiErr := func(err error, what, verb string) error {
		if isUnreachable(err) {
			return &unreachable{host: c.cfg.Host, err: err}
		}
		return apiError(err, what, where, "", verb)
	}
	namespaces := map[string]ambient.Meta{}
	if ns != "" {
		n, err := c.client.Namespace(ctx, ns)
		if err != nil {
			if apierrors.IsNotFound(err) {
				return nil, failure("namespace %s not found; list them with 'kubectl get namespaces'", ns)
			}
			return nil, apiErr(err, "namespace", "get namespaces")
		}
		namespaces[ns] = metaOf(n.ObjectMeta)
	} else {
		list, err := c.client.Namespaces(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, apiErr(err, "namespaces", "list namespaces")
		}
		for _, n := range list.Items {
			namespaces[n.Name] = metaOf(n.ObjectMeta)
		}
	}
	pods, err := c.client.Pods(ctx, ns, metav1.ListOptions{})
	if err != nil {
		return nil, apiErr(err, "pods", "list pods")
	}
	svcs, err := c.client.Services(ctx, ns, metav1.ListOptions{})
	if err != nil {
		return nil, apiErr(err, "services", "list services")
	}
	waypoints, err := o.waypoints(ctx, dyn, ns)
	if err != nil {
		return nil, err
	}
	nsOf := func(name string) ambient.Meta {
		if m, ok := namespaces[name]; ok {
			return m
		}
		return ambient.Meta{Name: name}
	}
	v := &AmbientView{Pods: []AmbientPod{}, Services: []AmbientService{}, Waypoints: []ambient.Waypoint{}}
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		m := metaOf(p.ObjectMeta)
		e := ambient.Enroll(ambient.Pod{Meta: m, Node: p.Spec.NodeName, HostNetwork: p.Spec.HostNetwork}, nsOf(p.Namespace).Labels)
		row := AmbientPod{Namespace: p.Namespace, Name: p.Name, Node: p.Spec.NodeName, Enrollment: e}
		if e.Problem != "" {
			row.Problems = append(row.Problems, e.Problem)
		}
		if e.Mode == "ambient" {
			u := ambient.ForWorkload(m, nsOf(p.Namespace), waypoints)
			row.Waypoint, row.WaypointWhy = u.Waypoint, u.Why
			if u.Problem != "" {
				row.Problems = append(row.Problems, u.Problem)
			}
		}
		v.Pods = append(v.Pods, row)
	}
	for _, s := range svcs.Items {
		u := ambient.ForService(metaOf(s.ObjectMeta), nsOf(s.Namespace), waypoints)
		row := AmbientService{Namespace: s.Namespace, Name: s.Name, Waypoint: u.Waypoint, WaypointWhy: u.Why}
		if u.Problem != "" {
			row.Problems = append(row.Problems, u.Problem)
		}
		v.Services = append(v.Services, row)
	}
	for _, w := range waypoints {
		if ns == "" || w.Namespace == ns {
			v.Waypoints = append(v.Waypoints, *w)
		}
	}
	sort.Slice(v.Pods, func(i, j int) bool {
		return v.Pods[i].Namespace+"/"+v.Pods[i].Name < v.Pods[j].Namespace+"/"+v.Pods[j].Name
	})
	sort.Slice(v.Services, func(i, j int) bool {
		return v.Services[i].Namespace+"/"+v.Services[i].Name < v.Services[j].Namespace+"/"+v.Services[j].Name
	})
	sort.Slice(v.Waypoints, func(i, j int) bool {
		return v.Waypoints[i].Namespace+"/"+v.Waypoints[i].Name < v.Waypoints[j].Namespace+"/"+v.Waypoints[j].Name
	})
	return v, nil
}

// waypoints are every Gateway of class istio-waypoint, by NAMESPACE/NAME
// (a Service may use a waypoint in another namespace). Without the Gateway
// API there are none.
func (o *AmbientOptions) waypoints(ctx context.Context, dyn dynamic.Interface, ns string) (map[string]*ambient.Waypoint, error) {
	out := map[string]*ambient.Waypoint{}
	gws, err := dyn.Resource(gatewaysGVR).Namespace("").List(ctx, metav1.ListOptions{})
	if apierrors.IsForbidden(err) && ns != "" {
		// Bound in one namespace only: its own waypoints, at least.
		fmt.Fprintf(o.deps.ErrOut, "warning: not allowed to list gateways.gateway.networking.k8s.io in all namespaces: waypoints in other namespaces than %s are not known\n", ns)
		gws, err = dyn.Resource(gatewaysGVR).Namespace(ns).List(ctx, metav1.ListOptions{})
	}
	if apierrors.IsNotFound(err) {
		return out, nil // no Gateway API: no waypoints
	}
	if err != nil {
		if apierrors.IsForbidden(err) {
			fmt.Fprintln(o.deps.ErrOut, "warning: not allowed to list gateways.gateway.networking.k8s.io: waypoints are not checked (see deploy/rbac.yaml)")
			return out, nil
		}
		return nil, failure("cannot list waypoint Gateways: %v", err)
	}
	classLabels := map[string]map[string]string{}
	classes, err := dyn.Resource(gatewayClassesGVR).List(ctx, metav1.ListOptions{})
	switch {
	case err == nil:
		for _, c := range classes.Items {
			classLabels[c.GetName()] = c.GetLabels()
		}
	case !apierrors.IsNotFound(err):
		fmt.Fprintf(o.deps.ErrOut, "warning: cannot list gatewayclasses (%v): a class's istio.io/waypoint-for is not known, a Gateway's own label or the default (service) is used\n", rootCause(err))
	}
	for _, g := range gws.Items {
		class, _, _ := unstructured.NestedString(g.Object, "spec", "gatewayClassName")
		if class != ambient.WaypointClass && classLabels[class][ambient.WaypointFor] == "" {
			continue
		}
		addrs, _, _ := unstructured.NestedSlice(g.Object, "status", "addresses")
		w := &ambient.Waypoint{Meta: ambient.Meta{Namespace: g.GetNamespace(), Name: g.GetName(), Labels: g.GetLabels(), Annotations: g.GetAnnotations()},
			Class: class, For: ambient.TrafficFor(g.GetLabels(), classLabels[class]), Ready: len(addrs) > 0}
		if len(addrs) > 0 {
			if a, ok := addrs[0].(map[string]any); ok {
				w.Address, _ = a["value"].(string)
			}
		}
		out[w.Namespace+"/"+w.Name] = w
	}
	return out, nil
}

func metaOf(m metav1.ObjectMeta) ambient.Meta {
	return ambient.Meta{Namespace: m.Namespace, Name: m.Name, Labels: m.Labels, Annotations: m.Annotations}
}

func (o *AmbientOptions) print(v *AmbientView) error {
	if o.Output == outJSON || o.Output == outYAML {
		return writeStructured(o.deps.Out, v, o.Output == outYAML)
	}
	opts := render.TableOptions{Wide: o.Output == outWide, NoHeaders: o.NoHeaders, Color: o.deps.Color(o.deps.Out), Width: o.deps.Width(o.deps.Out)}
	w := o.deps.Out
	if len(v.Pods)+len(v.Services)+len(v.Waypoints) == 0 {
		fmt.Fprintln(o.deps.ErrOut, "No resources found: no pods, services or waypoints")
		return nil
	}
	sections := []func(io.Writer) error{
		func(w io.Writer) error { return render.AmbientPods(w, toPodRows(v.Pods), opts) },
		func(w io.Writer) error { return render.AmbientServices(w, toServiceRows(v.Services), opts) },
		func(w io.Writer) error { return render.AmbientWaypoints(w, v.Waypoints, opts) },
	}
	for i, s := range sections {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if err := s(w); err != nil {
			return err
		}
	}
	for _, p := range v.Pods {
		for _, pr := range p.Problems {
			fmt.Fprintf(o.deps.ErrOut, "warning: pod %s/%s: %s\n", p.Namespace, p.Name, pr)
		}
	}
	for _, s := range v.Services {
		for _, pr := range s.Problems {
			fmt.Fprintf(o.deps.ErrOut, "warning: service %s/%s: %s\n", s.Namespace, s.Name, pr)
		}
	}
	return nil
}

func toPodRows(ps []AmbientPod) []render.AmbientPodRow {
	out := make([]render.AmbientPodRow, 0, len(ps))
	for _, p := range ps {
		out = append(out, render.AmbientPodRow{Namespace: p.Namespace, Name: p.Name, Node: p.Node, Mode: p.Mode, Why: p.Why,
			Captured: p.Captured, Waypoint: p.Waypoint, WaypointWhy: p.WaypointWhy, Problems: len(p.Problems)})
	}
	return out
}

func toServiceRows(ss []AmbientService) []render.AmbientServiceRow {
	out := make([]render.AmbientServiceRow, 0, len(ss))
	for _, s := range ss {
		out = append(out, render.AmbientServiceRow{Namespace: s.Namespace, Name: s.Name, Waypoint: s.Waypoint, WaypointWhy: s.WaypointWhy, Problems: len(s.Problems)})
	}
	return out
}
