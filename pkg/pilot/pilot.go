// Package pilot talks to istiod (Pilot): it finds istiod's instances and
// names its debug views. istiod is the source of truth of the mesh: what it
// holds and what it sent each proxy is where problems show first.
package pilot

import (
	"context"
	"net/url"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/kube"
)

// DebugPort is istiod's HTTP monitoring and debug port (/debug/...).
const DebugPort = 15014

// Instance is one istiod pod.
type Instance struct {
	Namespace string
	Pod       string
	Revision  string // istio.io/rev; "default" when unlabelled
	Running   bool
}

// Find lists the istiod pods in namespace (app=istiod), of one revision
// when revision is not "", Running ones first, then by name.
func Find(ctx context.Context, client kube.Core, namespace, revision string) ([]Instance, error) {
	selector := "app=istiod"
	if revision != "" {
		selector += ",istio.io/rev=" + revision
	}
	pods, err := client.Pods(ctx, namespace, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	var out []Instance
	for _, p := range pods.Items {
		rev := p.Labels["istio.io/rev"]
		if rev == "" {
			rev = "default"
		}
		out = append(out, Instance{Namespace: p.Namespace, Pod: p.Name, Revision: rev,
			Running: p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Running != out[j].Running {
			return out[i].Running
		}
		return out[i].Pod < out[j].Pod
	})
	return out, nil
}

// Views are istiod's debug views a snapshot keeps, by file name.
var Views = []struct{ File, Path string }{
	{"syncz.json", "/debug/syncz"},
	{"registryz.json", "/debug/registryz"},
	{"configz.json", "/debug/configz"},
	{"push_status.json", "/debug/push_status"},
}

// ConfigDumpPath is the path of what istiod holds for one proxy, as an
// Envoy config dump: the proxy ID is POD.NAMESPACE.
func ConfigDumpPath(pod, namespace string) string {
	return "/debug/config_dump?proxyID=" + url.QueryEscape(pod+"."+namespace)
}

// IsWarning tells whether a line of istiod's log is a warning or worse, by
// its level: "\twarn\t", "\terror\t" in its text logs, "level":"warn" in
// its JSON ones.
func IsWarning(line string) bool {
	l := strings.ToLower(line)
	for _, lvl := range []string{"warn", "error", "fatal"} {
		if strings.Contains(l, "\t"+lvl+"\t") || strings.Contains(l, `"level":"`+lvl) || strings.Contains(l, " "+lvl+" ") {
			return true
		}
	}
	return false
}
