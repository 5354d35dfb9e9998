package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/vnfguard/vnfguard/internal/lab"
)

type labDemoOptions struct {
	controlPlaneDir, workDir, vnfguard string
	keep, realNode                     bool
}

func newLabDemoCommand() *cobra.Command {
	o := &labDemoOptions{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Start a control plane and vnfguard, run the benign VNF lifecycle and the attacks, print the verdicts",
		Long: `Starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok on loopback (binaries from
--controlplane-dir, built by 'make controlplane'), runs the vnfguard binary (--vnfguard) as their validating webhook, and plays
a VNFM's full lifecycle of a UPF and a UDR (instantiate, scale out, heal, stop, terminate) with the FGT5013 and
FGT1609.501 attacks in between. Prints one row per request: identity, request, verdict, check and FiGHT technique.
With --real-node (root; the kubelet from 'make controlplane', containerd from hack/node-deps.sh) the lab also runs a
real kubelet and containerd: first, before vnfguard is registered, a control run shows the Peirates pod really
starting, its reverse shell reaching a listener on the host and reading a canary file through its hostPath mount;
then, with vnfguard, the same pod is denied and the on-call engineer's break-glass exec into a running container
prints the command's output.
Everything started is stopped again. Exit code 0 when every step got its expected verdict, 1 otherwise, 2 when
the lab could not start.`,
		Example: `  vnfguard-lab demo --vnfguard bin/vnfguard
  vnfguard-lab demo --vnfguard bin/vnfguard --controlplane-dir ~/.cache/vnfguard/k8s/v1.34.4 --keep`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&o.controlPlaneDir, "controlplane-dir", "", "directory of the control-plane binaries (default: $"+lab.ControlPlaneDirEnv+" or the build cache)")
	f.StringVar(&o.workDir, "work-dir", "", "directory for data, certificates, kubeconfigs and logs (default: a temporary directory)")
	f.StringVar(&o.vnfguard, "vnfguard", "", "the vnfguard binary to run as the webhook (default: vnfguard beside this command)")
	f.BoolVar(&o.keep, "keep", false, "keep the work directory (logs, audit log, vnfguard's findings) after the run")
	f.BoolVar(&o.realNode, "real-node", false, "also run a real kubelet and containerd, and the attack for real on it (needs root)")
	return cmd
}

func (o *labDemoOptions) run(cmd *cobra.Command) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey {
			return slog.String("time", a.Value.Time().Format("15:04:05"))
		}
		return a
	}}))
	binDir := o.controlPlaneDir
	if binDir == "" {
		binDir = lab.DefaultBinDir()
	}
	check := func() error { return lab.CheckBinaries(binDir, false) }
	if o.realNode {
		if os.Geteuid() != 0 {
			return usageError(errors.New("--real-node needs root: the kubelet, containerd and the pod bridge do"))
		}
		check = func() error { return lab.CheckNodeBinaries(binDir) }
	}
	if err := check(); err != nil {
		return usageError(err)
	}
	binary, err := vnfguardBinary(o.vnfguard)
	if err != nil {
		return usageError(err)
	}
	workDir := o.workDir
	if workDir == "" {
		if workDir, err = os.MkdirTemp("", "vnfguard-demo-"); err != nil {
			return usageError(fmt.Errorf("create a work directory: %w", err))
		}
	}
	defer func() {
		if o.keep {
			logger.Info("work directory kept", "dir", workDir)
			return
		}
		if err := os.RemoveAll(workDir); err != nil {
			logger.Warn("could not remove the work directory", "dir", workDir, "error", err)
		}
	}()

	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	started := time.Now()
	logger.Info("starting the control plane", "binaries", binDir, "workDir", workDir, "realNode", o.realNode)
	cp, err := lab.Start(ctx, lab.Options{BinDir: binDir, WorkDir: workDir, Logger: logger, AuditToVNFGuard: true, RealNode: o.realNode})
	if err != nil {
		return usageError(err)
	}
	defer cp.Stop()
	// Without vnfguard first, on the real node: the attack is real.
	var results []lab.StepResult
	var attack *lab.HostTakeover
	if o.realNode {
		if attack, err = cp.RealNode().PrepareHostTakeover(cp.WorkDir); err != nil {
			return usageError(err)
		}
		defer attack.Close()
		logger.Info("control run: the Peirates pod on the real node, vnfguard not registered")
		control, err := lab.RunScenario(ctx, &lab.Env{CP: cp, Logger: logger}, lab.HostTakeoverControl(attack))
		results = append(results, control...)
		if err != nil {
			return usageError(err)
		}
	}
	env, err := lab.StartGuard(ctx, cp, binary)
	if err != nil {
		return usageError(err)
	}
	logger.Info("lab ready", "seconds", fmt.Sprintf("%.1f", time.Since(started).Seconds()), "apiserver", env.CP.URL, "vnfguard", env.Guard.URL)

	lifecycle, runErr := lab.RunScenario(ctx, env, lab.DefaultScenario())
	results = append(results, lifecycle...)
	if runErr == nil && attack != nil {
		var real []lab.StepResult
		real, runErr = lab.RunScenario(ctx, env, lab.RealNodeScenario(attack))
		results = append(results, real...)
	}
	if err := lab.RenderTable(stdout, results); err != nil {
		return usageError(err)
	}
	logger.Info("stopping the control plane and vnfguard")
	cp.Stop()
	if runErr != nil {
		return usageError(runErr)
	}
	if s := lab.Summarize(results); s.Passed != s.Steps {
		return &exitCodeError{code: exitFailed, err: errors.New("some steps did not get their expected verdict; see the table")}
	}
	return nil
}

// vnfguardBinary is the vnfguard the demo runs: the one given, else the one installed beside this command.
func vnfguardBinary(given string) (string, error) {
	if given == "" {
		self, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("find this command's directory (give --vnfguard): %w", err)
		}
		given = filepath.Join(filepath.Dir(self), "vnfguard")
	}
	abs, err := filepath.Abs(given)
	if err != nil {
		return "", fmt.Errorf("--vnfguard %s: %w", given, err)
	}
	if fi, err := os.Stat(abs); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return "", fmt.Errorf("--vnfguard %s: not an executable file (build it with make build)", abs)
	}
	return abs, nil
}
