package pilot

import (
	"context"
	"errors"
	"strings"
	"testing"

	authv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/kube/kubefake"
)

// Without an answer, DebugType says what each port did, in one line, and
// names the RBAC a token needs; it never reaches the secure port without one.
func TestDebugTypeSaysWhatEachPortDid(t *testing.T) {
	in := Instance{Pod: "istiod-1", Namespace: "istio-system"}
	var dialled []int
	refuse := func(_ context.Context, ns, pod string, port int) (string, func(), error) {
		dialled = append(dialled, port)
		return "", nil, errors.New("nothing answered")
	}

	client := fake.NewSimpleClientset()
	client.PrependReactor("create", "serviceaccounts", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "serviceaccounts/token"}, "default", errors.New("RBAC"))
	})
	_, err := DebugType(context.Background(), refuse, kubefake.Core(client), in, DebugSyncz, nil)
	if err == nil || !strings.Contains(err.Error(), "port 15010: nothing answered") ||
		!strings.Contains(err.Error(), "port 15012: a token for it:") || !strings.Contains(err.Error(), "RBAC: create serviceaccounts/token in istio-system") {
		t.Errorf("got %v", err)
	}
	if len(dialled) != 1 || dialled[0] != GRPCPort {
		t.Errorf("dialled %v; want only %d without a token", dialled, GRPCPort)
	}

	dialled = nil
	client = fake.NewSimpleClientset()
	client.PrependReactor("create", "serviceaccounts", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, &authv1.TokenRequest{Status: authv1.TokenRequestStatus{Token: "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"}}, nil
	})
	_, err = DebugType(context.Background(), refuse, kubefake.Core(client), in, DebugSyncz, nil)
	if err == nil || !strings.Contains(err.Error(), "port 15010: nothing answered; port 15012: nothing answered") || strings.Contains(err.Error(), "eyJ") {
		t.Errorf("got %v", err)
	}
	if len(dialled) != 2 || dialled[1] != SecureGRPCPort {
		t.Errorf("dialled %v; want %d then %d", dialled, GRPCPort, SecureGRPCPort)
	}
}
