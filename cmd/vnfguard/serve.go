package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/vnfguard/vnfguard/internal/admission"
	"github.com/vnfguard/vnfguard/internal/audit"
	"github.com/vnfguard/vnfguard/internal/cluster"
	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/detect"
	"github.com/vnfguard/vnfguard/internal/install"
	"github.com/vnfguard/vnfguard/internal/integrity"
	"github.com/vnfguard/vnfguard/internal/manager"
	"github.com/vnfguard/vnfguard/internal/policy"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

type serveOptions struct {
	configPath, inventoryPath string
	inventoryHistory          string
	kube                      kubeFlags
	listen                    string
	metricsListen             string
	http2                     bool
	certFile, keyFile         string
	selfSigned                bool
	tlsSecret                 secretTLSFlags
	selfSignedHosts           []string
	writeCA                   string
	logLevel                  string
	syncTimeout               time.Duration
	shutdownDelay             time.Duration
	reconcile                 bool
	policyReports             time.Duration
	policyReportAPI           reportAPIFlag
	console                   bool
	audit                     auditFlags
	runtime                   runtimeFlags
	outputs                   outputFlags
	registration              registrationFlags
	election                  electionFlags
}

// electionFlags configure the leader election of the singletons (see internal/manager).
type electionFlags struct {
	enabled                                   bool
	leaseDuration, renewDeadline, retryPeriod time.Duration
}

func (e *electionFlags) add(f *pflag.FlagSet) {
	f.BoolVar(&e.enabled, "leader-elect", true, "with a cluster, run the singletons (reconciliation, registration watchdog) only on the replica that holds Lease "+install.LeaseName+" in self.namespace; every replica answers admission and /audit. Off, or without a cluster, this process runs everything")
	f.DurationVar(&e.leaseDuration, "leader-elect-lease-duration", 15*time.Second, "how long a leader's Lease lasts unrenewed: a crashed leader's singletons resume elsewhere within this plus the retry period")
	f.DurationVar(&e.renewDeadline, "leader-elect-renew-deadline", 10*time.Second, "how long the leader keeps retrying to renew before it stops its singletons (less than the lease duration)")
	f.DurationVar(&e.retryPeriod, "leader-elect-retry-period", 2*time.Second, "how often a replica tries to acquire or renew the Lease; a leader that shuts down releases it, and another takes over within this")
}

// validate rejects durations with which two replicas could both believe they lead.
func (e *electionFlags) validate() error {
	if !e.enabled {
		return nil
	}
	if e.retryPeriod <= 0 || e.renewDeadline <= e.retryPeriod || e.leaseDuration <= e.renewDeadline {
		return fmt.Errorf("leader election: want 0 < --leader-elect-retry-period (%s) < --leader-elect-renew-deadline (%s) < --leader-elect-lease-duration (%s)",
			e.retryPeriod, e.renewDeadline, e.leaseDuration)
	}
	return nil
}

