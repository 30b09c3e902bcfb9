// Package portforward opens tunnels to pod ports through the API server, as
// kubectl port-forward does: WebSocket first, SPDY when the server does not
// speak it, listening on 127.0.0.1 only, on a random local port.
package portforward

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/kube"
)

// Tunnel is an open port-forward to one pod port.
type Tunnel struct {
	// LocalPort is the 127.0.0.1 port that reaches the pod's port.
	LocalPort uint16
	fw        *portforward.PortForwarder
	cancel    context.CancelFunc
	done      chan error
}

// Open forwards a random 127.0.0.1 port to namespace/pod:port. The tunnel
// is closed by Close or when ctx ends; requests may share it.
func Open(ctx context.Context, cfg *rest.Config, client kube.Core, namespace, pod string, port int) (*Tunnel, error) {
	url := client.PortForwardURL(namespace, pod)
	transport, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		return nil, err
	}
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, url)
	if ws, err := portforward.NewSPDYOverWebsocketDialer(url, cfg); err == nil {
		dialer = portforward.NewFallbackDialer(ws, dialer, func(err error) bool {
			return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
		})
	}
	ctx, cancel := context.WithCancel(ctx)
	ready := make(chan struct{})
	var errOut strings.Builder
	fw, err := portforward.NewOnAddressesWithContext(ctx, dialer, []string{"127.0.0.1"}, []string{fmt.Sprintf("0:%d", port)}, ready, io.Discard, &errOut)
	if err != nil {
		cancel()
		return nil, err
	}
	t := &Tunnel{fw: fw, cancel: cancel, done: make(chan error, 1)}
	// ForwardPorts returns once the context is done and everything is closed.
	go func() { t.done <- fw.ForwardPorts() }()
	select {
	case <-ready:
	case err := <-t.done:
		cancel()
		if err == nil {
			err = errors.New(strings.TrimSpace(errOut.String()))
		}
		if forbidden(err) {
			return nil, &ForbiddenError{Namespace: namespace, Pod: pod, Err: err}
		}
		return nil, fmt.Errorf("port-forward to %s/%s:%d: %w", namespace, pod, port, err)
	case <-ctx.Done():
		cancel()
		return nil, ctx.Err()
	}
	ports, err := fw.GetPorts()
	if err != nil || len(ports) == 0 {
		t.Close()
		return nil, fmt.Errorf("port-forward to %s/%s:%d: no local port: %v", namespace, pod, port, err)
	}
	t.LocalPort = ports[0].Local
	return t, nil
}

// ForbiddenError is a port-forward the API server refused: the user may not
// create pods/portforward in the namespace.
type ForbiddenError struct {
	Namespace, Pod string
	Err            error
}

func (e *ForbiddenError) Error() string {
	return fmt.Sprintf("port-forward to %s/%s forbidden: %v", e.Namespace, e.Pod, e.Err)
}

func (e *ForbiddenError) Unwrap() error { return e.Err }

// forbidden tells whether a port-forward failed on authorization. The API
// server answers the upgrade with a 403 Status, but client-go's forwarder
// flattens the dial error into text ("error upgrading connection: ...",
// formatted with %s), so past a typed check only the Status's reason in
// that text is left to read. This is the one place that reads it.
func forbidden(err error) bool {
	if apierrors.IsForbidden(err) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "error upgrading connection") &&
		(strings.Contains(msg, "forbidden") || strings.Contains(msg, "Forbidden"))
}

// URL is the base URL of the tunnel: http://127.0.0.1:PORT.
func (t *Tunnel) URL() string { return fmt.Sprintf("http://127.0.0.1:%d", t.LocalPort) }

// Close stops forwarding and waits for the listener to be gone. The
// forwarder follows its context: cancelling it closes listener and streams.
func (t *Tunnel) Close() {
	t.cancel()
	<-t.done
}
