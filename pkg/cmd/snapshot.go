package cmd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/jsonscan"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/pilot"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/redact"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/render"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/snapshot"
	"github.com/kubectl-mesh/kubectl-mesh/pkg/ztunnel"
)

// SnapshotOptions are the options of "kubectl mesh snapshot".
type SnapshotOptions struct {
	deps           Deps
	Output         string
	Selector       string
	AllNamespaces  bool
	AdminPort      int
	IstioNamespace string
	Tail           int64
	targets        []Target
	// ambient are the pods taken that have no sidecar but are in ambient
	// mode: their node's ztunnel and their waypoints hold their config.
	ambient []*corev1.Pod
}

// NewSnapshotCmd returns the snapshot command.
func NewSnapshotCmd(deps Deps) *cobra.Command {
	o := &SnapshotOptions{deps: deps, IstioNamespace: "istio-system", Tail: 1000}
	cmd := &cobra.Command{
		Use:     "snapshot (TARGET... | -l SELECTOR | -A) -o FILE.tar.gz",
		GroupID: groupUtility,
		Short:   "Save proxies' and istiod's state to one file, redacted, for offline debugging",
		Long: `Save, for each proxy: its config dump with EDS, /clusters?format=json, /server_info, /stats
and the last --tail lines of its log; for each istiod instance: its syncz, registryz, configz
and push_status views, and what it holds for each of those proxies; and a manifest.json with
versions, times and whatever could not be read (a snapshot is never lost to one failure).

Nothing secret is saved: private keys, passwords, tokens and credential headers are redacted
in every file, as in every output of kubectl mesh. Every command reads the file with -f,
naming the proxy with --pod when it holds several:
  kubectl mesh listeners -f incident.tar.gz --pod default/frontend-7d9c5`,
		Example: `  # The proxies behind a Deployment and a Service, and istiod
  kubectl mesh snapshot deploy/frontend svc/reviews -o incident.tar.gz

  # Every sidecar of a namespace, picked by label
  kubectl mesh snapshot -n demo -l app=frontend -o frontend.tar.gz

  # Every sidecar of the mesh
  kubectl mesh snapshot -A -o mesh.tar.gz`,
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.Complete(args); err != nil {
				return err
			}
			return o.Run(c.Context())
		},
		ValidArgsFunction: completeTargets(deps.KubeFlags),
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "the file to write (.tar.gz)")
	cmd.Flags().StringVarP(&o.Selector, "selector", "l", "", "every Running pod with a proxy matching this label selector")
	cmd.Flags().BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "every Running pod with an istio-proxy container, in every namespace")
	cmd.Flags().IntVar(&o.AdminPort, "admin-port", 0, "Envoy admin port of the pods, for Envoys other than Istio's sidecar")
	cmd.Flags().StringVar(&o.IstioNamespace, "istio-namespace", o.IstioNamespace, "the namespace of istiod")
	cmd.Flags().Int64Var(&o.Tail, "tail", o.Tail, "lines of each proxy's log to keep (0: none)")
	_ = cmd.MarkFlagFilename("output", "tar.gz", "tgz")
	return cmd
}

// Complete checks the arguments before anything is read.
func (o *SnapshotOptions) Complete(args []string) error {
	if o.Output == "" {
		return usageError("name the file to write with -o FILE.tar.gz")
	}
	if !strings.HasSuffix(o.Output, ".tar.gz") && !strings.HasSuffix(o.Output, ".tgz") {
		return usageError("-o %s: a snapshot is a .tar.gz", o.Output)
	}
	n := 0
	for _, set := range []bool{len(args) > 0, o.Selector != "", o.AllNamespaces} {
		if set {
			n++
		}
	}
	if n != 1 {
		return usageError("name the proxies: pods and TYPE/NAMEs, or -l SELECTOR, or -A (one of them)")
	}
	for _, a := range args {
		t, err := ParseTarget(a, "")
		if err != nil {
			return err
		}
		o.targets = append(o.targets, t)
	}
	if o.deps.KubeFlags == nil {
		return usageError("no kube flags: cannot reach a cluster")
	}
	return nil
}

