//go:build e2e

package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/cri-streaming/pkg/streaming/portforward"
)

// Kubelet is the test kubelet: a Node, pods bound to it marked Running, and
// the kubelet's port-forward endpoint served by Kubernetes' own streaming
// code. Pods are stand-ins: a pod's port N is forwarded to the loopback
// address its annotation names, port N. It never dials anything else.
type Kubelet struct {
	NodeName string
	client   kubernetes.Interface
	server   *http.Server

	mu   sync.Mutex
	logs map[string]string // "ns/pod/container": what the container logged
}

// SetLog sets what a pod's container has logged, served on
// /containerLogs as a kubelet serves a container's log file.
func (k *Kubelet) SetLog(ns, pod, container, log string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.logs == nil {
		k.logs = map[string]string{}
	}
	k.logs[ns+"/"+pod+"/"+container] = log
}

// containerLogs serves a log set with SetLog, honouring tailLines and
// follow (the log, then the stream held open until the client leaves).
func (k *Kubelet) containerLogs(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	log, ok := k.logs[r.PathValue("ns")+"/"+r.PathValue("pod")+"/"+r.PathValue("container")]
	k.mu.Unlock()
	if !ok {
		http.Error(w, "no such container log", http.StatusNotFound)
		return
	}
	if n, err := strconv.Atoi(r.URL.Query().Get("tailLines")); err == nil && n >= 0 {
		lines := strings.SplitAfter(log, "\n")
		if lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1]
		}
		if n < len(lines) {
			lines = lines[len(lines)-n:]
		}
		log = strings.Join(lines, "")
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, log)
	if r.URL.Query().Get("follow") == "true" {
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}
}

// LoopbackAnnotation names the loopback address that stands in for a pod.
const LoopbackAnnotation = "e2e.kubectl-mesh.io/loopback"

const kubeletAddr = "127.0.0.2:10250"

// StartKubelet registers the node and serves the kubelet API on 127.0.0.2:10250.
func (s *Stack) StartKubelet(ctx context.Context, client kubernetes.Interface) (*Kubelet, error) {
	p := s.pki
	if err := p.issue("kubelet", "e2e-node", nil, []net.IP{net.ParseIP("127.0.0.2")}, nil, x509.ExtKeyUsageServerAuth); err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(p.path("kubelet.crt"), p.path("kubelet.key"))
	if err != nil {
		return nil, err
	}
	k := &Kubelet{NodeName: "e2e-node", client: client}
	mux := http.NewServeMux()
	mux.HandleFunc("/portForward/{ns}/{pod}", k.portForward)
	mux.HandleFunc("GET /containerLogs/{ns}/{pod}/{container}", k.containerLogs)
	ln, err := tls.Listen("tcp", kubeletAddr, &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		return nil, fmt.Errorf("kubelet listen on %s: %w", kubeletAddr, err)
	}
	k.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = k.server.Serve(ln) }()

	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: k.NodeName}}
	if node, err = client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		k.Stop()
		return nil, err
	}
	node.Status = corev1.NodeStatus{
		Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.2"}},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10250}},
		Conditions:      []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: metav1.Now()}},
	}
	if _, err := client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		k.Stop()
		return nil, err
	}
	return k, nil
}

// Stop closes the kubelet's server.
func (k *Kubelet) Stop() { _ = k.server.Close() }

// RunPod creates a pod bound to this node with the given containers, standing
// in at the loopback address, and marks it Running and Ready with podIP
// (192.0.2.0/24: data only, never dialled).
func (k *Kubelet) RunPod(ctx context.Context, ns, name, loopback, podIP string, labels map[string]string, containers ...string) (*corev1.Pod, error) {
	return k.RunPodAs(ctx, ns, name, "", loopback, podIP, labels, containers...)
}

// RunPodAs is RunPod with the pod's service account (its mesh identity).
func (k *Kubelet) RunPodAs(ctx context.Context, ns, name, serviceAccount, loopback, podIP string, labels map[string]string, containers ...string) (*corev1.Pod, error) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels, Annotations: map[string]string{LoopbackAnnotation: loopback}},
		Spec:       corev1.PodSpec{NodeName: k.NodeName, ServiceAccountName: serviceAccount},
	}
	for _, c := range containers {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: c, Image: "stand-in"})
	}
	pod, err := k.client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return nil, err
	}
	now := metav1.Now()
	pod.Status = corev1.PodStatus{
		Phase: corev1.PodRunning, PodIP: podIP, PodIPs: []corev1.PodIP{{IP: podIP}}, HostIP: "127.0.0.2", StartTime: &now,
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}, {Type: corev1.ContainersReady, Status: corev1.ConditionTrue}},
	}
	for _, c := range containers {
		pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: c, Ready: true, Image: "stand-in", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}})
	}
	return k.client.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
}

