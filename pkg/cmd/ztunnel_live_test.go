package cmd

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	k8stesting "k8s.io/client-go/testing"
)

func ztunnelPod(name, node string, phase corev1.PodPhase) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "istio-system", Labels: map[string]string{"app": "ztunnel"}},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: istioProxy}}}, Status: corev1.PodStatus{Phase: phase}}
}

func onNode(p *corev1.Pod, node string) *corev1.Pod {
	p.Spec.NodeName = node
	return p
}

// Which ztunnel is read: the one on the target's node, a ztunnel named
// directly, the one on --node, or the first running one (said on stderr).
func TestZtunnelIsFoundOnTheTargetsNode(t *testing.T) {
	objs := []runtime.Object{
		onNode(pod("productpage", corev1.PodRunning, true, "app"), "worker-2"),
		onNode(pod("stuck", corev1.PodRunning, true, "app"), "worker-3"),
		pod("unscheduled", corev1.PodPending, false, "app"),
		ztunnelPod("ztunnel-b", "worker-2", corev1.PodRunning), ztunnelPod("ztunnel-a", "worker-1", corev1.PodRunning),
		ztunnelPod("ztunnel-c", "worker-3", corev1.PodPending),
	}
	for _, tc := range []struct {
		name     string
		args     []string
		node     string
		want     string
		workload string
		err      string
		stderr   string
	}{
		{name: "a pod: its node's ztunnel, narrowed to it", args: []string{"productpage"}, want: "ztunnel-b", workload: "productpage"},
		{name: "a ztunnel pod", args: []string{"pod/ztunnel-a"}, want: "ztunnel-a"},
		{name: "--node", node: "worker-2", want: "ztunnel-b"},
		{name: "nothing named: the first running one, said", want: "ztunnel-a", stderr: "reading ztunnel istio-system/ztunnel-a (node worker-1) of 2; --node picks another"},
		{name: "a node whose ztunnel is not running", args: []string{"stuck"}, err: "no running ztunnel pod (app=ztunnel) on node worker-3; is ambient mode installed"},
		{name: "an unscheduled pod", args: []string{"unscheduled"}, err: "pod default/unscheduled is not scheduled on a node yet"},
		{name: "a missing pod", args: []string{"gone"}, err: "pod default/gone not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, _ := fakeSource(Target{}, objs...)
			var errOut bytes.Buffer
			o := &ZtunnelOptions{deps: Deps{IOStreams: genericiooptions.IOStreams{ErrOut: &errOut}}, cluster: src.cluster, namespace: "default", Node: tc.node}
			if len(tc.args) > 0 && strings.HasPrefix(tc.args[0], "pod/ztunnel") {
				o.namespace = "istio-system" // -n istio-system
			}
			in, err := o.locate(context.Background(), tc.args)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || ExitCode(err) != ExitFailure {
					t.Fatalf("got %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if in.Pod != tc.want || o.podFilter().Workload != tc.workload || !strings.Contains(errOut.String(), tc.stderr) {
				t.Errorf("got %s (workload filter %q, stderr %q), want %s (%q, %q)", in.Pod, o.podFilter().Workload, errOut.String(), tc.want, tc.workload, tc.stderr)
			}
		})
	}
}

func TestZtunnelListForbiddenNamesTheVerb(t *testing.T) {
	src, client := fakeSource(Target{})
	client.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", errors.New("RBAC"))
	})
	o := &ZtunnelOptions{deps: Deps{IOStreams: genericiooptions.IOStreams{ErrOut: &bytes.Buffer{}}}, cluster: src.cluster}
	_, err := o.locate(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "needs 'list pods' in namespace all namespaces") {
		t.Errorf("got %v", err)
	}
}

