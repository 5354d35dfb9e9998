package pgqueue

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vnfguard/vnfguard/internal/detect"
)

// Ledger is detect.AccessLedger in PostgreSQL, beside the queue: the admission request of a kubectl exec, its
// audit event and the node's report of the process may each reach another replica, and all of them must find
// one another. Same semantics as detect.MemoryLedger: a match uses up the record and every other record of the
// same exec (same pod and container within detect.SameRequest); a record that arrives after its exec was matched
// is born used. A database error is logged and counts as no record: detection errs towards reporting a bypass.
type Ledger struct {
	pool    *pgxpool.Pool
	cluster string
	log     *slog.Logger
	added   int64
}

var _ detect.AccessLedger = (*Ledger)(nil)

// Ledger returns the queue's access ledger.
func (q *Queue) Ledger() *Ledger { return &Ledger{pool: q.pool, cluster: q.opts.Cluster, log: q.log} }

const (
	ledgerRecordSQL = `INSERT INTO vnfguard_access_ledger (cluster, namespace, pod, container, via, at_ns, used)
SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::bigint, EXISTS (SELECT 1 FROM vnfguard_access_ledger
  WHERE cluster = $1::text AND namespace = $2::text AND pod = $3::text AND used
    AND (container = '' OR $4::text = '' OR container = $4::text)
    AND at_ns BETWEEN $6::bigint - $7::bigint AND $6::bigint + $7::bigint)`
	ledgerFindSQL = `SELECT id, container, via, at_ns FROM vnfguard_access_ledger
WHERE cluster = $1 AND namespace = $2 AND pod = $3 AND NOT used AND (container = '' OR $4::text = '' OR container = $4::text)
  AND at_ns BETWEEN $5::bigint AND $6::bigint
ORDER BY at_ns LIMIT 1 FOR UPDATE`
	ledgerUseSQL = `UPDATE vnfguard_access_ledger SET used = true
WHERE cluster = $1 AND namespace = $2 AND pod = $3 AND (container = '' OR $4::text = '' OR container = $4::text)
  AND at_ns BETWEEN $5::bigint - $6::bigint AND $5::bigint + $6::bigint`
	ledgerPruneSQL = `DELETE FROM vnfguard_access_ledger WHERE cluster = $1 AND at_ns < $2`
)

// ledgerTimeout bounds one ledger statement: an admission request waits for Record.
const ledgerTimeout = 2 * time.Second

// Record implements detect.AccessLedger.
func (l *Ledger) Record(namespace, pod, container, via string, at time.Time) {
	if pod == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), ledgerTimeout)
	defer cancel()
	if _, err := l.pool.Exec(ctx, ledgerRecordSQL, l.cluster, namespace, pod, container, via, at.UnixNano(), int64(detect.SameRequest)); err != nil {
		l.log.Warn("access ledger: record failed; a runtime exec of this request may be reported as a bypass", "pod", namespace+"/"+pod, "via", via, "error", err)
		return
	}
	if l.added++; l.added%1024 == 0 {
		if _, err := l.pool.Exec(ctx, ledgerPruneSQL, l.cluster, time.Now().Add(-10*time.Minute).UnixNano()); err != nil {
			l.log.Warn("access ledger: prune failed", "error", err)
		}
	}
}

// Find implements detect.AccessLedger.
func (l *Ledger) Find(namespace, pod, container string, at time.Time, grace time.Duration) string {
	ctx, cancel := context.WithTimeout(context.Background(), ledgerTimeout)
	defer cancel()
	via := ""
	err := pgx.BeginFunc(ctx, l.pool, func(tx pgx.Tx) error {
		var id, atNS int64
		var found string
		err := tx.QueryRow(ctx, ledgerFindSQL, l.cluster, namespace, pod, container,
			at.Add(-detect.ExecLead).UnixNano(), at.Add(grace).UnixNano()).Scan(&id, &found, &via, &atNS)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, ledgerUseSQL, l.cluster, namespace, pod, found, atNS, int64(detect.SameRequest))
		return err
	})
	if err != nil {
		l.log.Warn("access ledger: lookup failed; the exec is judged as if no API-server exec accounts for it", "pod", namespace+"/"+pod, "error", err)
		return ""
	}
	return via
}
