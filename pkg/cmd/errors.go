package cmd

import (
	"errors"
	"fmt"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/envoyadmin"
)

// Exit statuses, as DESIGN.md sets them.
const (
	ExitOK       = 0
	ExitNegative = 1 // the answer the user asked about is "no": a diff, a failed trace or check
	ExitUsage    = 2 // bad usage or bad input
	ExitFailure  = 3 // cluster, connection or permission failure
	ExitUnknown  = 4 // trace could not evaluate a stage its answer depends on
)

// ExitError carries the exit status an error should end the program with.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

func usageError(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// ErrNegative ends a command with status 1 after its output said why.
var ErrNegative = &ExitError{Code: ExitNegative, Err: errors.New("")}

// ErrUnknown ends trace with status 4 after its output said what the
// answer depends on.
var ErrUnknown = &ExitError{Code: ExitUnknown, Err: errors.New("")}

// ExitCode maps an error to the program's exit status.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	if errors.Is(err, envoyadmin.ErrNotDump) {
		return ExitUsage
	}
	return ExitFailure
}