// The whole live path: the ztunnel on productpage's node is asked for
// /config_dump and the table narrowed to productpage.
func TestZtunnelLiveReadsConfigDump(t *testing.T) {
	dump, err := os.ReadFile(fixture("istio/istioctl-golden/ztunnel/dump.json"))
	if err != nil {
		t.Fatal(err)
	}
	admin, paths := adminServer(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(dump) })
	src, _ := fakeSource(Target{},
		onNode(pod("productpage-v1-675fc69cf-jscn2", corev1.PodRunning, true, "app"), "ambient-worker2"),
		ztunnelPod("ztunnel-qk2pp", "ambient-worker2", corev1.PodRunning))
	src.cluster.transport = fakeTransport{"istio-system/ztunnel-qk2pp": admin.base}
	var out bytes.Buffer
	o := &ZtunnelOptions{deps: Deps{IOStreams: genericiooptions.IOStreams{Out: &out, ErrOut: &bytes.Buffer{}}}, cluster: src.cluster,
		namespace: "default", Output: outTable}
	d, err := o.load(context.Background(), []string{"productpage-v1-675fc69cf-jscn2"})
	if err != nil {
		t.Fatal(err)
	}
	// The fake pod is in default; the dump's productpage is in bookinfo.
	o.targetPod.Namespace = "bookinfo"
	if err := o.print(&out, "workloads", d); err != nil {
		t.Fatal(err)
	}
	rows := parseTable(out.String()).rows
	if len(rows) != 1 || rows[0]["POD NAME"] != "productpage-v1-675fc69cf-jscn2" || rows[0]["WAYPOINT"] != "bookinfo-productpage-istio-waypoint" {
		t.Errorf("rows %v", rows)
	}
	if strings.Join(*paths, ",") != "/config_dump" {
		t.Errorf("asked %v", *paths)
	}

	admin, _ = adminServer(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(tinyDump)) })
	src.cluster.transport = fakeTransport{"istio-system/ztunnel-qk2pp": admin.base}
	if _, err := o.load(context.Background(), []string{"productpage-v1-675fc69cf-jscn2"}); err == nil ||
		!strings.Contains(err.Error(), "not a ztunnel config dump: it is an Envoy config dump") || ExitCode(err) != ExitFailure {
		t.Errorf("an Envoy answering on the ztunnel's port: %v", err)
	}
}

// --watch reads the ztunnel again and prints a workload that appears as a
// + row.
func TestZtunnelWatchShowsNewWorkloads(t *testing.T) {
	before, err := os.ReadFile("testdata/ambient/ztunnel-httpbin.json")
	if err != nil {
		t.Fatal(err)
	}
	after := bytes.Replace(before, []byte(`"workloads": [`), []byte(`"workloads": [{"workloadIps":["192.168.195.250"],"protocol":"HBONE","uid":"u-new","name":"ratings-new","namespace":"default","status":"Healthy","node":"worker-1"},`), 1)
	var mu sync.Mutex
	reads := 0
	admin, _ := adminServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		reads++
		if reads == 1 {
			_, _ = w.Write(before)
		} else {
			_, _ = w.Write(after)
		}
	})
	src, _ := fakeSource(Target{}, ztunnelPod("ztunnel-a", "worker-1", corev1.PodRunning))
	src.cluster.transport = fakeTransport{"istio-system/ztunnel-a": admin.base}
	var out safeBuffer
	o := &ZtunnelOptions{deps: Deps{IOStreams: genericiooptions.IOStreams{Out: &out, ErrOut: &bytes.Buffer{}}, Now: func() time.Time { return testNow }},
		cluster: src.cluster, Output: outTable, Watch: true, Interval: 100 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 450*time.Millisecond)
	defer cancel()
	if err := o.run(ctx, "workloads", nil); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`\+ default +ratings-new`).MatchString(out.String()) || strings.Count(out.String(), " + ") != 1 {
		t.Errorf("no + row for the new workload:\n%s", out.String())
	}
}

// safeBuffer is a bytes.Buffer safe for the watch loop's writes.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
