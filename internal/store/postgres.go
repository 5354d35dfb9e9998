package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/vnfguard/vnfguard/internal/finding"
)

// migrationLockKey is the advisory lock that serialises replicas migrating the same database at once ("vnfg").
const migrationLockKey = 0x766e6667

// maxAttempts bounds the retries of a batch that PostgreSQL aborted for a deadlock or a serialisation failure: both
// are the database asking the client to try again.
const maxAttempts = 3

type postgresStore struct {
	pool   *pgxpool.Pool
	name   string // for errors: the DSN without its password
	logger *slog.Logger
	opts   options
	upsert string
	// insertAuditID and pruneAuditIDs are insertAuditIDSQL and pruneAuditIDsSQL rebound.
	insertAuditID, pruneAuditIDs string
	// lastKeyPrune is when Record last dropped expired audit-event keys (Unix nanoseconds).
	lastKeyPrune atomic.Int64
}

func openPostgres(ctx context.Context, dsn string, logger *slog.Logger, o options) (*postgresStore, error) {
	name := redactDSN(dsn)
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's parse errors may quote the DSN: report only that it is malformed, and where.
		return nil, fmt.Errorf("open findings store %s: parse the DSN: %s", name, errorWithoutDSN(err))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open findings store %s: %w", name, err)
	}
	s := &postgresStore{pool: pool, name: name, logger: logger, opts: o, upsert: rebind(upsertSQL(o.window, o.maxAuditIDs, 1)),
		insertAuditID: rebind(insertAuditIDSQL), pruneAuditIDs: rebind(pruneAuditIDsSQL)}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open findings store %s: connect: %w", name, err)
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// errorWithoutDSN keeps the reason of a pgconn.ParseConfigError and drops the connection string it carries.
func errorWithoutDSN(err error) string {
	var perr *pgconn.ParseConfigError
	if errors.As(err, &perr) && perr.Unwrap() != nil {
		return perr.Unwrap().Error()
	}
	return "malformed connection string"
}

func (s *postgresStore) migrate(ctx context.Context) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("findings store %s: migrate: begin: %w", s.name, err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// Taken before anything else, so that two replicas starting together do not both create the tables.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLockKey)); err != nil {
		return fmt.Errorf("findings store %s: migrate: lock: %w", s.name, err)
	}
	if _, err := tx.Exec(ctx, createMigrations); err != nil {
		return fmt.Errorf("findings store %s: migrate: create the migrations table: %w", s.name, err)
	}
	rows, err := tx.Query(ctx, selectVersions)
	if err != nil {
		return fmt.Errorf("findings store %s: migrate: read the schema version: %w", s.name, err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return fmt.Errorf("findings store %s: migrate: read the schema version: %w", s.name, err)
	}
	applied := map[int]bool{}
	for _, v := range versions {
		applied[int(v)] = true
	}
	if err := checkVersions(applied); err != nil {
		return fmt.Errorf("findings store %s: migrate: %w", s.name, err)
	}
	for _, m := range migrations {
		if applied[m.version] {
			continue
		}
		for _, stmt := range m.postgres {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("findings store %s: migrate to version %d: %w", s.name, m.version, err)
			}
		}
		if _, err := tx.Exec(ctx, rebind(insertVersion), m.version, time.Now().UnixNano()); err != nil {
			return fmt.Errorf("findings store %s: migrate to version %d: record it: %w", s.name, m.version, err)
		}
		s.logger.Info("findings store migrated", "store", s.name, "version", m.version)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("findings store %s: migrate: commit: %w", s.name, err)
	}
	return nil
}

func (s *postgresStore) Record(ctx context.Context, findings []finding.Finding) error {
	if len(findings) == 0 {
		return nil
	}
	rows, err := batchArgs(findings, s.opts, s.name)
	if err != nil {
		return err
	}
	// Rows are locked in ID order, whatever order the batch came in: two replicas recording overlapping batches
	// then wait for each other instead of deadlocking. The sort is stable, so repeats of one ID keep their order.
	slices.SortStableFunc(rows, func(a, b []any) int { return cmp.Compare(a[0].(string), b[0].(string)) })
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		if err = s.recordOnce(ctx, rows); err == nil || !retryable(err) || ctx.Err() != nil {
			break
		}
		s.logger.Warn("findings store: retrying a batch", "store", s.name, "attempt", attempt, "err", err)
	}
	if err != nil {
		return fmt.Errorf("findings store %s: record %d findings: %w", s.name, len(findings), err)
	}
	s.pruneAuditIDsEvery(ctx)
	return nil
}

func (s *postgresStore) recordOnce(ctx context.Context, rows [][]any) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := s.dropReplays(ctx, tx, rows)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		batch := &pgx.Batch{}
		for _, args := range rows {
			batch.Queue(s.upsert, args...)
		}
		results := tx.SendBatch(ctx, batch)
		for _, args := range rows {
			if _, err := results.Exec(); err != nil {
				_ = results.Close()
				return fmt.Errorf("upsert finding %v (rule %v): %w", args[0], args[3], err)
			}
		}
		return results.Close()
	})
}