func newServeCommand(stdout, stderr io.Writer) *cobra.Command {
	o := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the admission webhook (HTTPS): /validate, /healthz, /readyz, /metrics",
		Long: `Runs vnfguard's validating admission webhook. Decisions are answered on POST /validate; every denial, warning,
audit, break-glass use and internal error is also written to stdout as one Finding JSON line. Logs are JSON on
stderr. /readyz answers 200 once the VNF inventory has loaded and the cluster view has synced; on the webhook
port its body is only {"ready": true|false}. With --metrics-listen, /metrics and the detailed /readyz (inventory
source, version, age, last error, subscription) are served there over plain HTTP, and not on the webhook port.
The webhook port speaks TLS 1.3, or TLS 1.2 with ECDHE and AEAD ciphers only, and HTTP/1.1 unless --enable-http2.
Given the inputs of webhook-config (--webhook-url or --webhook-service, and the CA), serve watches its own
ValidatingWebhookConfiguration and reports every drift from what webhook-config renders (self.registration.reapply
puts it back).
The serving certificate comes from --tls-cert-file/--tls-key-file (re-read when they change), --self-signed (in
memory), or --tls-secret/--tls-ca-secret: vnfguard then creates a CA and the serving certificate in those Secrets of
self.namespace when they are absent (every replica may; conditional writes make them agree), renews them
--tls-renew-before their expiry, rotates the CA with an overlap, serves the Secret's current certificate without a
restart (/readyz is not ready until one is loaded) and keeps the registration's caBundle equal to the CA Secret's
bundle.`,
		Example: `  vnfguard serve --config vnfguard.yaml --kubeconfig ~/.kube/config --self-signed
  vnfguard serve --config vnfguard.yaml --tls-cert-file tls.crt --tls-key-file tls.key --listen :8443 \
    --metrics-listen 127.0.0.1:9090 --webhook-service vnfguard/vnfguard:443 --webhook-ca-file ca.pem
  vnfguard serve --config vnfguard.yaml --listen :8443 --tls-secret vnfguard-webhook-tls \
    --tls-ca-secret vnfguard-webhook-ca --webhook-service vnfguard/vnfguard:443`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd.Context(), stdout, stderr) },
	}
	f := cmd.Flags()
	f.StringVar(&o.configPath, "config", "", "vnfguard configuration file (defaults apply when empty)")
	f.StringVar(&o.inventoryPath, "inventory", "", "VNF inventory file; overrides inventory.file of the configuration")
	f.StringVar(&o.inventoryHistory, "inventory-history", "", "append every inventory snapshot that comes into force to this file (JSON lines), for detect --inventory-history to judge old audit logs with the lifecycle state of their own time")
	o.kube.add(f)
	f.StringVar(&o.listen, "listen", admission.DefaultListen, "HTTPS address to listen on")
	f.StringVar(&o.metricsListen, "metrics-listen", "", "plain-HTTP address for /metrics and the detailed /readyz (e.g. 127.0.0.1:9090); moves /metrics off the webhook port. Empty: /metrics on the webhook port, readiness detail nowhere")
	f.BoolVar(&o.http2, "enable-http2", false, "offer HTTP/2 on the webhook port (off: HTTP/1.1 only, so no HTTP/2 stream attack reaches the server before a request is judged)")
	f.StringVar(&o.certFile, "tls-cert-file", "", "serving certificate (PEM), re-read when it changes")
	f.StringVar(&o.keyFile, "tls-key-file", "", "serving key (PEM), re-read when it changes")
	f.BoolVar(&o.selfSigned, "self-signed", false, "generate a CA and serving certificate in memory (local use)")
	o.tlsSecret.add(f)
	f.StringSliceVar(&o.selfSignedHosts, "self-signed-hosts", nil, "DNS names and IPs of the self-signed certificate")
	f.StringVar(&o.writeCA, "write-ca", "", "with --self-signed: write the generated CA (PEM) here, for webhook-config --ca-file")
	f.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	f.DurationVar(&o.shutdownDelay, "shutdown-delay", 0, "on SIGTERM, fail /readyz and keep answering this long before the server stops (in a cluster: longer than the endpoints take to drop a not-ready pod, e.g. 5s)")
	f.DurationVar(&o.syncTimeout, "cache-sync-timeout", 60*time.Second, "how long to wait for the cluster view to sync before serving")
	o.audit.add(f)
	o.runtime.add(f)
	f.BoolVar(&o.reconcile, "reconcile", true, "reconcile the inventory with the cluster continuously (rogue, zombie, residual, drift findings); needs a cluster")
	f.BoolVar(&o.console, "console", true, "serve the read-only findings console at /console (needs --store and a cluster; readers need get on findings.vnfguard.io)")
	f.DurationVar(&o.policyReports, "policy-reports", time.Minute, "publish the open reconciliation findings as policy reports (vnfguard-reconcile, per namespace) for Policy Reporter this often, on the leader, in the report APIs of --policy-report-api; 0 disables (a cluster without the CRDs is said once and tried again)")
	f.Var(&o.policyReportAPI, "policy-report-api", reportAPIUsage)
	o.outputs.add(f)
	o.registration.add(f)
	o.election.add(f)
	return cmd
}

