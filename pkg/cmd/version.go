package cmd

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is stamped at build time: -ldflags "-X github.com/kubectl-mesh/kubectl-mesh/pkg/cmd.version=v0.1.0".
var version = "dev"

// VersionInfo is what "kubectl mesh version" reports.
type VersionInfo struct {
	Version         string `json:"version"`
	GoVersion       string `json:"goVersion"`
	Platform        string `json:"platform"`
	GoControlPlane  string `json:"goControlPlane"`
	ClientGo        string `json:"clientGo"`
	ProtobufRuntime string `json:"protobuf"`
}

func versionInfo() VersionInfo {
	v := VersionInfo{Version: version, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			switch m.Path {
			case "github.com/envoyproxy/go-control-plane/envoy":
				v.GoControlPlane = m.Version
			case "k8s.io/client-go":
				v.ClientGo = m.Version
			case "google.golang.org/protobuf":
				v.ProtobufRuntime = m.Version
			}
		}
	}
	return v
}

// NewVersionCmd returns the version command.
func NewVersionCmd(deps Deps) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "version",
		GroupID: groupUtility,
		Short:   "Print the version of kubectl mesh and of the libraries it was built with",
		Long: `Print the version of kubectl mesh (stamped when the release was built), the Go it was
built with, its platform, and the versions of go-control-plane (Envoy's API), client-go and
the protobuf runtime it links: what a bug report needs.`,
		Example: `  kubectl mesh version
  kubectl mesh version -o json
  kubectl mesh version -o yaml`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			v := versionInfo()
			switch output {
			case "json", "yaml":
				return writeStructured(deps.Out, v, output == "yaml")
			case "", "table":
				_, err := fmt.Fprintf(deps.Out, "kubectl-mesh %s (%s, %s)\ngo-control-plane %s, client-go %s, protobuf %s\n",
					v.Version, v.GoVersion, v.Platform, v.GoControlPlane, v.ClientGo, v.ProtobufRuntime)
				return err
			}
			return usageError("unknown output format %q: use json or yaml", output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json or yaml")
	_ = cmd.RegisterFlagCompletionFunc("output", completeWords("json", "yaml"))
	return cmd
}
