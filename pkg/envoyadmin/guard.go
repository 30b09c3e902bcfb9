package envoyadmin

import (
	"errors"
	"fmt"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/fault"
)

// ErrFileChanged says a mapped dump file lost bytes while it was being read
// (it was truncated or rewritten in place): the pages behind the lost part
// fault instead of reading.
var ErrFileChanged = errors.New("the dump file changed while it was being read")

// Guard runs fn with memory faults turned into an error: a mapped file that
// shrinks under the reader raises SIGBUS on its lost pages, which without
// this kills the process. Any other panic goes on as it was. Goroutines fn
// starts must catch their faults themselves (fault.Go) and hand them back.
func Guard(fn func() error) (err error) {
	if f := fault.Go(func() { err = fn() }); f != nil {
		return changedError{addr: f.(fault.Fault).Addr()}
	}
	return err
}

// changedError is bad input (ErrNotDump) of the kind ErrFileChanged.
type changedError struct{ addr uintptr }

func (e changedError) Error() string {
	return fmt.Sprintf("%v (a fault reading address %#x): was it truncated or rewritten while kubectl mesh read it? Save it again, or copy it first", ErrFileChanged, e.addr)
}

func (e changedError) Unwrap() []error { return []error{ErrFileChanged, ErrNotDump} }
