//go:build e2e

// Package e2e runs kubectl mesh against real Kubernetes components started
// on loopback by the tests themselves: etcd and kube-apiserver built from
// the Go module proxy (hack/e2e/build.sh), driven through the real kubectl.
package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Stack is a running control plane.
type Stack struct {
	Dir        string // certificates, data, logs, kubeconfig
	Kubeconfig string
	APIServer  string // https://127.0.0.1:port
	procs      []*exec.Cmd
	pki        *pki
}

// binDir builds (or finds, cached) the components and returns their directory.
func binDir() (string, error) {
	out, err := exec.Command("../../hack/e2e/build.sh").Output()
	if err != nil {
		return "", fmt.Errorf("hack/e2e/build.sh: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start brings up etcd and kube-apiserver in dir and waits until the API
// server is ready. Stop tears them down by PID.
func Start(ctx context.Context, dir string) (*Stack, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	s := &Stack{Dir: dir}
	p, err := newPKI(dir)
	if err != nil {
		return nil, err
	}
	s.pki = p
	loopback := []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.0.0.1")}
	for _, c := range []struct {
		name, cn string
		orgs     []string
		usage    x509.ExtKeyUsage
	}{
		{"apiserver", "kube-apiserver", nil, x509.ExtKeyUsageServerAuth},
		{"admin", "e2e-admin", []string{"system:masters"}, x509.ExtKeyUsageClientAuth},
		{"apiserver-kubelet-client", "kube-apiserver-kubelet-client", []string{"system:masters"}, x509.ExtKeyUsageClientAuth},
	} {
		if err := p.issue(c.name, c.cn, c.orgs, loopback, []string{"localhost", "kubernetes.default.svc"}, c.usage); err != nil {
			return nil, err
		}
	}
	if err := p.serviceAccountKey(); err != nil {
		return nil, err
	}

	etcdClient, err := freePort()
	if err != nil {
		return nil, err
	}
	etcdPeer, err := freePort()
	if err != nil {
		return nil, err
	}
	if err := s.run(ctx, "etcd", filepath.Join(bin, "etcd"),
		"--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", fmt.Sprintf("http://127.0.0.1:%d", etcdClient),
		"--advertise-client-urls", fmt.Sprintf("http://127.0.0.1:%d", etcdClient),
		"--listen-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", etcdPeer),
		"--initial-advertise-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", etcdPeer),
		"--initial-cluster", fmt.Sprintf("default=http://127.0.0.1:%d", etcdPeer),
		"--listen-metrics-urls", "", "--log-level", "warn"); err != nil {
		return nil, err
	}

	port, err := freePort()
	if err != nil {
		s.Stop()
		return nil, err
	}
	s.APIServer = fmt.Sprintf("https://127.0.0.1:%d", port)
	if err := s.run(ctx, "kube-apiserver", filepath.Join(bin, "kube-apiserver"),
		"--etcd-servers", fmt.Sprintf("http://127.0.0.1:%d", etcdClient),
		"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", fmt.Sprint(port),
		"--tls-cert-file", p.path("apiserver.crt"), "--tls-private-key-file", p.path("apiserver.key"),
		"--client-ca-file", p.path("ca.crt"),
		"--service-account-key-file", p.path("sa.pub"), "--service-account-signing-key-file", p.path("sa.key"),
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range", "10.0.0.0/24",
		"--authorization-mode", "Node,RBAC",
		"--endpoint-reconciler-type", "none",
		"--kubelet-client-certificate", p.path("apiserver-kubelet-client.crt"),
		"--kubelet-client-key", p.path("apiserver-kubelet-client.key"),
		"--kubelet-certificate-authority", p.path("ca.crt"),
		"--kubelet-preferred-address-types", "InternalIP",
		"--cert-dir", filepath.Join(dir, "apiserver-certs")); err != nil {
		s.Stop()
		return nil, err
	}
	if err := s.writeKubeconfig(p); err != nil {
		s.Stop()
		return nil, err
	}
	if err := s.waitReady(ctx, p); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// run starts a component in its own process group, logging to dir/name.log.
func (s *Stack) run(ctx context.Context, name, path string, args ...string) error {
	log, err := os.Create(filepath.Join(s.Dir, name+".log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	s.procs = append(s.procs, cmd)
	return nil
}

func (s *Stack) writeKubeconfig(p *pki) error {
	s.Kubeconfig = filepath.Join(s.Dir, "kubeconfig")
	return writeKubeconfig(s.Kubeconfig, s.APIServer, p.path("ca.crt"), p.path("admin.crt"), p.path("admin.key"))
}

// writeKubeconfig writes a kubeconfig for one user of the stack.
func writeKubeconfig(path, server, ca, cert, key string) error {
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: admin
  user:
    client-certificate: %s
    client-key: %s
contexts:
- name: e2e
  context: {cluster: e2e, user: admin, namespace: default}
current-context: e2e
`, server, ca, cert, key)
	return os.WriteFile(path, []byte(cfg), 0o600)
}

// waitReady polls /readyz as the admin until the API server answers ok.
func (s *Stack) waitReady(ctx context.Context, p *pki) error {
	cert, err := tls.LoadX509KeyPair(p.path("admin.crt"), p.path("admin.key"))
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AddCert(p.ca)
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool}}}
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		resp, err := client.Get(s.APIServer + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		for _, c := range s.procs {
			if c.ProcessState != nil {
				return fmt.Errorf("%s exited: see %s", c.Path, s.Dir)
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	return fmt.Errorf("kube-apiserver not ready after 90s: see %s/kube-apiserver.log", s.Dir)
}

// Stop ends the components by PID (their whole process groups), last started first.
func (s *Stack) Stop() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		c := s.procs[i]
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	s.procs = nil
}
