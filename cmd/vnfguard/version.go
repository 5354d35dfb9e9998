package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// versionInfo is what `vnfguard version` reports: enough to tell which build answered a bug report or an audit.
type versionInfo struct {
	Version   string `json:"version"`             // -ldflags "-X main.version=..."; "dev" otherwise
	GoVersion string `json:"goVersion"`           // the toolchain that built the binary
	Platform  string `json:"platform"`            // GOOS/GOARCH
	Module    string `json:"module,omitempty"`    // the main module's path and version as the build recorded it
	Revision  string `json:"revision,omitempty"`  // vcs.revision, when built from a checkout
	Modified  bool   `json:"modified,omitempty"`  // vcs.modified: the checkout had uncommitted changes
	BuildTime string `json:"buildTime,omitempty"` // vcs.time: the commit's time
}

func currentVersion() versionInfo {
	v := versionInfo{Version: version, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v.Module = bi.Main.Path + " " + bi.Main.Version
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Revision = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			case "vcs.time":
				v.BuildTime = s.Value
			}
		}
	}
	return v
}

func newVersionCommand(stdout io.Writer) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print vnfguard's version, the Go version it was built with, and its build information",
		Args:  cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			v := currentVersion()
			switch output {
			case "json":
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(v)
			case "", "text":
				fmt.Fprintf(stdout, "vnfguard %s\ngo: %s %s\n", v.Version, v.GoVersion, v.Platform)
				if v.Module != "" {
					fmt.Fprintf(stdout, "module: %s\n", v.Module)
				}
				if v.Revision != "" {
					modified := ""
					if v.Modified {
						modified = " (modified)"
					}
					fmt.Fprintf(stdout, "revision: %s%s %s\n", v.Revision, modified, v.BuildTime)
				}
				return nil
			}
			return usageError(fmt.Errorf("-o %q: want text or json", output))
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}
