package portforward

import (
	"errors"
	"fmt"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// client-go's forwarder formats the dial error with %s
// (tools/portforward/portforward.go, "error upgrading connection: %s"), so
// the API server's 403 Status reaches us as text; a typed one (a future
// client-go wrapping with %w) is recognised too.
func TestForbiddenRecognisesTheAPIServersRefusal(t *testing.T) {
	refusal := apierrors.NewForbidden(schema.GroupResource{Resource: "pods/portforward"}, "frontend-1",
		errors.New(`User "limited" cannot create resource "pods/portforward" in API group "" in the namespace "default"`))
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{refusal, true},
		{fmt.Errorf("error upgrading connection: %w", refusal), true},
		{fmt.Errorf("error upgrading connection: %s", refusal), true},
		{errors.New("error upgrading connection: unable to upgrade connection: pod not found (\"frontend-1_default\")"), false},
		{errors.New("error upgrading connection: dial tcp 10.0.0.1:6443: connect: connection refused"), false},
		{errors.New(`an error occurred forwarding 0 -> 15000: the pod is forbidden to listen`), false},
		{apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, "frontend-1"), false},
	} {
		if got := forbidden(tc.err); got != tc.want {
			t.Errorf("forbidden(%q) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
