// Package ambient decides, from Kubernetes objects alone, what Istio's
// ambient mode does with them: which pods its node's ztunnel captures and
// why (istio-cni's enablement rules), and which waypoint serves a service
// or a workload (istiod's use-waypoint rules). It reads no proxy; the
// ztunnel package reads what ztunnel actually holds.
package ambient

import "fmt"

// Labels and annotations of ambient mode (istio.io/api label and annotation).
const (
	DataplaneMode        = "istio.io/dataplane-mode"
	UseWaypoint          = "istio.io/use-waypoint"
	UseWaypointNamespace = "istio.io/use-waypoint-namespace"
	WaypointFor          = "istio.io/waypoint-for"
	Redirection          = "ambient.istio.io/redirection" // set by istio-cni: enabled, pending
	SidecarStatus        = "sidecar.istio.io/status"      // set by sidecar injection
	GatewayName          = "gateway.networking.k8s.io/gateway-name"
	WaypointClass        = "istio-waypoint"
	TrafficService       = "service"
	TrafficWorkload      = "workload"
	TrafficAll           = "all"
	TrafficNone          = "none"
	modeAmbient          = "ambient"
	modeNone             = "none"
)

// Meta is what the rules read of an object.
type Meta struct {
	Namespace   string            `json:"namespace"`
	Name        string            `json:"name"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"-"`
}

// Pod is a pod as the rules see it.
type Pod struct {
	Meta
	Node        string
	HostNetwork bool
}

// Waypoint is a Gateway of a waypoint class.
type Waypoint struct {
	Meta
	Class string `json:"class"`
	// For is the traffic it takes: service (the default), workload, all
	// or none, from the Gateway's istio.io/waypoint-for label, else its
	// GatewayClass's.
	For string `json:"for"`
	// Ready: the Gateway has an address in its status; istiod ignores a
	// waypoint without one.
	Ready   bool   `json:"ready"`
	Address string `json:"address,omitempty"`
}

// Enrollment is whether ztunnel captures a pod's traffic, and why.
type Enrollment struct {
	Mode string `json:"mode"` // ambient, sidecar, none
	Why  string `json:"why"`
	// Captured is istio-cni's word on the pod: enabled, pending, or "".
	Captured string `json:"captured,omitempty"`
	// Problem, when set, is a disagreement between intent and state.
	Problem string `json:"-"`
}

// Enroll decides as istio-cni does with its default enablement selectors
// (a pod labelled istio.io/dataplane-mode=ambient; or in a namespace so
// labelled, unless the pod says none). Host-network pods and pods with a
// sidecar are never captured.
func Enroll(p Pod, nsLabels map[string]string) Enrollment {
	e := Enrollment{Captured: p.Annotations[Redirection]}
	podMode, podLabelled := p.Labels[DataplaneMode]
	nsMode := nsLabels[DataplaneMode]
	switch {
	case p.Namespace == "kube-system":
		e.Mode, e.Why = modeNone, "in kube-system, which istio-cni excludes by default (its excludeNamespaces)"
	case p.Labels["app"] == "ztunnel":
		e.Mode, e.Why = modeNone, "a ztunnel pod itself"
	case p.HostNetwork:
		e.Mode, e.Why = modeNone, "host network: ztunnel cannot capture a pod in the node's network namespace"
	case p.Annotations[SidecarStatus] != "":
		e.Mode, e.Why = "sidecar", "has an injected sidecar (sidecar.istio.io/status); a pod is never in both modes"
	case podMode == modeAmbient:
		e.Mode, e.Why = modeAmbient, "pod label "+DataplaneMode+"=ambient"
	case nsMode == modeAmbient && podMode == modeNone:
		e.Mode, e.Why = modeNone, "opted out: pod label "+DataplaneMode+"=none in an ambient namespace"
	case nsMode == modeAmbient:
		e.Mode, e.Why = modeAmbient, "namespace label "+DataplaneMode+"=ambient"
	case podLabelled:
		e.Mode, e.Why = modeNone, fmt.Sprintf("pod label %s=%s (only ambient enrolls)", DataplaneMode, podMode)
	default:
		e.Mode, e.Why = modeNone, "no "+DataplaneMode+"=ambient label on the pod or its namespace"
	}
	switch {
	case e.Mode == modeAmbient && e.Captured == "":
		e.Problem = "not captured yet: istio-cni has not marked it (" + Redirection + "); is istio-cni running on node " + p.Node + ", and was the pod started after ambient was enabled?"
	case e.Mode == modeAmbient && e.Captured == "pending":
		e.Problem = "capture pending: redirection is in place but ztunnel on node " + p.Node + " has not taken the pod"
	case e.Mode != modeAmbient && e.Captured != "":
		e.Problem = "still captured (" + Redirection + "=" + e.Captured + ") though no longer enrolled: istio-cni has not removed it yet"
	}
	return e
}