func (k *Kubelet) portForward(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("ns"), r.PathValue("pod")
	pod, err := k.client.CoreV1().Pods(ns).Get(r.Context(), name, metav1.GetOptions{})
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	target := pod.Annotations[LoopbackAnnotation]
	if ip := net.ParseIP(target); ip == nil || !ip.IsLoopback() {
		http.Error(w, "pod has no loopback stand-in", http.StatusBadRequest)
		return
	}
	opts, err := portforward.NewV4Options(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	portforward.ServePortForward(w, r, loopbackForwarder{target}, name, string(pod.UID), opts,
		5*time.Minute, 30*time.Second, portforward.SupportedProtocols)
}

// loopbackForwarder copies a forwarded stream to and from target:port.
type loopbackForwarder struct{ target string }

func (f loopbackForwarder) PortForward(ctx context.Context, _ string, _ string, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	conn, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", net.JoinHostPort(f.target, fmt.Sprint(port)))
	if err != nil {
		return err
	}
	defer conn.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = io.Copy(conn, stream)
		if cw, ok := conn.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
	}()
	_, err = io.Copy(stream, conn)
	wg.Wait()
	if err != nil && strings.Contains(err.Error(), "use of closed") {
		err = nil
	}
	return err
}

// DefaultServiceAccounts creates the "default" ServiceAccount of each
// namespace, as the controller manager (which does not run here) would.
func (s *Stack) DefaultServiceAccounts(ctx context.Context, client kubernetes.Interface, namespaces ...string) error {
	for _, ns := range namespaces {
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns}}
		if _, err := client.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create default ServiceAccount in %s: %w", ns, err)
		}
	}
	return nil
}

// UserKubeconfig writes a kubeconfig for a user whose certificate the stack
// issues, allowed only verbs on resources in namespace (a Role and its
// binding), and returns its path.
func (s *Stack) UserKubeconfig(ctx context.Context, client kubernetes.Interface, user, ns string, verbs []string, resources ...string) (string, error) {
	path, err := s.Kubeconfig4(ctx, user)
	if err != nil {
		return "", err
	}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: user, Namespace: ns},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: resources, Verbs: verbs}}}
	if _, err := client.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		return "", err
	}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: user, Namespace: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: user},
		Subjects: []rbacv1.Subject{{Kind: "User", Name: user}}}
	if _, err := client.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		return "", err
	}
	return path, nil
}

// Kubeconfig4 writes a kubeconfig for a user whose certificate the stack
// issues, with no rights of its own, and returns its path.
func (s *Stack) Kubeconfig4(_ context.Context, user string) (string, error) {
	if err := s.pki.issue(user, user, nil, nil, nil, x509.ExtKeyUsageClientAuth); err != nil {
		return "", err
	}
	path := filepath.Join(s.Dir, user+".kubeconfig")
	return path, writeKubeconfig(path, s.APIServer, s.pki.path("ca.crt"), s.pki.path(user+".crt"), s.pki.path(user+".key"))
}

// FrontendWorkload stores a Deployment and a Service selecting labels. No
// controller runs: they only name the pods the test kubelet runs.
func (s *Stack) FrontendWorkload(ctx context.Context, client kubernetes.Interface, ns, name string, labels map[string]string) error {
	one := int32(1)
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: appsv1.DeploymentSpec{
		Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "stand-in"}}}}}}
	if _, err := client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		return err
	}
	// A StatefulSet and a DaemonSet over the same pods: targets of any
	// workload kind kubectl takes (sts/NAME, ds/NAME) find them.
	ss := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: appsv1.StatefulSetSpec{
		Replicas: &one, Selector: d.Spec.Selector, Template: d.Spec.Template}}
	if _, err := client.AppsV1().StatefulSets(ns).Create(ctx, ss, metav1.CreateOptions{}); err != nil {
		return err
	}
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: appsv1.DaemonSetSpec{
		Selector: d.Spec.Selector, Template: d.Spec.Template}}
	if _, err := client.AppsV1().DaemonSets(ns).Create(ctx, ds, metav1.CreateOptions{}); err != nil {
		return err
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: corev1.ServiceSpec{
		Selector: labels, Ports: []corev1.ServicePort{{Name: "http", Port: 8080}}}}
	if _, err := client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return err
	}
	// The EndpointSlice the controller manager would write: the ready pods'
	// IPs (192.0.2.0/24, data only) with their pods as targets.
	pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: metav1.FormatLabelSelector(&metav1.LabelSelector{MatchLabels: labels})})
	if err != nil {
		return err
	}
	port, proto, portName, ready := int32(8080), corev1.ProtocolTCP, "http", true
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name + "-e2e", Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &portName, Port: &port, Protocol: &proto}},
	}
	for _, p := range pods.Items {
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{
			Addresses: []string{p.Status.PodIP}, Conditions: discoveryv1.EndpointConditions{Ready: &ready},
			NodeName: &p.Spec.NodeName, TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: p.Name, UID: p.UID}})
	}
	_, err = client.DiscoveryV1().EndpointSlices(ns).Create(ctx, slice, metav1.CreateOptions{})
	return err
}
