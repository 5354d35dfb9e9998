// Command vnfguard-lab runs vnfguard against a local control plane on loopback (etcd, kube-apiserver, controllers,
// kwok): `vnfguard-lab demo` is what `make demo` runs. It is a command of its own so that the production binary,
// cmd/vnfguard, carries no control-plane launcher (internal/lab): nothing in an installed vnfguard starts
// processes, writes kubeconfigs or mints tokens.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// Exit codes: 0 every step got its expected verdict, 1 some did not, 2 the lab could not start or a usage error.
const (
	exitClean  = 0
	exitFailed = 1
	exitError  = 2
)

// exitCodeError carries an exit code through cobra.
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string { return e.err.Error() }

func usageError(err error) error { return &exitCodeError{code: exitError, err: err} }

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	root := &cobra.Command{
		Use:           "vnfguard-lab",
		Short:         "Run vnfguard against a local control plane (etcd, kube-apiserver, controllers, kwok)",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newLabDemoCommand())
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return exitClean
	}
	fmt.Fprintln(stderr, "vnfguard-lab:", err)
	if ec, ok := errors.AsType[*exitCodeError](err); ok {
		return ec.code
	}
	return exitError
}
