// Package pgqueue is the audit intake's durable queue and dedupe set in PostgreSQL, for vnfguard running as several
// replicas behind one Service: any replica accepts a batch from the API server, any replica processes it, and a
// replica that dies loses nothing.
//
// One table, vnfguard_audit_queue, keyed by (cluster, stage, auditID): Append inserts a batch in one transaction with
// INSERT ... ON CONFLICT DO NOTHING and answers only after the commit, so a batch the API server retries — to the same
// replica or another — is stored once. Consume claims a batch of pending rows with SELECT ... FOR UPDATE SKIP LOCKED
// in a transaction, hands each event to a callback, marks the handled ones processed and commits: consumers on
// several replicas take disjoint rows, and the rows of a consumer whose connection dies (a killed pod) are unlocked
// by PostgreSQL and taken by another consumer. Processed rows stay for the dedupe horizon (a retry within it is
// dropped) and are pruned after it. Several clusters may share the database: every row carries its cluster name.
//
// An event handled and then handled again (a crash between the callback and the commit) is the one repeat this
// cannot prevent; the findings store counts an audit event once per finding (see internal/store), so it doubles no
// count.
package pgqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/vnfguard/vnfguard/internal/audit"
)

// Defaults of Options.
const (
	DefaultMaxPending    = 200_000
	DefaultBatchSize     = 100
	DefaultDedupeHorizon = time.Hour
	DefaultPollInterval  = 500 * time.Millisecond
	DefaultClaimTimeout  = 2 * time.Minute
)

// ErrInvalidBatch is wrapped by Append for a batch it refuses: empty, or an event without auditID or stage (the
// queue's key).
var ErrInvalidBatch = errors.New("invalid audit batch")

// Options configure Open. Zero values take the defaults.
type Options struct {
	// Cluster is config clusterName: rows of other clusters sharing the database are never touched.
	Cluster string
	// MaxPending bounds the unprocessed events of this cluster; Append beyond it returns audit.ErrQueueFull (the
	// receiver answers 429).
	MaxPending int
	// BatchSize is how many events one consumer claims at once.
	BatchSize int
	// DedupeHorizon is how long processed rows are kept so that a retried batch is dropped.
	DedupeHorizon time.Duration
	// PollInterval is how often an idle consumer looks for rows other replicas appended (this process's own
	// appends wake it at once).
	PollInterval time.Duration
	// ClaimTimeout bounds a claim transaction left idle (idle_in_transaction_session_timeout): the rows of a
	// consumer on a machine that vanished without closing its connection are released after it.
	ClaimTimeout time.Duration
	Logger       *slog.Logger
}

// Queue is the PostgreSQL audit queue. Its methods are safe for concurrent use; Consume may run in several
// goroutines and processes at once.
type Queue struct {
	pool    *pgxpool.Pool
	opts    Options
	log     *slog.Logger
	ownPool bool

	notify    chan struct{} // closed and replaced on every Append of this process
	notifyMu  sync.Mutex
	claimed   atomic.Int64 // events this process holds claimed right now
	lastPrune atomic.Int64
	closed    atomic.Bool
	// duplicates counts events Append did not store because the table had them (a batch sent again).
	duplicates atomic.Uint64
	// undecodable counts rows Consume skipped because their event did not decode.
	undecodable atomic.Uint64
}

// Open connects to the database dsn names (a postgres:// URL), migrates the queue's table and returns the queue.
func Open(ctx context.Context, dsn string, opts Options) (*Queue, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, errors.New("audit queue: parse the PostgreSQL DSN: malformed connection string")
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("audit queue: %w", err)
	}
	q, err := New(ctx, pool, opts)
	if err != nil {
		pool.Close()
		return nil, err
	}
	q.ownPool = true
	return q, nil
}