// Use is the waypoint an object is bound to, and why.
type Use struct {
	// Waypoint is NAMESPACE/NAME, or "" for none.
	Waypoint string
	Why      string
	// Problem, when set, is why the binding has no effect: the waypoint
	// is missing, not ready, or does not take this kind of traffic.
	Problem string
}

// Binding reads istio.io/use-waypoint on an object, then on its
// namespace, as istiod does: "none" on the object opts out; the label's
// namespace is the object's unless istio.io/use-waypoint-namespace says.
func Binding(obj, ns Meta) (target, why string, optedOut bool) {
	if v, ok := obj.Labels[UseWaypoint]; ok {
		if v == "none" {
			return "", "opted out: " + UseWaypoint + "=none", true
		}
		wns := obj.Namespace
		if o, ok := obj.Labels[UseWaypointNamespace]; ok {
			wns = o
		}
		return wns + "/" + v, "its label " + UseWaypoint + "=" + v, false
	}
	if v, ok := ns.Labels[UseWaypoint]; ok && v != "none" {
		wns := obj.Namespace
		if o, ok := ns.Labels[UseWaypointNamespace]; ok {
			wns = o
		}
		return wns + "/" + v, "namespace label " + UseWaypoint + "=" + v, false
	}
	return "", "", false
}

// ForService is the waypoint of a Service.
func ForService(svc, ns Meta, waypoints map[string]*Waypoint) Use {
	if svc.Labels["gateway.istio.io/managed"] == "istio.io-mesh-controller" {
		return Use{Why: "is a waypoint's own Service"}
	}
	return resolve(svc, ns, waypoints, TrafficService)
}

// ForWorkload is the waypoint of a workload (a pod): only a waypoint that
// takes workload traffic serves it; a namespace's service waypoint simply
// does not apply.
func ForWorkload(pod, ns Meta, waypoints map[string]*Waypoint) Use {
	u := resolve(pod, ns, waypoints, TrafficWorkload)
	if _, direct := pod.Labels[UseWaypoint]; !direct && u.Problem != "" && u.Waypoint != "" {
		if w := waypoints[u.Waypoint]; w != nil && w.Ready && !takes(w.For, TrafficWorkload) {
			return Use{} // inherited from the namespace, for services only: not an error (istiod)
		}
	}
	return u
}

func takes(for_, traffic string) bool { return for_ == traffic || for_ == TrafficAll }

func resolve(obj, ns Meta, waypoints map[string]*Waypoint, traffic string) Use {
	target, why, opted := Binding(obj, ns)
	if opted {
		return Use{Why: why}
	}
	if target == "" {
		return Use{}
	}
	u := Use{Waypoint: target, Why: why}
	w := waypoints[target]
	switch {
	case w == nil:
		u.Problem = "waypoint " + target + " does not exist (no Gateway of class " + WaypointClass + " by that name)"
	case !w.Ready:
		u.Problem = "waypoint " + target + " is not ready (its Gateway has no address yet): istiod ignores it"
	case !takes(w.For, traffic):
		u.Problem = fmt.Sprintf("waypoint %s takes %s traffic (%s=%s), not %s traffic", target, w.For, WaypointFor, w.For, traffic)
	}
	return u
}

// TrafficFor is what a waypoint Gateway takes: its own label, else its
// class's, else service.
func TrafficFor(gatewayLabels, classLabels map[string]string) string {
	if v, ok := gatewayLabels[WaypointFor]; ok {
		return v
	}
	if v, ok := classLabels[WaypointFor]; ok {
		return v
	}
	return TrafficService
}