// Run takes the snapshot.
func (o *SnapshotOptions) Run(ctx context.Context) error {
	c, err := connectCluster(o.deps.KubeFlags)
	if err != nil {
		return err
	}
	client := c.client
	pods, err := o.pods(ctx, c)
	if isUnreachable(err) {
		return &unreachable{host: c.cfg.Host, err: err}
	}
	if err != nil {
		return err
	}
	// Write next to the destination, then rename: never half a file under
	// the name asked for.
	tmp, err := os.CreateTemp(filepath.Dir(o.Output), ".snapshot-*.tar.gz")
	if err != nil {
		return usageError("cannot write %s: %v", o.Output, err)
	}
	defer os.Remove(tmp.Name())
	now := o.deps.Now()
	w := snapshot.NewWriter(tmp, now)
	m := &snapshot.Manifest{Version: 1, Tool: "kubectl-mesh " + version, Created: now.UTC()}
	if raw, err := o.deps.KubeFlags.ToRawKubeConfigLoader().RawConfig(); err == nil {
		m.Context = raw.CurrentContext
		if c := o.deps.KubeFlags.Context; c != "" {
			m.Context = c
		}
	}
	progress := o.deps.terminal(o.deps.ErrOut)
	failed := 0
	for i, p := range pods {
		if progress {
			fmt.Fprintf(o.deps.ErrOut, "\rsnapshot: proxy %d/%d %s/%s\x1b[K", i+1, len(pods), p.Namespace, p.Name)
		}
		proxy := o.takeProxy(ctx, w, p)
		if _, ok := proxy.Errors[snapshot.ConfigDump]; ok {
			failed++
		}
		m.Proxies = append(m.Proxies, proxy)
	}
	m.Ztunnels = o.takeZtunnels(ctx, c, w, m)
	instances, err := pilot.Find(ctx, client, o.IstioNamespace, "")
	switch {
	case err != nil:
		m.Notes = append(m.Notes, fmt.Sprintf("istiod not read: listing pods in %s: %v", o.IstioNamespace, err))
	case len(instances) == 0:
		m.Notes = append(m.Notes, "no istiod pod (app=istiod) in namespace "+o.IstioNamespace+"; give --istio-namespace if it runs elsewhere")
	}
	for _, in := range instances {
		if !in.Running {
			continue
		}
		if progress {
			fmt.Fprintf(o.deps.ErrOut, "\rsnapshot: istiod %s\x1b[K", in.Pod)
		}
		m.Istiod = append(m.Istiod, o.takeIstiod(ctx, w, in, m.Proxies))
	}
	if progress {
		fmt.Fprint(o.deps.ErrOut, "\r\x1b[K")
	}
	if err := w.Close(m); err != nil {
		return failure("writing %s: %v", o.Output, err)
	}
	if err := tmp.Close(); err != nil {
		return failure("writing %s: %v", o.Output, err)
	}
	if err := os.Rename(tmp.Name(), o.Output); err != nil {
		return failure("writing %s: %v", o.Output, err)
	}
	zt := ""
	if len(m.Ztunnels) > 0 {
		zt = fmt.Sprintf(", %d ztunnels", len(m.Ztunnels))
	}
	fmt.Fprintf(o.deps.Out, "wrote %s: %d proxies%s, %d istiod instances\n", o.Output, len(m.Proxies), zt, len(m.Istiod))
	for _, line := range problems(m) {
		fmt.Fprintln(o.deps.ErrOut, "warning: "+line)
	}
	if failed > 0 {
		return failure("the config of %d of %d proxies could not be read (the snapshot holds the rest; see the warnings)", failed, len(pods))
	}
	return nil
}

// pods resolves the targets to Running pods, each once.
func (o *SnapshotOptions) pods(ctx context.Context, c *cluster) ([]*corev1.Pod, error) {
	client := c.client
	var out []*corev1.Pod
	seen := map[string]bool{}
	add := func(p *corev1.Pod) {
		if key := p.Namespace + "/" + p.Name; !seen[key] {
			seen[key] = true
			out = append(out, p)
		}
	}
	for _, t := range o.targets {
		src := &podSource{flags: o.deps.KubeFlags, target: t, adminPort: o.AdminPort, cluster: c}
		at, err := src.locate(ctx)
		if err != nil {
			if pod := o.ambientPod(ctx, c, t); pod != nil {
				o.ambient = append(o.ambient, pod)
				continue
			}
			return nil, err
		}
		add(at.pod)
	}
	if o.Selector != "" || o.AllNamespaces {
		ns := ""
		if !o.AllNamespaces {
			var err error
			if ns, _, err = o.deps.KubeFlags.ToRawKubeConfigLoader().Namespace(); err != nil {
				return nil, failure("cannot tell the namespace: %v", err)
			}
		}
		list, err := client.Pods(ctx, ns, metav1.ListOptions{LabelSelector: o.Selector, FieldSelector: "status.phase=Running"})
		if err != nil {
			return nil, apiError(err, "pods", ns, o.Selector, "list pods")
		}
		sort.Slice(list.Items, func(i, j int) bool {
			a, b := list.Items[i], list.Items[j]
			return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
		})
		for i := range list.Items {
			switch p := &list.Items[i]; {
			case o.AdminPort != 0 || hasContainer(p, istioProxy):
				add(p)
			case inAmbient(p):
				o.ambient = append(o.ambient, p)
			}
		}
		if len(out) == 0 && len(o.ambient) == 0 {
			return nil, failure("no Running pod with a proxy matches (namespace %q, selector %q)", ns, o.Selector)
		}
	}
	return out, nil
}

