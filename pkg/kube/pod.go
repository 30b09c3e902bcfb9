// Package kube finds the pod a TARGET names as kubectl does: kubectl's
// kube flags (Flags), any TYPE/NAME kubectl accepts (pods, deployments,
// statefulsets, daemonsets, replicasets, jobs, services, their short names,
// TYPE.GROUP, custom resources) mapped as kubectl's resource builder maps
// it, the object's spec.selector naming its pods, and kubectl's
// podutils.ActivePods ordering them as kubectl logs, exec and port-forward
// do. It reads; it never opens anything to the pod.
//
// The selector is read from the object's own spec.selector (a label
// selector, or a Service's or ReplicationController's label map) rather
// than with polymorphichelpers.SelectorsForObject: that covers only the
// built-in kinds, and linking it (with kubectl's describe, cmd/util and a
// second scheme) adds 6 ms and 3 MB to every start of the plugin.
package kube

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/kubectl/pkg/util/podutils"
)

// Finder finds pods. Its two seams are the API: Pods lists and gets pods,
// Object reads one TYPE/NAME.
type Finder struct {
	Pods Core
	// Object reads TYPE/NAME (or NAME, a pod) in a namespace as kubectl
	// does: any resource type or short name the API server knows.
	Object func(namespace, typeName string) (*unstructured.Unstructured, error)
}

// RESTMapperGetter gives the REST mapping the API server's discovery says
// (Flags does, with kubectl's short names).
type RESTMapperGetter interface {
	ToRESTMapper() (meta.RESTMapper, error)
}

// NewFinder reads objects as kubectl's resource builder reads one TYPE/NAME:
// the type mapped by the API server's discovery (plural, singular, short
// name, kind, TYPE.GROUP, TYPE.VERSION.GROUP), the object read with the
// dynamic client; and pods with client.
func NewFinder(getter RESTMapperGetter, client Core, dyn dynamic.Interface) *Finder {
	return &Finder{Pods: client, Object: func(namespace, typeName string) (*unstructured.Unstructured, error) {
		typ, name, typed := strings.Cut(typeName, "/")
		if !typed {
			typ, name = "pods", typeName
		}
		if name == "" {
			return nil, fmt.Errorf("%q names no object: write TYPE/NAME", typeName)
		}
		var mapping *meta.RESTMapping
		if typ == "pods" || typ == "pod" || typ == "po" {
			// A pod needs no discovery.
			mapping = &meta.RESTMapping{Resource: corev1.SchemeGroupVersion.WithResource("pods"), Scope: meta.RESTScopeNamespace}
		} else {
			mapper, err := getter.ToRESTMapper()
			if err != nil {
				return nil, err
			}
			if mapping, err = mappingFor(mapper, typ); err != nil {
				return nil, err
			}
		}
		r := dyn.Resource(mapping.Resource)
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			return r.Namespace(namespace).Get(context.TODO(), name, metav1.GetOptions{})
		}
		return r.Get(context.TODO(), name, metav1.GetOptions{})
	}}
}