func (o *serveOptions) run(ctx context.Context, stdout, stderr io.Writer) error {
	logger, err := newLogger(stderr, o.logLevel)
	if err != nil {
		return err
	}
	// Deferred first, so logged last: after the queue, the store and the informers closed too (the time from
	// "draining before shutdown" to this line is the whole stop).
	defer logger.Info("vnfguard stopped")
	cfg, err := loadConfig(o.configPath)
	if err != nil {
		return usageError(err)
	}
	if err := o.checkTLSChoice(); err != nil {
		return usageError(err)
	}
	if err := o.election.validate(); err != nil {
		return usageError(err)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	restCfg, err := o.kube.restConfig()
	noCluster := errors.Is(err, errNoKubeconfig)
	if err != nil && !noCluster {
		return usageError(err)
	}
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mgr, err := o.newManager(cfg, restCfg, registry, logger)
	if err != nil {
		return err
	}
	source, err := addInventory(mgr, cfg, o.inventoryPath, logger)
	if err != nil {
		return usageError(err)
	}
	if o.inventoryHistory != "" {
		if err := recordInventoryHistory(source, o.inventoryHistory, logger); err != nil {
			return usageError(err)
		}
	}
	// The source itself, not its wrapper, so that detection finds its history (vnf.Historian).
	inventory := source.Inventory
	env := policy.Environment{Config: cfg, Inventory: inventory, Logger: logger}
	var view *cluster.View
	switch {
	case noCluster:
		logger.Warn("no kubeconfig and not in a cluster: owners, target pods and PVCs cannot be looked up; lifecycle checks see only the request itself")
	default:
		if view, err = cluster.New(ctx, restCfg, logger); err != nil {
			return fmt.Errorf("start the cluster view: %w", err)
		}
		// Secrets and ConfigMaps only where vnfguard's RBAC grants them: the protected namespaces.
		view.WatchData(ctx, cfg.IsProtected, cfg.ProtectedNamespaces.Names)
		env.Objects, env.Namespaces = view, view
	}
	var dyn dynamic.Interface
	if restCfg != nil {
		if dyn, err = dynamic.NewForConfig(restCfg); err != nil {
			return fmt.Errorf("dynamic client: %w", err)
		}
	}
	images, err := integrity.New(ctx, cfg.Images, dyn, logger)
	if err != nil {
		return usageError(err)
	}
	if images != nil {
		env.Images = images
		mgr.Add(manager.Task{Name: "image integrity", Run: func(ctx context.Context) error { images.Run(ctx); return nil }})
	}
	evaluator, err := policy.New(env)
	if err != nil {
		return usageError(err)
	}

	out := &syncWriter{w: stdout}
	pub, err := newPublisher(ctx, o.outputs, logger)
	if err != nil {
		return usageError(err)
	}
	defer pub.close()
	if err := pub.instrument(registry); err != nil {
		return err
	}
	routes := map[string]http.Handler{}
	if source.notifications != nil {
		routes[NotificationPath] = source.notifications
	}
	if o.console && pub.store != nil && restCfg != nil {
		if err := consoleRoutes(routes, pub.store, restCfg, inventory, o.inventoryHistory, logger); err != nil {
			return err
		}
	}
	rt, err := newRuntimeWiring(o.runtime, o.audit.on(), restCfg)
	if err != nil {
		return usageError(err)
	}
	if o.audit.on() {
		// Detection judges a stream of events one after the other: it reads the cluster through the view's caches
		// only (a miss of a synced cache is "not found", no live GET per event), so that events about objects that
		// do not exist cannot hold up the findings queued behind them (cluster.Stream).
		var (
			objects    vnf.Objects
			namespaces detect.Namespaces
			waitCaches func(context.Context) error
		)
		if view != nil {
			stream := view.Stream()
			objects, namespaces, waitCaches = stream, stream, stream.WaitForSync
			rt.stream = stream
			registerLookupMetrics(registry, stream)
		}
		intake, err := startAuditIntake(ctx, o.audit, o.outputs.storeDSN, cfg, inventory, objects, namespaces, waitCaches, rt.env, out, pub.publish, logger)
		if err != nil {
			return usageError(err)
		}
		defer intake.Close()
		if err := intake.RegisterMetrics(registry); err != nil {
			return err
		}
		if m, ok := intake.Backend().(interface {
			RegisterMetrics(prometheus.Registerer) error
		}); ok {
			if err := m.RegisterMetrics(registry); err != nil {
				return err
			}
		}
		routes["/audit"] = intake.Handler()
		if o.runtime.enabled {
			if routes["/runtime"], err = rt.handler(intake, restCfg, registry, logger); err != nil {
				return usageError(err)
			}
		}
		// Every replica consumes: what it accepted on its own disk, or its share of the PostgreSQL queue.
		mgr.Add(manager.Task{Name: "audit intake", Run: intake.Run, Fatal: true})
	}

	registerInventoryMetrics(registry, source)
	for kind, get := range map[string]func(audit.DecodeStats) uint64{
		"v1beta1": func(s audit.DecodeStats) uint64 { return s.V1beta1 },
		"untyped": func(s audit.DecodeStats) uint64 { return s.Untyped },
	} {
		registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vnfguard_audit_events_tolerated_total",
			Help: "Audit events read as audit.k8s.io/v1 although they were not: of version v1beta1, or without apiVersion and kind.", ConstLabels: prometheus.Labels{"kind": kind}},
			func() float64 { return float64(get(audit.Stats())) }))
	}
	if view != nil {
		registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vnfguard_protected_namespaces_unreadable",
			Help: "Protected namespaces where vnfguard may not read Secrets and ConfigMaps (bind ClusterRole vnfguard-namespace-data there: vnfguard rbac --data-namespace NS)."},
			func() float64 { return float64(len(view.DataForbidden())) }))
	}
	var certs *secretTLS
	tlsOpts := admission.TLSOptions{CertFile: o.certFile, KeyFile: o.keyFile, SelfSigned: o.selfSigned, Hosts: o.selfSignedHosts,
		RequestClientCerts: o.audit.clientCAFile != ""}
	if o.tlsSecret.enabled() {
		if certs, err = newSecretTLS(o.tlsSecret, o.registration, cfg.Self.Namespace, restCfg, logger); err != nil {
			return usageError(err)
		}
		tlsOpts.GetCertificate = certs.source.GetCertificate
		if err := certs.register(registry); err != nil {
			return fmt.Errorf("certificate metrics: %w", err)
		}
		for _, t := range certs.tasks() {
			mgr.Add(t)
		}
	}
	if o.reconcile && restCfg != nil && view != nil {
		// The reconciler reads the view's informers rather than listing and watching the same objects again.
		shared := view.Informers()
		var reports *policyReporter
		if o.policyReports > 0 {
			if reports, err = newPolicyReporter(restCfg, "reconcile", &o.policyReportAPI, logger); err != nil {
				return err
			}
		}
		mgr.AddLeader(reconcilerTask(restCfg, cfg, inventory, &shared, out, pub, reports, o.policyReports, registry, logger))
	}
	if cfg.Admission.Policies() {
		if restCfg == nil {
			return usageError(fmt.Errorf("admission.mode %s: the API server's policies need a cluster (--kubeconfig or in-cluster)", cfg.Admission.Mode))
		}
		if !o.reconcile {
			logger.Warn("admission policies without reconciliation: nothing writes the VNF lifecycle parameters, so the API server refuses every request that needs them in protected namespaces")
		}
		t, err := apiPolicyTask(ctx, cfg, restCfg, out, pub, logger)
		if err != nil {
			return usageError(err)
		}
		mgr.AddLeader(t)
	}
	server, err := admission.NewServer(admission.Options{
		Listen:        o.listen,
		Cluster:       cfg.ClusterName,
		TLS:           tlsOpts,
		HTTP2:         o.http2,
		MetricsListen: o.metricsListen,
		Handler:       admission.RecordingAccess(admission.Policy(evaluator), rt.ledger),
		Ready:         readiness(source, view, mgr, certs),
		Findings:      out,
		Routes:        routes,
		// Admission findings go to the sinks and the store too, also those of the requests judged while the
		// replica drains after SIGTERM (ctx has ended then).
		OnFindings: pub.outlasting(ctx),
		Logger:     logger,
		Registry:   registry,
		Gatherer:   registry,
	})
	if err != nil {
		return usageError(err)
	}
	if o.writeCA != "" {
		if !o.selfSigned {
			return usageError(errors.New("--write-ca goes with --self-signed"))
		}
		if err := os.WriteFile(o.writeCA, server.CABundle(), 0o644); err != nil {
			return fmt.Errorf("--write-ca: %w", err)
		}
	}
	var selfSignedCA []byte
	if o.selfSigned {
		selfSignedCA = server.CABundle()
	}
	watchdog, err := watchdogTask(ctx, o.registration, cfg, restCfg, selfSignedCA, certs != nil, out, pub, registry, logger)
	if err != nil {
		return usageError(err)
	}
	if watchdog != nil {
		if certs != nil {
			certs.follow(watchdog)
		}
		mgr.AddLeader(manager.Task{Name: "registration watchdog", Run: watchdog.Run})
	}
	mgr.Add(manager.Task{Name: "webhook server", Fatal: true, Run: func(ctx context.Context) error {
		// Not ctx itself: Start shuts the server down as soon as its context ends, which would skip the drain below
		// (measured: requests the API server sent in the first 200 ms after SIGTERM failed, and a fail-open
		// webhook admitted the Peirates pod). This task shuts the server down itself.
		if err := server.Start(context.WithoutCancel(ctx)); err != nil {
			return err
		}
		logger.Info("vnfguard serving", "addr", server.Addr(), "metricsAddr", server.MetricsAddr(), "version", version, "checks", policy.CheckIDs(),
			"inventory", inventory.Snapshot().Source, "election", mgr.Status())
		<-ctx.Done()
		if o.shutdownDelay > 0 {
			// Keep answering while the Service's endpoints drop this replica (readiness fails from now on): a
			// request the API server sends meanwhile is judged, not refused.
			server.Drain()
			logger.Info("draining before shutdown", "delay", o.shutdownDelay)
			time.Sleep(o.shutdownDelay)
		}
		// Stop taking requests and finish those in flight.
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return server.Shutdown(shutdownCtx)
	}})
	return mgr.Run(ctx)
}

