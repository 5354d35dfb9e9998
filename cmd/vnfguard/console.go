package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/vnfguard/vnfguard/internal/console"
	"github.com/vnfguard/vnfguard/internal/store"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

type consoleOptions struct {
	kube              kubeFlags
	storeDSN, listen  string
	certFile, keyFile string
	inventoryHistory  string
	shutdownGrace     time.Duration
}

// newConsoleCommand serves the console alone, over a store several clusters share (a central PostgreSQL).
func newConsoleCommand(stderr io.Writer) *cobra.Command {
	o := &consoleOptions{}
	cmd := &cobra.Command{
		Use:   "console",
		Short: "Serve the read-only findings console over a findings store (e.g. a PostgreSQL several clusters write to)",
		Long: `Serves the findings console (the one vnfguard serve has at /console) over --store, for a central store that
the vnfguard of several clusters write to. Readers sign in with a bearer token of the cluster of --kubeconfig,
checked with TokenReview and SubjectAccessReview: they need get on findings.vnfguard.io.
TLS (--tls-cert-file, --tls-key-file) is required unless --listen is a loopback address.`,
		Example: `  vnfguard console --store postgres://vnfguard@db/vnfguard --kubeconfig ~/.kube/config --listen :8443 \
    --tls-cert-file tls.crt --tls-key-file tls.key`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd.Context(), stderr) },
	}
	f := cmd.Flags()
	o.kube.add(f)
	f.StringVar(&o.storeDSN, "store", "", "the findings store: postgres://... or a SQLite path (required)")
	f.StringVar(&o.listen, "listen", "127.0.0.1:8443", "address to serve on")
	f.StringVar(&o.certFile, "tls-cert-file", "", "serving certificate (PEM)")
	f.StringVar(&o.keyFile, "tls-key-file", "", "serving key (PEM)")
	f.StringVar(&o.inventoryHistory, "inventory-history", "", "serve's --inventory-history file, for the instances' lifecycle timelines")
	f.DurationVar(&o.shutdownGrace, "shutdown-grace", 5*time.Second, "how long requests in flight may finish on SIGTERM")
	return cmd
}

func (o *consoleOptions) run(ctx context.Context, stderr io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	logger := slog.New(slog.NewJSONHandler(stderr, nil))
	if o.storeDSN == "" {
		return usageError(errors.New("--store is required: the console reads findings from it"))
	}
	tlsOn := o.certFile != "" || o.keyFile != ""
	if tlsOn && (o.certFile == "" || o.keyFile == "") {
		return usageError(errors.New("--tls-cert-file and --tls-key-file go together"))
	}
	host, _, err := net.SplitHostPort(o.listen)
	if err != nil {
		return usageError(fmt.Errorf("--listen %q: %w", o.listen, err))
	}
	if ip := net.ParseIP(host); !tlsOn && (ip == nil || !ip.IsLoopback()) {
		return usageError(fmt.Errorf("--listen %s is not a loopback address: give --tls-cert-file and --tls-key-file (tokens must not cross the network in clear)", o.listen))
	}
	restCfg, err := o.kube.restConfig()
	if err != nil {
		return usageError(err)
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	st, err := store.Open(ctx, o.storeDSN, logger)
	if err != nil {
		return usageError(err)
	}
	defer st.Close()
	routes := map[string]http.Handler{}
	var inv vnf.Inventory // the central console has no inventory of its own: states come from the history file
	if err := consoleRoutes(routes, st, restCfg, inv, o.inventoryHistory, logger); err != nil {
		return err
	}
	mux := http.NewServeMux()
	for p, h := range routes {
		mux.Handle(p, h)
	}
	srv := &http.Server{Addr: o.listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return usageError(err)
	}
	logger.Info("console serving", "url", fmt.Sprintf("%s://%s%s/", map[bool]string{true: "https", false: "http"}[tlsOn], ln.Addr(), console.Prefix))
	errc := make(chan error, 1)
	go func() {
		if tlsOn {
			errc <- srv.ServeTLS(ln, o.certFile, o.keyFile)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownGrace)
	defer cancel()
	return srv.Shutdown(sctx)
}