// dropReplays remembers the rows' audit IDs in tx and returns the rows that count (see filterReplays): one round
// trip for every key of the batch. A key another transaction is inserting makes this one wait for it, so two replicas
// processing the same event at once count it once.
func (s *postgresStore) dropReplays(ctx context.Context, tx pgx.Tx, rows [][]any) ([][]any, error) {
	type key struct{ id, auditID string }
	var keys []key
	for _, row := range rows {
		for _, auditID := range rowAuditIDs(row) {
			keys = append(keys, key{row[argID].(string), auditID})
		}
	}
	if len(keys) == 0 {
		return rows, nil
	}
	// In key order, as the upserts go in ID order: overlapping batches wait for each other instead of deadlocking.
	slices.SortFunc(keys, func(a, b key) int { return cmp.Or(cmp.Compare(a.id, b.id), cmp.Compare(a.auditID, b.auditID)) })
	now := time.Now().UnixNano()
	batch := &pgx.Batch{}
	for _, k := range keys {
		batch.Queue(s.insertAuditID, k.id, k.auditID, now)
	}
	results := tx.SendBatch(ctx, batch)
	inserted := make(map[key]bool, len(keys))
	for _, k := range keys {
		tag, err := results.Exec()
		if err != nil {
			_ = results.Close()
			return nil, fmt.Errorf("remember audit ID %s of finding %s: %w", k.auditID, k.id, err)
		}
		// A repeat of a key within the batch: its first insert counts, the repeat's does not.
		if _, seen := inserted[k]; !seen {
			inserted[k] = tag.RowsAffected() > 0
		}
	}
	if err := results.Close(); err != nil {
		return nil, err
	}
	claimed := map[key]bool{}
	return filterReplays(rows, func(id, auditID string) (bool, error) {
		k := key{id, auditID}
		if claimed[k] {
			return false, nil
		}
		claimed[k] = true
		return inserted[k], nil
	})
}

// pruneAuditIDsEvery drops, at most once per auditIDPruneEvery, the audit-event keys older than the replay horizon.
func (s *postgresStore) pruneAuditIDsEvery(ctx context.Context) {
	now := time.Now()
	last := s.lastKeyPrune.Load()
	if now.UnixNano()-last < int64(auditIDPruneEvery) || !s.lastKeyPrune.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	if _, err := s.pool.Exec(ctx, s.pruneAuditIDs, now.Add(-s.opts.replayHorizon).UnixNano()); err != nil {
		s.logger.Warn("findings store: prune remembered audit IDs", "store", s.name, "err", err)
	}
}

// retryable is a deadlock (40P01) or a serialisation failure (40001).
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

func (s *postgresStore) List(ctx context.Context, filter Filter) ([]finding.Finding, error) {
	q, args := listSQL(filter)
	rows, err := s.pool.Query(ctx, rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("findings store %s: list: %w", s.name, err)
	}
	defer rows.Close()
	return collectFindings(rows, s.name)
}

func (s *postgresStore) Get(ctx context.Context, id string) (finding.Finding, error) {
	f, err := scanFinding(s.pool.QueryRow(ctx, rebind(getSQL), id))
	if errors.Is(err, pgx.ErrNoRows) {
		return finding.Finding{}, fmt.Errorf("findings store %s: get %s: %w", s.name, id, ErrNotFound)
	}
	if err != nil {
		return finding.Finding{}, fmt.Errorf("findings store %s: get %s: %w", s.name, id, err)
	}
	return f, nil
}

func (s *postgresStore) Resolve(ctx context.Context, ids []string, at time.Time) (int, error) {
	n := 0
	for start := 0; start < len(ids); start += resolveChunk {
		chunk := ids[start:min(start+resolveChunk, len(ids))]
		tag, err := s.pool.Exec(ctx, rebind(resolveSQL(len(chunk))), resolveArgs(chunk, at)...)
		if err != nil {
			return n, fmt.Errorf("findings store %s: resolve %d findings (first ID %s): %w", s.name, len(chunk), chunk[0], err)
		}
		n += int(tag.RowsAffected())
	}
	return n, nil
}

func (s *postgresStore) Prune(ctx context.Context, olderThan time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, rebind(pruneSQL), olderThan.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("findings store %s: prune before %s: %w", s.name, olderThan.Format(time.RFC3339), err)
	}
	if _, err := s.pool.Exec(ctx, s.pruneAuditIDs, olderThan.UnixNano()); err != nil {
		return 0, fmt.Errorf("findings store %s: prune audit IDs recorded before %s: %w", s.name, olderThan.Format(time.RFC3339), err)
	}
	return int(tag.RowsAffected()), nil
}

func (s *postgresStore) Close() error {
	s.pool.Close()
	return nil
}

// Browse implements Browser.
func (s *postgresStore) Browse(ctx context.Context, q Query) (Page, error) {
	return browse(ctx, s.name, q, s.query, func(ctx context.Context, q string, args ...any) (n int64, err error) {
		err = s.pool.QueryRow(ctx, rebind(q), args...).Scan(&n)
		return n, err
	})
}

// Histogram implements Browser.
func (s *postgresStore) Histogram(ctx context.Context, f Filter, step time.Duration) ([]Bucket, error) {
	return histogram(ctx, s.name, f, step, s.query)
}

// Facets implements Browser.
func (s *postgresStore) Facets(ctx context.Context, f Filter) (Facets, error) {
	return facets(ctx, s.name, f, s.query)
}

func (s *postgresStore) query(ctx context.Context, q string, args ...any) (rowIterator, func(), error) {
	rows, err := s.pool.Query(ctx, rebind(q), args...)
	if err != nil {
		return nil, nil, err
	}
	return rows, rows.Close, nil
}
