package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/vnfguard/vnfguard/internal/audit"
	"github.com/vnfguard/vnfguard/internal/audit/intake"
	"github.com/vnfguard/vnfguard/internal/audit/pgqueue"
	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/detect"
	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/selfcert"
	"github.com/vnfguard/vnfguard/internal/store"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// auditFlags configure the audit webhook endpoint /audit (see internal/audit/intake).
type auditFlags struct {
	enabled       bool
	queueDir      string
	tokenFile     string
	clientCAFile  string
	rulePaths     []string
	dedupeHorizon time.Duration
	maxPending    int
}

func (a *auditFlags) add(f *pflag.FlagSet) {
	f.BoolVar(&a.enabled, "audit", false, "enable the audit webhook endpoint /audit for the API server's audit webhook backend. With a postgres:// --store, "+
		"accepted batches are queued in that PostgreSQL (table vnfguard_audit_queue, rows per clusterName): any replica takes a batch, every replica consumes, a killed replica loses nothing, and --audit-queue-dir is not needed. "+
		"Otherwise they go to the disk queue in --audit-queue-dir (one replica)")
	f.StringVar(&a.queueDir, "audit-queue-dir", "", "directory of the embedded disk queue and dedupe set of /audit (one replica); implies --audit. Ignored, with a warning, when --store is postgres://")
	f.StringVar(&a.tokenFile, "audit-token-file", "", "bearer tokens the API server's audit webhook presents, one per line")
	f.StringVar(&a.clientCAFile, "audit-client-ca", "", "CA (PEM) of the client certificates the API server's audit webhook presents")
	f.StringSliceVar(&a.rulePaths, "rules", nil, "extra detection rule files or directories")
	f.DurationVar(&a.dedupeHorizon, "audit-dedupe-horizon", pgqueue.DefaultDedupeHorizon, "PostgreSQL audit queue: how long processed events are kept so that a batch the API server sends again is dropped")
	f.IntVar(&a.maxPending, "audit-queue-max-pending", pgqueue.DefaultMaxPending, "PostgreSQL audit queue: unprocessed events of this cluster beyond which /audit answers 429 (the API server retries)")
}

// on reports whether /audit is served.
func (a *auditFlags) on() bool { return a.enabled || a.queueDir != "" }

// startAuditIntake builds the intake: the detection engine, the queue backend (PostgreSQL when the store is, the
// disk queue otherwise) and the receiver's authentication.
func startAuditIntake(ctx context.Context, f auditFlags, storeDSN string, cfg *config.Config, inv vnf.Inventory, objects vnf.Objects, namespaces detect.Namespaces,
	waitCaches func(context.Context) error, runtimeEnv func(*detect.Env, intake.Backend), out io.Writer, publish func(context.Context, []finding.Finding), logger *slog.Logger) (*intake.Intake, error) {
	var tokens []string
	var clientCAs *x509.CertPool
	if f.clientCAFile != "" {
		var err error
		if clientCAs, err = selfcert.ReadCertPool(f.clientCAFile); err != nil {
			return nil, fmt.Errorf("--audit-client-ca: %w", err)
		}
	}
	if f.tokenFile != "" || clientCAs == nil {
		var err error
		if tokens, err = readTokens(f.tokenFile); err != nil {
			return nil, err
		}
	}
	rules, err := loadRules(f.rulePaths)
	if err != nil {
		return nil, err
	}
	var backend intake.Backend
	switch {
	case store.IsPostgres(storeDSN):
		if f.queueDir != "" {
			logger.Warn("--audit-queue-dir ignored: with a postgres:// --store the audit queue is in PostgreSQL", "dir", f.queueDir)
		}
		q, err := pgqueue.Open(ctx, storeDSN, pgqueue.Options{Cluster: cfg.ClusterName, MaxPending: f.maxPending, DedupeHorizon: f.dedupeHorizon, Logger: logger})
		if err != nil {
			return nil, err
		}
		backend = q
	case f.queueDir == "":
		return nil, errors.New("--audit needs a queue: --audit-queue-dir DIR (the embedded disk queue, one replica) or a postgres:// --store (several replicas)")
	default:
		if err := os.MkdirAll(f.queueDir, 0o700); err != nil {
			return nil, fmt.Errorf("--audit-queue-dir: %w", err)
		}
		if backend, err = intake.OpenDisk(f.queueDir, logger); err != nil {
			return nil, err
		}
	}
	denv := detect.Env{Config: cfg, Inventory: inv, Objects: objects, Namespaces: namespaces, Logger: logger}
	if runtimeEnv != nil {
		runtimeEnv(&denv, backend)
	}
	engine, err := detect.NewEngine(rules, denv)
	if err != nil {
		backend.Close()
		return nil, err
	}
	return intake.New(intake.Options{Backend: backend, Receiver: audit.ReceiverOptions{BearerTokens: tokens, ClientCAs: clientCAs, Logger: logger},
		Engine: engine, Cluster: cfg.ClusterName, Publish: publish, Out: out, WaitForCaches: waitCaches, Logger: logger})
}

// readTokens reads the bearer tokens the API server's audit webhook may present: one per line, # comments.
func readTokens(path string) ([]string, error) {
	if path == "" {
		return nil, errors.New("--audit-token-file or --audit-client-ca is required with --audit: the audit endpoint never accepts unauthenticated batches")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--audit-token-file: %w", err)
	}
	var tokens []string
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			tokens = append(tokens, line)
		}
	}
	if len(tokens) == 0 {
		return nil, fmt.Errorf("--audit-token-file %s holds no token", path)
	}
	return tokens, nil
}

// syncWriter serialises writes of whole lines from the admission and the audit paths to one output.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
