package envoyadmin

import (
	"errors"
	"fmt"
	"runtime/debug"
)

// ErrFileChanged says a mapped dump file lost bytes while it was being read
// (it was truncated or rewritten in place): the pages behind the lost part
// fault instead of reading.
var ErrFileChanged = errors.New("the dump file changed while it was being read")

// fault is the value the runtime panics with on a memory fault when
// debug.SetPanicOnFault is on: a runtime.Error that knows the address.
type fault interface {
	error
	Addr() uintptr
}

// Guard runs fn with memory faults turned into an error: a mapped file that
// shrinks under the reader raises SIGBUS on its lost pages, which without
// this kills the process. Any other panic goes on as it was. Goroutines fn
// starts must guard themselves (GuardGo).
func Guard(fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(fault)
			if !ok {
				panic(r)
			}
			err = changedError{addr: f.Addr()}
		}
	}()
	return fn()
}

// GuardGo is Guard for a goroutine's body: a fault is handed back as a
// value for the goroutine that waits on it to re-raise (Reraise), so that
// the one Guard around the command reports it.
func GuardGo(fn func()) (faulted any) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(fault); !ok {
				panic(r)
			}
			faulted = r
		}
	}()
	fn()
	return nil
}

// changedError is bad input (ErrNotDump) of the kind ErrFileChanged.
type changedError struct{ addr uintptr }

func (e changedError) Error() string {
	return fmt.Sprintf("%v (a fault reading address %#x): was it truncated or rewritten while kubectl mesh read it? Save it again, or copy it first", ErrFileChanged, e.addr)
}

func (e changedError) Unwrap() []error { return []error{ErrFileChanged, ErrNotDump} }

// Reraise panics with a fault GuardGo caught, on the calling goroutine.
func Reraise(faulted any) {
	if faulted != nil {
		panic(faulted)
	}
}