// mappingFor maps a TYPE as kubectl's resource builder does: a resource
// (deployments, deploy, deployments.apps, deployments.v1.apps), else a
// kind (Deployment, Deployment.apps). A type the API server does not serve
// is an UnknownTypeError.
func mappingFor(mapper meta.RESTMapper, typ string) (*meta.RESTMapping, error) {
	gvr, gr := schema.ParseResourceArg(typ)
	var gvk schema.GroupVersionKind
	if gvr != nil {
		gvk, _ = mapper.KindFor(*gvr)
	}
	if gvk.Empty() {
		var err error
		gvk, err = mapper.KindFor(gr.WithVersion(""))
		if err != nil && !meta.IsNoMatchError(err) {
			return nil, err
		}
	}
	if !gvk.Empty() {
		return mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	fullGVK, gk := schema.ParseKindArg(typ)
	if fullGVK != nil {
		if m, err := mapper.RESTMapping(fullGVK.GroupKind(), fullGVK.Version); err == nil {
			return m, nil
		}
	}
	m, err := mapper.RESTMapping(gk)
	if meta.IsNoMatchError(err) {
		return nil, &UnknownTypeError{Type: typ, Err: err}
	}
	return m, err
}

// UnknownTypeError is a TYPE the API server does not serve.
type UnknownTypeError struct {
	Type string
	Err  error
}

func (e *UnknownTypeError) Error() string {
	return fmt.Sprintf("the API server has no resource type %q", e.Type)
}

func (e *UnknownTypeError) Unwrap() error { return e.Err }

// NoPodError is a workload, Service or selector with no Running and Ready
// pod behind it.
type NoPodError struct {
	What      string // "deployment default/frontend", "selector app=x"
	Namespace string
	Matched   int // pods the selector matches, none of them ready
}

func (e *NoPodError) Error() string {
	return fmt.Sprintf("no Running and Ready pod behind %s in namespace %s (%d pods match)", e.What, e.Namespace, e.Matched)
}

// NoSelectorError is an object with no pods behind it by construction: a
// Service without a selector, or a kind that selects no pods.
type NoSelectorError struct {
	What string
	Kind string // Service, ConfigMap, ...
	Err  error
}

func (e *NoSelectorError) Error() string { return fmt.Sprintf("%s selects no pods: %v", e.What, e.Err) }

// ForObject is the pod TYPE/NAME names: the pod itself, or the pod kubectl
// would attach to behind a workload or Service, which must be Running and
// Ready.
func (f *Finder) ForObject(ctx context.Context, namespace, typeName string) (*corev1.Pod, error) {
	u, err := f.Object(namespace, typeName)
	if err != nil {
		return nil, err
	}
	if u.GetKind() == "Pod" && u.GroupVersionKind().Group == "" {
		var pod corev1.Pod
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &pod); err != nil {
			return nil, err
		}
		return &pod, nil
	}
	what := fmt.Sprintf("%s %s/%s", strings.ToLower(u.GetKind()), namespace, u.GetName())
	selector, err := podSelector(u)
	if err != nil {
		return nil, &NoSelectorError{What: what, Kind: u.GetKind(), Err: err}
	}
	return f.first(ctx, namespace, selector.String(), what)
}

// podSelector is the selector of the pods an object runs or fronts: its
// spec.selector, a label selector (matchLabels, matchExpressions) for
// workloads, a label map for Services and ReplicationControllers.
func podSelector(u *unstructured.Unstructured) (labels.Selector, error) {
	raw, found, err := unstructured.NestedFieldNoCopy(u.Object, "spec", "selector")
	if err != nil || !found || raw == nil {
		return nil, fmt.Errorf("it has no spec.selector")
	}
	m, ok := raw.(map[string]any)
	if !ok || len(m) == 0 {
		return nil, fmt.Errorf("its spec.selector is empty")
	}
	_, hasLabels := m["matchLabels"]
	_, hasExpressions := m["matchExpressions"]
	if hasLabels || hasExpressions {
		var ls metav1.LabelSelector
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &ls); err != nil {
			return nil, fmt.Errorf("its spec.selector: %v", err)
		}
		sel, err := metav1.LabelSelectorAsSelector(&ls)
		if err != nil {
			return nil, fmt.Errorf("its spec.selector: %v", err)
		}
		if sel.Empty() {
			return nil, fmt.Errorf("its spec.selector is empty")
		}
		return sel, nil
	}
	set := labels.Set{}
	for k, v := range m {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("its spec.selector is not a label map")
		}
		set[k] = s
	}
	return labels.SelectorFromSet(set), nil
}

// ForSelector is the pod kubectl's order puts first among those a label
// selector matches, which must be Running and Ready.
func (f *Finder) ForSelector(ctx context.Context, namespace, selector string) (*corev1.Pod, error) {
	return f.first(ctx, namespace, selector, "selector "+selector)
}

func (f *Finder) first(ctx context.Context, namespace, selector, what string) (*corev1.Pod, error) {
	list, err := f.Pods.Pods(ctx, namespace, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	pods := make([]*corev1.Pod, len(list.Items))
	for i := range list.Items {
		pods[i] = &list.Items[i]
	}
	// kubectl's order (as polymorphichelpers.AttachablePodForObjectFn): the
	// most active pod first: ready before not, running before pending,
	// longer ready, fewer restarts, older. Stable over names, so pods
	// kubectl's order cannot tell apart give the same answer every time.
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	sort.Stable(sort.Reverse(podutils.ActivePods(pods)))
	if len(pods) == 0 || !podutils.IsPodReady(pods[0]) || pods[0].DeletionTimestamp != nil {
		return nil, &NoPodError{What: what, Namespace: namespace, Matched: len(pods)}
	}
	return pods[0], nil
}
