package pilot

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	authv1 "k8s.io/api/authentication/v1"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/kube"
)

// Forwarder opens a tunnel to a pod's port and says where it listens
// (127.0.0.1:PORT); close ends it. The caller's port-forward is behind it.
type Forwarder func(ctx context.Context, namespace, pod string, port int) (addr string, close func(), err error)

// DebugType asks one istiod instance for a debug type over xDS: its
// plaintext port 15010 first, else its TLS port 15012 with a token of the
// namespace's default service account (audience istio-ca, from the
// TokenRequest API) and istiod's root certificate (configmap
// istio-ca-root-cert). The token is used, never printed. The error says
// what each port answered.
func DebugType(ctx context.Context, forward Forwarder, client kube.Core, in Instance, typeURL string, names []string) (*discoveryv3.DiscoveryResponse, error) {
	var errs []string
	fail := func(format string, args ...any) (*discoveryv3.DiscoveryResponse, error) {
		errs = append(errs, fmt.Sprintf(format, args...))
		return nil, errors.New(strings.Join(errs, "; "))
	}
	if addr, closePlain, err := forward(ctx, in.Namespace, in.Pod, GRPCPort); err == nil {
		r, err := XDSDebug{Addr: addr}.Get(ctx, typeURL, names)
		closePlain()
		switch {
		case err == nil && len(r.GetResources()) > 0:
			return r, nil
		case err == nil:
			// istiod answers debug types only to an authenticated caller.
			errs = append(errs, fmt.Sprintf("port %d: an empty answer (debug types need an authenticated caller)", GRPCPort))
		default:
			errs = append(errs, fmt.Sprintf("port %d: %v", GRPCPort, err)) // a gRPC status: its own cause
		}
	} else {
		errs = append(errs, fmt.Sprintf("port %d: %v", GRPCPort, err))
	}
	expiry := int64(600)
	tok, err := client.CreateToken(ctx, in.Namespace, "default", &authv1.TokenRequest{
		Spec: authv1.TokenRequestSpec{Audiences: []string{TokenAudience}, ExpirationSeconds: &expiry}})
	if err != nil {
		return fail("port %d: a token for it: %v (RBAC: create serviceaccounts/token in %s)", SecureGRPCPort, err, in.Namespace)
	}
	roots := x509.NewCertPool()
	if cm, err := client.ConfigMap(ctx, in.Namespace, "istio-ca-root-cert"); err == nil {
		roots.AppendCertsFromPEM([]byte(cm.Data["root-cert.pem"]))
	}
	addr, closeSecure, err := forward(ctx, in.Namespace, in.Pod, SecureGRPCPort)
	if err != nil {
		return fail("port %d: %v", SecureGRPCPort, err)
	}
	defer closeSecure()
	r, err := XDSDebug{Addr: addr, TLS: true, Roots: roots, ServerName: "istiod." + in.Namespace + ".svc", Token: tok.Status.Token}.Get(ctx, typeURL, names)
	if err != nil {
		return fail("port %d: %v", SecureGRPCPort, err)
	}
	return r, nil
}
