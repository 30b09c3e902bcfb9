// Command kubectl-mesh is the kubectl mesh plugin.
package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/klog/v2"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/cmd"
)

func main() {
	dropStartupPages()
	deferFirstGC(firstGC)
	// client-go reports some failures (a refused forwarded connection) through
	// klog on stderr as well as in the errors it returns; the command says
	// what went wrong in one line of its own.
	klog.SetLogger(logr.Discard())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	root := cmd.NewRootCmd(streams)
	if completingForKubectl(os.Args[0]) {
		// kubectl runs kubectl_complete-mesh ARGS... TO_COMPLETE for
		// "kubectl mesh ARGS... <TAB>": answer as cobra's __complete does.
		root.SetArgs(append([]string{cobra.ShellCompRequestCmd}, os.Args[1:]...))
	}
	err := root.ExecuteContext(ctx)
	stop()
	if err != nil {
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(os.Stderr, "error: "+msg)
		}
		os.Exit(cmd.ExitCode(err))
	}
}

// completingForKubectl tells whether the binary was started under the name
// kubectl looks up to complete the mesh plugin's arguments (a link to
// kubectl-mesh named kubectl_complete-mesh, with .exe on Windows).
func completingForKubectl(argv0 string) bool {
	name := strings.TrimSuffix(filepath.Base(argv0), ".exe")
	return name == "kubectl_complete-mesh"
}

// firstGC is how much memory the process takes before its first garbage
// collection (Go's own: heap, stacks and the runtime's, not the binary or
// a mapped dump). A listing allocates its model and its rows once and
// keeps nearly all of them to the end: the collections Go runs from a 4 MB
// heap on (at 4, 8, 16 MB ...) find little to free, and cost marking what
// is live, write barriers, and the collector reading fresh pages before
// they are written (each then copied, with a flush of every core's TLB).
const firstGC = 48 << 20

// deferFirstGC turns collection off until the process has taken limit
// bytes, then back to Go's default (GOGC=100, no limit) for the rest of
// its life: a command that goes on allocating (a watch, a large dump) is
// collected as any Go program. GOGC or GOMEMLIMIT in the environment are
// the user's, and left alone; MESH_FIRST_GC_MB sets the limit (0: off).
func deferFirstGC(limit int64) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	if mb, err := strconv.Atoi(os.Getenv("MESH_FIRST_GC_MB")); err == nil {
		limit = int64(mb) << 20
	}
	if limit <= 0 {
		return
	}
	old := debug.SetGCPercent(-1)
	debug.SetMemoryLimit(limit)
	// The first collection finds the sentinel unreachable and runs its
	// finalizer, which restores the defaults.
	runtime.SetFinalizer(&sentinel{}, func(*sentinel) {
		debug.SetGCPercent(old)
		debug.SetMemoryLimit(math.MaxInt64)
	})
}

// sentinel holds a pointer so that it is not packed with other small
// objects (whose finalizers may never run).
type sentinel struct{ _ *byte }
