package cmd

import (
	"context"
	"crypto/x509"
	"fmt"
	"strings"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	authv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/pilot"
)

// xdsDebug asks one istiod instance for a debug type over xDS: its
// plaintext port 15010 first, else its TLS port 15012 with a token of the
// namespace's default service account (audience istio-ca, from the
// TokenRequest API) and istiod's root certificate (configmap
// istio-ca-root-cert). The token is used, never printed.
func xdsDebug(ctx context.Context, flags *genericclioptions.ConfigFlags, client kubernetes.Interface, in pilot.Instance, typeURL string, names []string) (*discoveryv3.DiscoveryResponse, error) {
	plain := &podSource{flags: flags, target: Target{Kind: "pod", Name: in.Pod}, adminPort: pilot.GRPCPort, inNamespace: in.Namespace}
	defer plain.Close()
	var errs []string
	if err := plain.connect(ctx); err == nil {
		r, err := pilot.XDSDebug{Addr: fmt.Sprintf("127.0.0.1:%d", plain.tunnel.LocalPort)}.Get(ctx, typeURL, names)
		switch {
		case err == nil && len(r.GetResources()) > 0:
			return r, nil
		case err == nil:
			// istiod answers debug types only to an authenticated caller.
			errs = append(errs, fmt.Sprintf("port %d: an empty answer (debug types need an authenticated caller)", pilot.GRPCPort))
		default:
			errs = append(errs, fmt.Sprintf("port %d: %v", pilot.GRPCPort, rootCause(err)))
		}
	} else {
		errs = append(errs, fmt.Sprintf("port %d: %v", pilot.GRPCPort, err))
	}
	secure := &podSource{flags: flags, target: Target{Kind: "pod", Name: in.Pod}, adminPort: pilot.SecureGRPCPort, inNamespace: in.Namespace}
	defer secure.Close()
	tok, err := client.CoreV1().ServiceAccounts(in.Namespace).CreateToken(ctx, "default", &authv1.TokenRequest{
		Spec: authv1.TokenRequestSpec{Audiences: []string{pilot.TokenAudience}, ExpirationSeconds: ptr(int64(600))}}, metav1.CreateOptions{})
	if err != nil {
		errs = append(errs, fmt.Sprintf("port %d: a token for it: %v (RBAC: create serviceaccounts/token in %s)", pilot.SecureGRPCPort, rootCause(err), in.Namespace))
		return nil, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	roots := x509.NewCertPool()
	if cm, err := client.CoreV1().ConfigMaps(in.Namespace).Get(ctx, "istio-ca-root-cert", metav1.GetOptions{}); err == nil {
		roots.AppendCertsFromPEM([]byte(cm.Data["root-cert.pem"]))
	}
	if err := secure.connect(ctx); err != nil {
		errs = append(errs, fmt.Sprintf("port %d: %v", pilot.SecureGRPCPort, err))
		return nil, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	r, err := pilot.XDSDebug{Addr: fmt.Sprintf("127.0.0.1:%d", secure.tunnel.LocalPort), TLS: true, Roots: roots,
		ServerName: "istiod." + in.Namespace + ".svc", Token: tok.Status.Token}.Get(ctx, typeURL, names)
	if err != nil {
		errs = append(errs, fmt.Sprintf("port %d: %v", pilot.SecureGRPCPort, rootCause(err)))
		return nil, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return r, nil
}

func ptr[T any](v T) *T { return &v }
