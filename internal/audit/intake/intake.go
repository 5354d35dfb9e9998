// Package intake is the audit-webhook path of `vnfguard serve`: the receiver appends accepted batches to a durable
// queue before answering 200, and a consumer evaluates the queued events with the detection engine, writes and
// publishes the findings, then marks the events done. The queue is a Backend: the embedded disk queue with its
// dedupe set (one replica; package audit), or the PostgreSQL queue (several replicas; package pgqueue), where any
// replica accepts a batch, every replica consumes, and a replica's death loses nothing.
//
// Exactly once across a shutdown: an event the consumer has taken is finished as a unit — its findings written,
// sent, the event remembered and marked done — even when SIGTERM arrives meanwhile (its context is detached from the
// shutdown, bounded by EventGrace), and Close waits for that before it closes the queue. Only a hard crash (SIGKILL,
// power loss) between the findings' write and the event's mark can repeat an event's findings at the restart or on
// another replica; they carry the same finding IDs and audit ID, which the findings store counts once.
package intake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/vnfguard/vnfguard/internal/audit"
	"github.com/vnfguard/vnfguard/internal/detect"
	"github.com/vnfguard/vnfguard/internal/finding"
)

// Backend is the durable queue behind the intake: Append answers only once a batch is durable, Consume hands every
// event to fn once (see audit.Consume and pgqueue.Queue.Consume) until ctx ends, Close releases it.
type Backend interface {
	audit.Appender
	Consume(ctx context.Context, fn func(*auditv1.Event) error) error
	Close()
}

// Disk is the embedded backend: a disk queue and its dedupe set in one directory, owned by one process.
type Disk struct {
	Queue  *audit.Queue
	Dedupe *audit.Dedupe
}

// OpenDisk opens (creating it) the disk backend in dir: the queue in dir/queue, the dedupe set in dir/seen.
func OpenDisk(dir string, logger *slog.Logger) (*Disk, error) {
	q, err := audit.OpenQueue(filepath.Join(dir, "queue"), audit.QueueOptions{Fsync: true, Logger: logger})
	if err != nil {
		return nil, err
	}
	d, err := audit.OpenDedupe(filepath.Join(dir, "seen"), 0, logger)
	if err != nil {
		q.Close()
		return nil, err
	}
	return &Disk{Queue: q, Dedupe: d}, nil
}

// Append appends to the disk queue.
func (d *Disk) Append(events []auditv1.Event) error { return d.Queue.Append(events) }

// Consume runs audit.Consume over the queue and the dedupe set.
func (d *Disk) Consume(ctx context.Context, fn func(*auditv1.Event) error) error {
	return audit.Consume(ctx, d.Queue, d.Dedupe, fn)
}

// Close closes the dedupe set, then the queue.
func (d *Disk) Close() {
	d.Dedupe.Close()
	d.Queue.Close()
}

// EventGrace bounds how long an event already taken from the queue may take to finish after shutdown began (a slow
// sink); past it the sinks see a cancelled context and the event is still remembered and marked done.
const EventGrace = 10 * time.Second

// Options configure New.
type Options struct {
	Backend  Backend
	Receiver audit.ReceiverOptions
	Engine   *detect.Engine
	Cluster  string // config clusterName, in every finding
	// Publish sends findings to the sinks and the store.
	Publish func(context.Context, []finding.Finding)
	// Out gets every finding as one JSON line; it must take whole lines from several goroutines.
	Out    io.Writer
	Logger *slog.Logger
}

// Intake is the audit webhook endpoint and its consumer.
type Intake struct {
	opts     Options
	receiver *audit.Receiver

	mu      sync.Mutex
	closed  bool
	cancel  context.CancelFunc // stops the consumer; nil until Run starts
	stopped chan struct{}      // closed when Run returns
}

// New returns the intake on opts.Backend, which it owns from then on (Close closes it, also when New fails).
func New(opts Options) (*Intake, error) {
	if opts.Backend == nil || opts.Engine == nil || opts.Publish == nil || opts.Out == nil {
		if opts.Backend != nil {
			opts.Backend.Close()
		}
		return nil, errors.New("audit intake: backend, engine, publish and output are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Receiver.Logger == nil {
		opts.Receiver.Logger = opts.Logger
	}
	in := &Intake{opts: opts}
	var err error
	if in.receiver, err = audit.NewReceiver(opts.Backend, opts.Receiver); err != nil {
		opts.Backend.Close()
		return nil, err
	}
	return in, nil
}

// Backend is the queue the intake runs on (for its metrics).
func (in *Intake) Backend() Backend { return in.opts.Backend }

// Handler is the /audit endpoint.
func (in *Intake) Handler() http.Handler { return in.receiver }

// Run consumes the queue until ctx ends or Close is called: each event once, marked done only after its findings
// are out. It returns nil on shutdown.
func (in *Intake) Run(ctx context.Context) error {
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
	err := in.opts.Backend.Consume(ctx, func(ev *auditv1.Event) error {
		// The event is taken: finish it whatever the shutdown does (see the package documentation).
		ectx, cancel := context.WithTimeout(work, EventGrace)
		defer cancel()
		return in.process(ectx, ev)
	})
	if errors.Is(err, context.Canceled) || errors.Is(err, audit.ErrClosed) {
		return nil
	}
	return err
}

// process evaluates one event and writes and publishes its findings.
func (in *Intake) process(ctx context.Context, ev *auditv1.Event) error {
	fs, err := in.opts.Engine.Evaluate(ctx, ev)
	if err != nil {
		return fmt.Errorf("evaluate audit event %s: %w", ev.AuditID, err)
	}
	finding.InCluster(fs, in.opts.Cluster)
	for i := range fs {
		line, err := fs[i].JSONLine()
		if err != nil {
			return err
		}
		if _, err := in.opts.Out.Write(line); err != nil {
			return fmt.Errorf("write finding: %w", err)
		}
	}
	in.opts.Publish(ctx, fs)
	return nil
}

// Close stops the consumer, waits until the event it holds is finished (written, sent, remembered, marked done),
// then closes the backend.
func (in *Intake) Close() {
	in.mu.Lock()
	if in.closed {
		in.mu.Unlock()
		return
	}
	in.closed = true
	stopped := in.stopped
	if in.cancel != nil {
		in.cancel()
	}
	in.mu.Unlock()
	if stopped != nil {
		<-stopped
	}
	in.opts.Backend.Close()
}
