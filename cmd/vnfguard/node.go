package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/vnfguard/vnfguard/internal/nodesensor"
)

type nodeOptions struct {
	sockets           []string
	nodeName          string
	intakeURL         string
	intakeCA          string
	tokenFile         string
	allowedNamespaces []string
	resync            time.Duration
	procRoot          string
	kubeletURL        string
	kubeletCA         string
	kubeletProbe      []string
	logLevel          string
}

func newNodeCommand(stderr io.Writer) *cobra.Command {
	o := &nodeOptions{}
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Node agent: report the node's containers and execs, seen from containerd, to vnfguard serve",
		Long: `vnfguard node runs on every node (the chart's DaemonSet). It subscribes to containerd's events in every
containerd namespace (k8s.io, moby, default ...), takes the whole inventory of containers and running execs at start
and every --resync, and sends each container and exec to vnfguard serve's /runtime endpoint with its service-account
token. serve's runtime rules then find what bypassed the API server: execs through the kubelet's own API, containers
started through a container engine or ctr, zombie containers of stopped VNFs, undeclared image digests.

A container counts as the kubelet's only when the CRI plugin lists it; an exec's command line is read from /proc
(--proc-root; the agent needs the host's PID namespace) the moment containerd reports it.`,
		Example: `  vnfguard node --node-name $(NODE_NAME) --intake-url https://vnfguard.vnfguard.svc/runtime \
    --intake-ca /etc/vnfguard/ca/ca.crt --token-file /var/run/secrets/kubernetes.io/serviceaccount/token`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runNode(cmd.Context(), o, stderr) },
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.sockets, "containerd-socket", []string{"/run/containerd/containerd.sock"}, "containerd sockets to follow (repeat for a second containerd, e.g. a Docker Engine's own)")
	f.StringVar(&o.nodeName, "node-name", "", "this node's name, as the API server knows it (required)")
	f.StringVar(&o.intakeURL, "intake-url", "", "vnfguard serve's /runtime endpoint (required)")
	f.StringVar(&o.intakeCA, "intake-ca", "", "CA (PEM) of vnfguard serve's certificate; empty: the system roots")
	f.StringVar(&o.tokenFile, "token-file", "/var/run/secrets/kubernetes.io/serviceaccount/token", "bearer token presented to the intake, read before every request")
	f.StringSliceVar(&o.allowedNamespaces, "allow-namespace", nil, "containerd namespaces besides k8s.io whose containers are expected (the operator's own tooling); reported with origin allowed")
	f.DurationVar(&o.resync, "resync", 30*time.Second, "how often the whole inventory is reported again")
	f.StringVar(&o.procRoot, "proc-root", "/proc", "the host's /proc, where exec command lines are read")
	f.StringVar(&o.kubeletURL, "kubelet-url", "", "the kubelet's API (https://NODE_IP:10250): its probe counts (/metrics/probes, RBAC get nodes/metrics) account for the exec probes whose command ended before it could be read; empty: such execs are judged without that account")
	f.StringSliceVar(&o.kubeletProbe, "kubelet-probe", nil, "the node's own kubelet endpoints (HOST:PORT) probed without credentials at every resync, with the exposure checks of vnfguard scan --probe; default: --kubelet-url's host and port, and its host with the read-only port 10255")
	f.StringVar(&o.kubeletCA, "kubelet-ca", "", "CA (PEM) of the kubelet's serving certificate; empty: the system roots")
	f.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

func runNode(ctx context.Context, o *nodeOptions, stderr io.Writer) error {
	logger, err := newLogger(stderr, o.logLevel)
	if err != nil {
		return usageError(err)
	}
	if o.nodeName == "" || o.intakeURL == "" || len(o.sockets) == 0 {
		return usageError(errors.New("--node-name, --intake-url and at least one --containerd-socket are required"))
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	shipper, err := nodesensor.NewShipper(nodesensor.ShipperOptions{URL: o.intakeURL, TokenFile: o.tokenFile, CAFile: o.intakeCA, Logger: logger})
	if err != nil {
		return usageError(err)
	}
	var probes nodesensor.ProbeCounter
	if len(o.kubeletProbe) == 0 && o.kubeletURL != "" {
		u, err := url.Parse(o.kubeletURL)
		if err != nil || u.Host == "" {
			return usageError(fmt.Errorf("--kubelet-url %q: want https://HOST:PORT", o.kubeletURL))
		}
		o.kubeletProbe = []string{u.Host, net.JoinHostPort(u.Hostname(), "10255")}
	}
	if o.kubeletURL != "" {
		if probes, err = nodesensor.NewKubeletProbes(o.kubeletURL, o.tokenFile, o.kubeletCA); err != nil {
			return usageError(err)
		}
	}
	execs, err := nodesensor.StartExecWatch(ctx, o.procRoot)
	if err != nil {
		logger.Warn("exec command lines are read from /proc when containerd reports the exec: short commands will have ended by then", "error", err)
	}
	shipCtx, stopShipping := context.WithCancel(context.Background())
	shipped := make(chan struct{})
	go func() { defer close(shipped); _ = shipper.Run(shipCtx) }()

	var wg sync.WaitGroup
	for _, socket := range o.sockets {
		wg.Go(func() { followContainerd(ctx, socket, o, execs, probes, shipper, logger) })
	}
	logger.Info("node agent started", "node", o.nodeName, "sockets", o.sockets, "intake", o.intakeURL)
	wg.Wait()
	// The sensors have stopped: send what they reported, then stop.
	stopShipping()
	<-shipped
	logger.Info("node agent stopped")
	return nil
}

// followContainerd runs a sensor on one socket until ctx ends, reconnecting with backoff: each new run takes the
// inventory again, so what happened while the connection was down is found.
func followContainerd(ctx context.Context, socket string, o *nodeOptions, execs *nodesensor.ExecWatch, probes nodesensor.ProbeCounter, shipper *nodesensor.Shipper, logger *slog.Logger) {
	backoff := wait.Backoff{Duration: 500 * time.Millisecond, Factor: 2, Jitter: 0.2, Cap: 30 * time.Second, Steps: 1 << 30}
	for ctx.Err() == nil {
		err := runSensor(ctx, socket, o, execs, probes, shipper, logger)
		if ctx.Err() != nil {
			return
		}
		d := backoff.Step()
		logger.Warn("containerd connection lost; reconnecting", "socket", socket, "error", err, "in", d.String())
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
	}
}

func runSensor(ctx context.Context, socket string, o *nodeOptions, execs *nodesensor.ExecWatch, probes nodesensor.ProbeCounter, shipper *nodesensor.Shipper, logger *slog.Logger) error {
	rt, err := nodesensor.Connect(socket)
	if err != nil {
		return err
	}
	defer rt.Close()
	rt.ProcRoot, rt.Execs = o.procRoot, execs
	v, err := rt.Version(ctx)
	if err != nil {
		return err
	}
	s, err := nodesensor.New(nodesensor.Options{Runtime: rt, Node: o.nodeName, AllowedNamespaces: o.allowedNamespaces, Emit: shipper.Emit,
		Resync: o.resync, ProcRoot: o.procRoot, Probes: probes, KubeletTargets: o.kubeletProbe, Logger: logger.With("socket", socket)})
	if err != nil {
		return err
	}
	logger.Info("following containerd", "socket", socket, "version", v)
	if err := s.Run(ctx); err != nil {
		return fmt.Errorf("containerd at %s: %w", socket, err)
	}
	return nil
}
