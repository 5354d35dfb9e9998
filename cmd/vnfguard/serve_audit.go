package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/vnfguard/vnfguard/internal/audit"
	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/detect"
	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// auditIntake is the audit-webhook path of `vnfguard serve`: the receiver appends accepted batches to a durable
// queue before answering 200, and one consumer evaluates the queued events, writes and stores the findings, then
// acknowledges them. After a crash every appended event that was not acknowledged is delivered again; the
// (auditID, stage) set keeps a batch the API server retried from being reported twice.
//
// Exactly once across a shutdown: an event the consumer has taken is finished as a unit — its findings written,
// sent, the event remembered in the set and acknowledged — even when SIGTERM arrives meanwhile (its context is
// detached from the shutdown, bounded by eventGrace), and close waits for that before it closes the set and the
// queue. Only a hard crash (SIGKILL, power loss) between the write and the set's append can repeat an event's
// findings at the restart; they then carry the same finding IDs, which the store already merges.
type auditIntake struct {
	queue    *audit.Queue
	dedupe   *audit.Dedupe
	receiver *audit.Receiver
	engine   *detect.Engine
	cluster  string // config clusterName, in every finding
	publish  func(context.Context, []finding.Finding)
	out      io.Writer
	logger   *slog.Logger

	mu      sync.Mutex
	closed  bool
	cancel  context.CancelFunc // stops the consumer; nil until run starts
	stopped chan struct{}      // closed when run returns
}

// eventGrace bounds how long an event already taken from the queue may take to finish after shutdown began (a
// slow sink); past it the sinks see a cancelled context and the event is still remembered and acknowledged.
const eventGrace = 10 * time.Second

type auditFlags struct {
	queueDir     string
	tokenFile    string
	clientCAFile string
	rulePaths    []string
}

func startAuditIntake(f auditFlags, cfg *config.Config, inv vnf.Inventory, objects vnf.Objects, namespaces detect.Namespaces,
	out io.Writer, publish func(context.Context, []finding.Finding), logger *slog.Logger) (*auditIntake, error) {
	var tokens []string
	var clientCAs *x509.CertPool
	if f.clientCAFile != "" {
		pem, err := os.ReadFile(f.clientCAFile)
		if err != nil {
			return nil, fmt.Errorf("--audit-client-ca: %w", err)
		}
		clientCAs = x509.NewCertPool()
		if !clientCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--audit-client-ca %s holds no PEM certificate", f.clientCAFile)
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
	engine, err := detect.NewEngine(rules, detect.Env{Config: cfg, Inventory: inv, Objects: objects, Namespaces: namespaces, Logger: logger})
	if err != nil {
		return nil, err
	}
	in := &auditIntake{engine: engine, cluster: cfg.ClusterName, out: out, publish: publish, logger: logger}
	if err := os.MkdirAll(f.queueDir, 0o700); err != nil {
		return nil, fmt.Errorf("--audit-queue-dir: %w", err)
	}
	if in.queue, err = audit.OpenQueue(filepath.Join(f.queueDir, "queue"), audit.QueueOptions{Fsync: true, Logger: logger}); err != nil {
		return nil, err
	}
	if in.dedupe, err = audit.OpenDedupe(filepath.Join(f.queueDir, "seen"), 0, logger); err != nil {
		in.queue.Close()
		return nil, err
	}
	if in.receiver, err = audit.NewReceiver(in.queue, audit.ReceiverOptions{BearerTokens: tokens, ClientCAs: clientCAs, Logger: logger}); err != nil {
		in.close()
		return nil, err
	}
	return in, nil
}

// run consumes the queue until ctx ends or close is called: each event once, acknowledged only after its findings
// are out.
func (in *auditIntake) run(ctx context.Context) error {
	in.mu.Lock()
	if in.closed || in.stopped != nil {
		in.mu.Unlock()
		return nil
	}
	ctx, in.cancel = context.WithCancel(ctx)
	stopped := make(chan struct{})
	in.stopped = stopped
	in.mu.Unlock()
	defer close(stopped)

	work := context.WithoutCancel(ctx)
	err := audit.Consume(ctx, in.queue, in.dedupe, func(ev *auditv1.Event) error {
		// The event is taken: finish it whatever the shutdown does (see auditIntake).
		ectx, cancel := context.WithTimeout(work, eventGrace)
		defer cancel()
		return in.process(ectx, ev)
	})
	if errors.Is(err, context.Canceled) || errors.Is(err, audit.ErrClosed) {
		return nil
	}
	return err
}

// process evaluates one event and writes and stores its findings.
func (in *auditIntake) process(ctx context.Context, ev *auditv1.Event) error {
	fs, err := in.engine.Evaluate(ctx, ev)
	if err != nil {
		return fmt.Errorf("evaluate audit event %s: %w", ev.AuditID, err)
	}
	finding.InCluster(fs, in.cluster)
	for i := range fs {
		line, err := fs[i].JSONLine()
		if err != nil {
			return err
		}
		if _, err := in.out.Write(line); err != nil {
			return fmt.Errorf("write finding: %w", err)
		}
	}
	in.publish(ctx, fs)
	return nil
}

func (in *auditIntake) handler() http.Handler { return in.receiver }

// close stops the consumer, waits until the event it holds is finished (written, sent, remembered, acknowledged),
// then closes the dedupe set and the queue.
func (in *auditIntake) close() {
	in.mu.Lock()
	in.closed = true
	stopped := in.stopped
	if in.cancel != nil {
		in.cancel()
	}
	in.mu.Unlock()
	if stopped != nil {
		<-stopped
	}
	if in.dedupe != nil {
		in.dedupe.Close()
	}
	in.queue.Close()
}

// readTokens reads the bearer tokens the API server's audit webhook may present: one per line, # comments.
func readTokens(path string) ([]string, error) {
	if path == "" {
		return nil, errors.New("--audit-token-file or --audit-client-ca is required with --audit-queue-dir: the audit endpoint never accepts unauthenticated batches")
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