// newManager builds the process's task manager: with a cluster and --leader-elect, the singletons run only on the
// replica that holds Lease install.LeaseName in self.namespace; otherwise this process runs everything.
func (o *serveOptions) newManager(cfg *config.Config, restCfg *rest.Config, reg prometheus.Registerer, logger *slog.Logger) (*manager.Manager, error) {
	opts := manager.Options{Registerer: reg, Logger: logger}
	switch {
	case !o.election.enabled:
	case restCfg == nil:
		logger.Info("no cluster: no leader election, this process runs the singletons")
	default:
		client, err := kubernetes.NewForConfig(restCfg)
		if err != nil {
			return nil, fmt.Errorf("leader election: client: %w", err)
		}
		id, err := manager.Identity()
		if err != nil {
			return nil, err
		}
		opts.Election = &manager.Election{Client: client.CoordinationV1(), Namespace: cfg.Self.Namespace, Name: install.LeaseName, Identity: id,
			LeaseDuration: o.election.leaseDuration, RenewDeadline: o.election.renewDeadline, RetryPeriod: o.election.retryPeriod}
	}
	return manager.New(opts)
}

// readiness reports, for /readyz, whether the inventory has loaded and the cluster view has synced.
func readiness(inv *inventorySource, view *cluster.View, mgr *manager.Manager, certs *secretTLS) func() (bool, any) {
	type inventoryStatus struct {
		Loaded     bool    `json:"loaded"`
		Source     string  `json:"source"`
		Version    string  `json:"version,omitempty"`
		Instances  int     `json:"instances"`
		AgeSeconds float64 `json:"ageSeconds,omitempty"`
		// LastError is the source's last failure while the previous content stays in force.
		LastError  string `json:"lastError,omitempty"`
		Subscribed *bool  `json:"subscribed,omitempty"`
	}
	type status struct {
		Ready       bool            `json:"ready"`
		Inventory   inventoryStatus `json:"inventory"`
		ClusterView string          `json:"clusterView"`
		// Election says whether this replica runs the singletons; a follower is as ready as the leader, since
		// both answer admission.
		Election manager.Status `json:"election"`
		// Certificate is "loaded" once the serving certificate came from the TLS Secret (--tls-secret only).
		Certificate string `json:"certificate,omitempty"`
		Reason      string `json:"reason,omitempty"`
	}
	return func() (bool, any) {
		snap := inv.Snapshot()
		s := status{Inventory: inventoryStatus{Loaded: snap.Loaded, Source: snap.Source, Version: snap.Version, Instances: snap.Len()}, ClusterView: "none", Election: mgr.Status()}
		if snap.Loaded {
			s.Inventory.AgeSeconds = time.Since(inv.fresh(snap)).Seconds()
		}
		if inv.health != nil {
			h := inv.health()
			if h.LastError != nil {
				s.Inventory.LastError = h.LastError.Error()
			}
			s.Inventory.Subscribed = h.Subscribed
		}
		synced := true
		if view != nil {
			synced = view.HasSynced()
			s.ClusterView = map[bool]string{true: "synced", false: "syncing"}[synced]
		}
		certOK, certReason := true, ""
		if certs != nil {
			certOK, certReason = certs.ready()
			s.Certificate = map[bool]string{true: "loaded", false: "missing"}[certOK]
		}
		s.Ready = snap.Loaded && synced && certOK
		switch {
		case !certOK:
			s.Reason = certReason
		case !snap.Loaded:
			s.Reason = "the VNF inventory (" + snap.Source + ") has not loaded"
		case !synced:
			s.Reason = "the cluster view has not synced"
		}
		return s.Ready, s
	}
}