// New returns a queue on pool (closed by the caller) after migrating the table.
func New(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Queue, error) {
	if opts.MaxPending <= 0 {
		opts.MaxPending = DefaultMaxPending
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.DedupeHorizon <= 0 {
		opts.DedupeHorizon = DefaultDedupeHorizon
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.ClaimTimeout <= 0 {
		opts.ClaimTimeout = DefaultClaimTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	q := &Queue{pool: pool, opts: opts, log: opts.Logger.With("auditQueue", "postgres", "cluster", opts.Cluster), notify: make(chan struct{})}
	if err := migrate(ctx, pool, q.log); err != nil {
		return nil, err
	}
	return q, nil
}

// Append stores the batch durably: it returns once the transaction holding it has committed. Events already in
// the table (a retried batch, within the dedupe horizon) are not stored again.
func (q *Queue) Append(events []auditv1.Event) error {
	if q.closed.Load() {
		return audit.ErrClosed
	}
	if len(events) == 0 {
		return fmt.Errorf("audit queue: empty batch: %w", ErrInvalidBatch)
	}
	if len(events) > q.opts.MaxPending {
		return fmt.Errorf("audit queue: batch of %d events, the queue holds at most %d: %w", len(events), q.opts.MaxPending, audit.ErrBatchTooLarge)
	}
	stages := make([]string, len(events))
	ids := make([]string, len(events))
	payloads := make([][]byte, len(events))
	for i := range events {
		ev := &events[i]
		if ev.AuditID == "" || ev.Stage == "" {
			return fmt.Errorf("audit queue: event %d has no auditID or stage (auditID %q, stage %q): %w", i, ev.AuditID, ev.Stage, ErrInvalidBatch)
		}
		b, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("audit queue: encode event %d (audit ID %s): %w", i, ev.AuditID, err)
		}
		stages[i], ids[i], payloads[i] = string(ev.Stage), string(ev.AuditID), b
	}
	// The webhook gives the request no context of its own to the queue; bound the wait so a stuck database turns
	// into an error the API server retries rather than a hung handler.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stored int64
	err := pgx.BeginFunc(ctx, q.pool, func(tx pgx.Tx) error {
		var pending int
		if err := tx.QueryRow(ctx, countPendingSQL, q.opts.Cluster).Scan(&pending); err != nil {
			return fmt.Errorf("count pending events: %w", err)
		}
		if pending+len(events) > q.opts.MaxPending {
			return fmt.Errorf("audit queue: %d events pending, %d more would exceed %d: %w", pending, len(events), q.opts.MaxPending, audit.ErrQueueFull)
		}
		tag, err := tx.Exec(ctx, appendSQL, q.opts.Cluster, stages, ids, payloads, time.Now().UnixNano())
		stored = tag.RowsAffected()
		return err
	})
	if err != nil {
		if errors.Is(err, audit.ErrQueueFull) {
			return err
		}
		return fmt.Errorf("audit queue: append %d events: %w", len(events), err)
	}
	q.duplicates.Add(uint64(max(int64(len(events))-stored, 0)))
	q.notifyMu.Lock()
	close(q.notify)
	q.notify = make(chan struct{})
	q.notifyMu.Unlock()
	return nil
}

// Consume hands pending events to fn until ctx ends: it claims up to BatchSize rows, calls fn for each in append
// order, and marks those fn handled processed in the same transaction. An event fn has been given is finished
// whatever ctx does (the caller detaches fn's own context from the shutdown); once ctx ends, Consume hands out no
// further event, commits what was handled and returns ctx.Err(), and the rest of the claim goes back to the queue.
// When fn fails, the events before it are committed, that event stays pending, and Consume returns fn's error. A
// database error is logged and retried after a pause: the queue outlives a database restart.
func (q *Queue) Consume(ctx context.Context, fn func(*auditv1.Event) error) error {
	backoff := q.opts.PollInterval
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		q.notifyMu.Lock()
		wake := q.notify
		q.notifyMu.Unlock()
		n, err := q.consumeBatch(ctx, fn)
		var fnErr *handlerError
		switch {
		case errors.As(err, &fnErr):
			return fnErr.err
		case err != nil && ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			q.log.Error("audit queue: a batch failed in the database, retrying (its unmarked events go back to the queue)", "err", err, "retryIn", backoff)
			backoff = min(backoff*2, 30*time.Second)
		default:
			backoff = q.opts.PollInterval
			q.pruneEvery(ctx)
			if n > 0 {
				continue
			}
		}
		if q.closed.Load() {
			return audit.ErrClosed
		}
		timer := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-wake:
			timer.Stop()
		case <-timer.C:
		}
	}
}

// handlerError carries fn's error out of consumeBatch.
type handlerError struct{ err error }

func (e *handlerError) Error() string { return e.err.Error() }

type claimedRow struct {
	stage, auditID string
	payload        []byte
}

