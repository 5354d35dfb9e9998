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
//
// The consumer judges events one after the other, so one slow event delays all behind it: detection must not make
// per-event calls to the API server (serve gives it the cluster view's Stream, and Run first waits, bounded by
// CacheWait, for its caches). RegisterMetrics exports the queue depth, the lag, and the events processed, dropped
// and refused, so that an operator sees a consumer falling behind (alert on vnfguard_audit_lag_seconds).
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
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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
	// Depth is the number of events waiting (-1 and an error when it cannot be told).
	Depth() (int64, error)
	// Dropped counts the events accepted but never handed to the consumer, by reason (DropReasons).
	Dropped() map[string]uint64
	Close()
}

// Reasons an accepted event is not evaluated (vnfguard_audit_events_dropped_total's label reason).
const (
	// DropDuplicate: the event was processed before (a batch the API server sent again, a redelivery after a crash).
	DropDuplicate = "duplicate"
	// DropUnreadable: the disk queue skipped a record it could not read back (a damaged disk).
	DropUnreadable = "unreadable"
)

// DropReasons lists every reason of Dropped.
var DropReasons = []string{DropDuplicate, DropUnreadable}

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

// Depth is the number of events in the queue not acknowledged yet.
func (d *Disk) Depth() (int64, error) { return d.Queue.Stats().Pending, nil }

// Dropped counts duplicates passed over and records skipped as unreadable.
func (d *Disk) Dropped() map[string]uint64 {
	st := d.Queue.Stats()
	return map[string]uint64{DropDuplicate: d.Dedupe.Duplicates(), DropUnreadable: st.Corrupt + st.Undecodable}
}

// Close closes the dedupe set, then the queue.
func (d *Disk) Close() {
	d.Dedupe.Close()
	d.Queue.Close()
}

// DefaultCacheWait bounds how long Run waits for the cluster caches before it consumes anyway (with live lookups,
// rate-limited, until they sync).
const DefaultCacheWait = 30 * time.Second

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
	Out io.Writer
	// WaitForCaches, when set, is called once before the first event is consumed, for at most CacheWait
	// (DefaultCacheWait when 0): detection's cluster lookups answer from the caches once they have synced, and
	// before that each needs a live GET. Past the bound the consumer starts anyway.
	WaitForCaches func(context.Context) error
	CacheWait     time.Duration
	Logger        *slog.Logger
}

// Intake is the audit webhook endpoint and its consumer.
type Intake struct {
	opts     Options
	receiver *audit.Receiver

	mu      sync.Mutex
	closed  bool
	cancel  context.CancelFunc // stops the consumer; nil until Run starts
	stopped chan struct{}      // closed when Run returns

	processed atomic.Uint64
	// current is the API server's timestamp (Unix ns) of the event being processed, 0 between events;
	// finished when the last one was finished, lastLag its lag then (see Lag).
	current, finished, lastLag atomic.Int64
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

	if in.opts.WaitForCaches != nil {
		wait := in.opts.CacheWait
		if wait <= 0 {
			wait = DefaultCacheWait
		}
		start := time.Now()
		wctx, cancel := context.WithTimeout(ctx, wait)
		err := in.opts.WaitForCaches(wctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			in.opts.Logger.Warn("audit intake: consuming before the cluster caches synced; lookups go to the API server, rate-limited, until they do",
				"waited", time.Since(start).Round(time.Millisecond), "error", err)
		default:
			in.opts.Logger.Info("audit intake: cluster caches synced, consuming", "waited", time.Since(start).Round(time.Millisecond))
		}
	}
	work := context.WithoutCancel(ctx)
	err := in.opts.Backend.Consume(ctx, func(ev *auditv1.Event) error {
		// The event is taken: finish it whatever the shutdown does (see the package documentation).
		ectx, cancel := context.WithTimeout(work, EventGrace)
		defer cancel()
		in.started(ev)
		err := in.process(ectx, ev)
		in.done(err == nil)
		return err
	})
	if errors.Is(err, context.Canceled) || errors.Is(err, audit.ErrClosed) {
		return nil
	}
	return err
}

