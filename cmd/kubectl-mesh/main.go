// Command kubectl-mesh is the kubectl mesh plugin.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/klog/v2"

	"github.com/kubectl-mesh/kubectl-mesh/pkg/cmd"
)

func main() {
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