// takeProxy saves one proxy's files; what fails is recorded, not fatal.
func (o *SnapshotOptions) takeProxy(ctx context.Context, w *snapshot.Writer, pod *corev1.Pod) snapshot.Proxy {
	p := snapshot.Proxy{Namespace: pod.Namespace, Pod: pod.Name, Errors: map[string]string{}}
	src := &podSource{flags: o.deps.KubeFlags, target: Target{Kind: "pod", Name: pod.Name}, adminPort: o.AdminPort, inNamespace: pod.Namespace}
	defer src.Close()
	save := func(file string, data []byte, err error) {
		if err == nil {
			err = w.Add(p.Dir()+"/"+file, data)
		}
		if err != nil {
			p.Errors[file] = err.Error()
			return
		}
		p.Files = append(p.Files, file)
	}
	if err := src.connect(ctx); err != nil {
		p.Errors[snapshot.ConfigDump] = err.Error()
		return p
	}
	p.AdminPort = src.port
	for _, f := range []struct{ file, path string }{
		{snapshot.ConfigDump, "/config_dump?include_eds"},
		{snapshot.Clusters, "/clusters?format=json"},
		{snapshot.ServerInfo, "/server_info"},
	} {
		data, err := src.Get(ctx, f.path)
		if err == nil {
			data, err = redactJSON(data)
		}
		if f.file == snapshot.ServerInfo && err == nil {
			p.EnvoyVersion = envoyVersion(data)
		}
		save(f.file, data, err)
	}
	stats, err := src.Get(ctx, "/stats")
	save(snapshot.Stats, stats, err)
	if o.Tail > 0 {
		var log []byte
		r, err := src.logs(ctx, podLogOptions(istioProxy, false, 0, o.Tail))
		if err == nil {
			log, err = io.ReadAll(r)
			r.Close()
		}
		save(snapshot.AccessLog, redact.Lines(log), err)
	}
	if len(p.Errors) == 0 {
		p.Errors = nil
	}
	return p
}

// inAmbient tells whether a pod's traffic is captured by its node's
// ztunnel: istio-cni marks it so once redirection is in place.
func inAmbient(p *corev1.Pod) bool {
	return p.Annotations["ambient.istio.io/redirection"] == "enabled"
}

// ambientPod is the target's pod when it has no sidecar because it is in
// ambient mode, else nil.
func (o *SnapshotOptions) ambientPod(ctx context.Context, c *cluster, t Target) *corev1.Pod {
	pod, _, err := resolvePod(ctx, c, o.deps.KubeFlags, "", t)
	if err != nil || pod.Status.Phase != corev1.PodRunning || !inAmbient(pod) {
		return nil
	}
	return pod
}

