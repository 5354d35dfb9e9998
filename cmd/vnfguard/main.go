// Command vnfguard keeps fake VNFs out of Kubernetes and keeps everyone out of stopped and terminated VNFs
// (MITRE FiGHT FGT5013 and FGT1609.501). This file only wires cobra commands to the packages that do the work.
package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/vnfguard/vnfguard/internal/config"
)

// Exit codes, kubectl-style: 0 clean, 1 findings (denials), 2 usage or runtime error.
const (
	exitClean    = 0
	exitFindings = 1
	exitError    = 2
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// exitCodeError carries an exit code through cobra.
type exitCodeError struct {
	code int
	err  error
}

// Unwrap gives the error behind the exit code, for errors.Is.
func (e *exitCodeError) Unwrap() error { return e.err }

func (e *exitCodeError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCommand(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitClean
	}
	var ec *exitCodeError
	if errors.As(err, &ec) {
		if ec.err != nil {
			fmt.Fprintln(stderr, "vnfguard:", ec.err)
		}
		return ec.code
	}
	fmt.Fprintln(stderr, "vnfguard:", err)
	return exitError
}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "vnfguard",
		Short: "Admission control and detection for VNFs on Kubernetes, aware of the VNF lifecycle",
		Long: `vnfguard stops fake VNFs from being instantiated (MITRE FiGHT FGT5013) and keeps everyone out of stopped
and terminated VNFs (FGT1609.501). Every decision knows which VNF instance an object belongs to, what state the
NFVO says it is in, and which images its package declared.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newServeCommand(stdout, stderr), newConsoleCommand(stderr), newReconcileCommand(stdout, stderr), newScanCommand(stdout, stderr), newPackageCommand(stdout, stderr), newPolicyCommand(stdout), newWebhookConfigCommand(stdout), newAdmissionPoliciesCommand(stdout), newRBACCommand(stdout), newUnregisterCommand(stdout),
		newDetectCommand(stdout, stderr), newRulesCommand(stdout), newFindingsCommand(stdout, stderr), newVersionCommand(stdout), newNodeCommand(stderr), newAuditPolicyCommand(stdout))
	return root
}

// newLogger writes slog JSON to w at the given level.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError(fmt.Errorf("--log-level %q: want debug, info, warn or error", level))
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})), nil
}

func usageError(err error) error { return &exitCodeError{code: exitError, err: err} }

// loadConfig reads the --config file, or gives the defaults when none is named.
func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return config.Default(), nil
	}
	return config.Load(path)
}