// started records the time of the event the consumer took, for Lag.
func (in *Intake) started(ev *auditv1.Event) {
	ts := ev.StageTimestamp.Time
	if ts.IsZero() {
		ts = ev.RequestReceivedTimestamp.Time
	}
	if ts.IsZero() {
		ts = time.Now() // no time of its own: no lag can be told, count none
	}
	in.current.Store(ts.UnixNano())
}

// done records the end of the event started last.
func (in *Intake) done(ok bool) {
	now := time.Now()
	in.lastLag.Store(now.UnixNano() - in.current.Load())
	in.finished.Store(now.UnixNano())
	in.current.Store(0)
	if ok {
		in.processed.Add(1)
	}
}

// lagHold is how long after finishing an event Lag still reports its lag: the consumer takes the next queued event
// within microseconds, and only a consumer that has been idle this long has nothing waiting.
const lagHold = time.Second

// Lag is how far behind the API server the consumer is: the age of the event it is processing (by the API server's
// stage timestamp), or right after one, that event's age when it finished; 0 when it is idle.
func (in *Intake) Lag(now time.Time) time.Duration {
	if ts := in.current.Load(); ts != 0 {
		return max(now.Sub(time.Unix(0, ts)), 0)
	}
	if fin := in.finished.Load(); fin != 0 && now.Sub(time.Unix(0, fin)) < lagHold {
		return max(time.Duration(in.lastLag.Load()), 0)
	}
	return 0
}

// Processed is the number of events evaluated and published.
func (in *Intake) Processed() uint64 { return in.processed.Load() }

// RegisterMetrics exports the intake's metrics: queue depth, lag, events processed and dropped, batches refused
// (see README, "Audit intake metrics").
func (in *Intake) RegisterMetrics(reg prometheus.Registerer) error {
	cs := []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vnfguard_audit_queue_depth",
			Help: "Audit and runtime events accepted and not processed yet (the PostgreSQL queue: all replicas together; -1: cannot be told)."},
			func() float64 {
				n, err := in.opts.Backend.Depth()
				if err != nil {
					return -1
				}
				return float64(n)
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vnfguard_audit_lag_seconds",
			Help: "How far behind the API server this replica's audit consumer is: now minus the API server's timestamp of the event it is processing; 0 when idle. Findings come this late."},
			func() float64 { return in.Lag(time.Now()).Seconds() }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vnfguard_audit_events_processed_total",
			Help: "Audit and runtime events this replica evaluated and whose findings it published."},
			func() float64 { return float64(in.processed.Load()) }),
	}
	for _, reason := range DropReasons {
		cs = append(cs, prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vnfguard_audit_events_dropped_total",
			Help: "Events accepted but not evaluated: duplicate (processed before), unreadable (a queue record that could not be read back).", ConstLabels: prometheus.Labels{"reason": reason}},
			func() float64 { return float64(in.opts.Backend.Dropped()[reason]) }))
	}
	for reason, get := range map[string]func(audit.ReceiverStats) uint64{
		"unauthorized": func(s audit.ReceiverStats) uint64 { return s.Unauthorized },
		"bad_request":  func(s audit.ReceiverStats) uint64 { return s.BadRequest },
		"too_large":    func(s audit.ReceiverStats) uint64 { return s.TooLarge },
		"queue_full":   func(s audit.ReceiverStats) uint64 { return s.QueueFull },
		"error":        func(s audit.ReceiverStats) uint64 { return s.Errors },
	} {
		cs = append(cs, prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vnfguard_audit_batches_refused_total",
			Help: "Batches /audit refused: unauthorized (401), bad_request (400/415), too_large (413), queue_full (429: the API server retries), error (500/503).", ConstLabels: prometheus.Labels{"reason": reason}},
			func() float64 { return float64(get(in.receiver.Stats())) }))
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("audit intake metrics: %w", err)
		}
	}
	return nil
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