// consumeBatch claims, handles and marks one batch; it returns how many rows it claimed.
func (q *Queue) consumeBatch(ctx context.Context, fn func(*auditv1.Event) error) (int, error) {
	// The claim's own statements run on a context detached from the shutdown: a taken event is finished and its
	// mark committed even after SIGTERM.
	work := context.WithoutCancel(ctx)
	tx, err := q.pool.Begin(work)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback(work) }()
	if _, err := tx.Exec(work, fmt.Sprintf("SET LOCAL idle_in_transaction_session_timeout = %d", q.opts.ClaimTimeout.Milliseconds())); err != nil {
		return 0, err
	}
	rows, err := tx.Query(work, claimSQL, q.opts.Cluster, q.opts.BatchSize)
	if err != nil {
		return 0, err
	}
	var claimed []claimedRow
	for rows.Next() {
		var r claimedRow
		if err := rows.Scan(&r.stage, &r.auditID, &r.payload); err != nil {
			rows.Close()
			return 0, err
		}
		claimed = append(claimed, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if len(claimed) == 0 {
		return 0, tx.Commit(work)
	}
	q.claimed.Add(int64(len(claimed)))
	defer q.claimed.Add(-int64(len(claimed)))

	var stages, ids []string
	var fnErr error
	for _, r := range claimed {
		if ctx.Err() != nil {
			break // shutting down: the rest goes back to the queue at commit
		}
		var ev auditv1.Event
		if err := json.Unmarshal(r.payload, &ev); err != nil {
			// Only a row written by something else gets here; handing it out again would stop the queue.
			q.undecodable.Add(1)
			q.log.Error("audit queue: undecodable event skipped", "auditID", r.auditID, "stage", r.stage, "err", err)
		} else if err := fn(&ev); err != nil {
			fnErr = fmt.Errorf("audit event %s (stage %s): %w", r.auditID, r.stage, err)
			break
		}
		stages, ids = append(stages, r.stage), append(ids, r.auditID)
	}
	if len(ids) > 0 {
		if _, err := tx.Exec(work, markSQL, q.opts.Cluster, stages, ids, time.Now().UnixNano()); err != nil {
			return len(claimed), fmt.Errorf("mark %d events processed: %w", len(ids), err)
		}
	}
	if err := tx.Commit(work); err != nil {
		return len(claimed), fmt.Errorf("commit %d processed events: %w", len(ids), err)
	}
	if fnErr != nil {
		return len(claimed), &handlerError{fnErr}
	}
	return len(claimed), nil
}

// pruneEvery deletes, at most once a minute per process, the processed rows older than the dedupe horizon.
func (q *Queue) pruneEvery(ctx context.Context) {
	now := time.Now().UnixNano()
	last := q.lastPrune.Load()
	if now-last < int64(time.Minute) || !q.lastPrune.CompareAndSwap(last, now) {
		return
	}
	if _, err := q.Prune(ctx); err != nil && ctx.Err() == nil {
		q.log.Warn("audit queue: prune processed events", "err", err)
	}
}

// Prune deletes this cluster's processed rows older than the dedupe horizon and says how many.
func (q *Queue) Prune(ctx context.Context) (int, error) {
	tag, err := q.pool.Exec(ctx, pruneSQL, q.opts.Cluster, time.Now().Add(-q.opts.DedupeHorizon).UnixNano())
	if err != nil {
		return 0, fmt.Errorf("audit queue: prune: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// Stats describes the queue, for metrics and tests.
type Stats struct {
	Pending   int // events of this cluster not processed yet, all replicas together
	Processed int // processed events of this cluster kept for the dedupe horizon
	Claimed   int // events this process holds claimed right now
}

// Stats counts the rows of this cluster.
func (q *Queue) Stats(ctx context.Context) (Stats, error) {
	s := Stats{Claimed: int(q.claimed.Load())}
	if err := q.pool.QueryRow(ctx, statsSQL, q.opts.Cluster).Scan(&s.Pending, &s.Processed); err != nil {
		return s, fmt.Errorf("audit queue: stats: %w", err)
	}
	return s, nil
}

// Depth is the number of this cluster's events waiting, all replicas together (one COUNT).
func (q *Queue) Depth() (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var n int64
	if err := q.pool.QueryRow(ctx, countPendingSQL, q.opts.Cluster).Scan(&n); err != nil {
		return -1, fmt.Errorf("audit queue: count pending events: %w", err)
	}
	return n, nil
}

// Dropped counts the events this process did not queue or hand out, by reason: "duplicate", a batch sent again
// within the dedupe horizon; "unreadable", a row whose event did not decode.
func (q *Queue) Dropped() map[string]uint64 {
	return map[string]uint64{"duplicate": q.duplicates.Load(), "unreadable": q.undecodable.Load()}
}

// RegisterMetrics exports the queue's depth: vnfguard_audit_queue_pending (this cluster's unprocessed events, all
// replicas together; one COUNT per scrape, -1 when the database does not answer) and vnfguard_audit_queue_claimed
// (the events this process is processing).
func (q *Queue) RegisterMetrics(reg prometheus.Registerer) error {
	pending := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vnfguard_audit_queue_pending",
		Help: "Audit events of this cluster waiting in the PostgreSQL queue, all replicas together (-1: the database did not answer)."},
		func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			var n int
			if err := q.pool.QueryRow(ctx, countPendingSQL, q.opts.Cluster).Scan(&n); err != nil {
				return -1
			}
			return float64(n)
		})
	claimed := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vnfguard_audit_queue_claimed",
		Help: "Audit events this replica has claimed from the PostgreSQL queue and is processing."},
		func() float64 { return float64(q.claimed.Load()) })
	for _, c := range []prometheus.Collector{pending, claimed} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("audit queue metrics: %w", err)
		}
	}
	return nil
}

// Close makes Append refuse batches and idle consumers return; a batch being consumed finishes first (the caller
// waits for its consumers before Close). A pool Open made is closed.
func (q *Queue) Close() {
	if q.closed.Swap(true) {
		return
	}
	q.notifyMu.Lock()
	close(q.notify)
	q.notify = make(chan struct{})
	q.notifyMu.Unlock()
	if q.ownPool {
		q.pool.Close()
	}
}