// registerLookupMetrics exports how the audit consumer's cluster lookups were answered.
func registerLookupMetrics(reg prometheus.Registerer, stream *cluster.Stream) {
	for _, answer := range cluster.Answers {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vnfguard_audit_lookups_total",
			Help: "Cluster lookups of the audit consumer by answer: cached (in the informer cache), absent (not in a synced cache: not found, no API call), " +
				"live (answered by the API server while a cache had not synced), failed (a live lookup failed or timed out), skipped (a live lookup over the rate limit or during the pause after a failure).",
			ConstLabels: prometheus.Labels{"answer": answer}},
			func() float64 { return float64(stream.Stats()[answer]) }))
	}
}

// registerInventoryMetrics exports the inventory's size and age, and the VNFM's notifications received.
func registerInventoryMetrics(reg prometheus.Registerer, inv *inventorySource) {
	if inv.notified != nil {
		reg.MustRegister(notificationsCollector(inv.notified))
	}
	reg.MustRegister(inv.collectors...)
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vnfguard_inventory_instances", Help: "VNF instances in the inventory in force."},
			func() float64 { return float64(inv.Snapshot().Len()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vnfguard_inventory_age_seconds", Help: "Age of the inventory in force (-1 before it first loads)."},
			func() float64 {
				snap := inv.Snapshot()
				if !snap.Loaded {
					return -1
				}
				return time.Since(inv.fresh(snap)).Seconds()
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vnfguard_inventory_source_up", Help: "1 when the inventory source's last attempt succeeded, 0 while it fails (the last good inventory stays in force)."},
			func() float64 {
				if inv.health != nil && inv.health().LastError != nil {
					return 0
				}
				return 1
			}),
	)
}