// takeZtunnels saves the ztunnel dump of each ambient pod's node, and
// takes the waypoints those pods use as proxies.
func (o *SnapshotOptions) takeZtunnels(ctx context.Context, c *cluster, w *snapshot.Writer, m *snapshot.Manifest) []snapshot.Ztunnel {
	var out []snapshot.Ztunnel
	byNode := map[string][]*corev1.Pod{}
	var nodes []string
	for _, p := range o.ambient {
		if _, ok := byNode[p.Spec.NodeName]; !ok {
			nodes = append(nodes, p.Spec.NodeName)
		}
		byNode[p.Spec.NodeName] = append(byNode[p.Spec.NodeName], p)
	}
	taken := map[string]bool{}
	for _, p := range m.Proxies {
		taken[p.Name()] = true
	}
	for _, node := range nodes {
		in, err := runningZtunnel(ctx, c, node)
		if err != nil {
			m.Notes = append(m.Notes, fmt.Sprintf("%v: the config of its ambient pods is not saved", err))
			continue
		}
		z := snapshot.Ztunnel{Namespace: in.Namespace, Pod: in.Pod, Node: node, Errors: map[string]string{}}
		data, err := readZtunnel(ctx, o.deps.KubeFlags, c, in)
		if err == nil {
			data, err = redactJSON(data)
		}
		if err == nil {
			err = w.Add(z.Dir()+"/"+snapshot.ZtunnelFile, data)
		}
		if err != nil {
			z.Errors[snapshot.ZtunnelFile] = err.Error()
			out = append(out, z)
			continue
		}
		z.Files, z.Errors = []string{snapshot.ZtunnelFile}, nil
		out = append(out, z)
		// The waypoints the node's ambient pods use are Envoys: take them.
		d, err := ztunnel.Load(data)
		if err != nil {
			continue
		}
		for _, p := range byNode[node] {
			wl := d.WorkloadNamed(p.Namespace, p.Name)
			if wl == nil {
				m.Notes = append(m.Notes, fmt.Sprintf("ztunnel %s/%s does not know pod %s/%s", in.Namespace, in.Pod, p.Namespace, p.Name))
				continue
			}
			for _, wp := range d.Waypoints(wl) {
				for _, b := range d.Backends(wp) {
					if key := b.Namespace + "/" + b.Name; !taken[key] {
						taken[key] = true
						pod := &corev1.Pod{}
						pod.Namespace, pod.Name = b.Namespace, b.Name
						m.Proxies = append(m.Proxies, o.takeProxy(ctx, w, pod))
					}
				}
			}
		}
	}
	return out
}

// takeIstiod saves one istiod instance's views and its config for each proxy.
func (o *SnapshotOptions) takeIstiod(ctx context.Context, w *snapshot.Writer, in pilot.Instance, proxies []snapshot.Proxy) snapshot.Istiod {
	out := snapshot.Istiod{Namespace: in.Namespace, Pod: in.Pod, Revision: in.Revision, Errors: map[string]string{}}
	src := &podSource{flags: o.deps.KubeFlags, target: Target{Kind: "pod", Name: in.Pod}, adminPort: pilot.DebugPort, inNamespace: in.Namespace}
	defer src.Close()
	if err := src.connect(ctx); err != nil {
		out.Errors["*"] = err.Error()
		return out
	}
	save := func(file string, data []byte, err error) {
		if err == nil {
			data, err = redactJSON(data)
		}
		if err == nil {
			err = w.Add(out.Dir()+"/"+file, data)
		}
		if err != nil {
			out.Errors[file] = err.Error()
			return
		}
		out.Files = append(out.Files, file)
	}
	for _, v := range pilot.Views {
		data, err := src.Get(ctx, v.Path)
		save(v.File, data, err)
	}
	for _, p := range proxies {
		data, err := src.Get(ctx, pilot.ConfigDumpPath(p.Pod, p.Namespace))
		save("config_dump/"+p.Namespace+"/"+p.Pod+".json", data, err)
	}
	if len(out.Errors) == 0 {
		out.Errors = nil
	}
	return out
}

// redactJSON rewrites a JSON document with kubectl mesh's redaction, so no
// key material or token reaches the file; what is not JSON is not kept.
func redactJSON(data []byte) ([]byte, error) {
	root, err := jsonscan.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("not JSON, not kept: %v", err)
	}
	var buf bytes.Buffer
	e := render.NewEmitter(&buf, false)
	e.Value(root)
	if err := e.Flush(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func envoyVersion(serverInfo []byte) string {
	root, err := jsonscan.Parse(serverInfo)
	if err != nil {
		return ""
	}
	return root.Get("version").Str()
}

// problems lists what the snapshot lacks, for the warnings.
func problems(m *snapshot.Manifest) []string {
	var out []string
	for _, p := range m.Proxies {
		for _, f := range slices.Sorted(maps.Keys(p.Errors)) {
			out = append(out, fmt.Sprintf("%s: %s not saved: %s", p.Name(), f, p.Errors[f]))
		}
	}
	for _, z := range m.Ztunnels {
		for _, f := range slices.Sorted(maps.Keys(z.Errors)) {
			out = append(out, fmt.Sprintf("ztunnel %s/%s: %s not saved: %s", z.Namespace, z.Pod, f, z.Errors[f]))
		}
	}
	for _, in := range m.Istiod {
		for _, f := range slices.Sorted(maps.Keys(in.Errors)) {
			out = append(out, fmt.Sprintf("istiod %s: %s not saved: %s", in.Pod, f, in.Errors[f]))
		}
	}
	return append(out, m.Notes...)
}
