package pgqueue

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrationLockKey serialises replicas migrating the queue at once ("vnfq"); the findings store has its own key.
const migrationLockKey = 0x766e6671

// The queue keeps its own schema versions: it may share a database with the findings store, whose versions mean
// other things.
const createMigrations = `CREATE TABLE IF NOT EXISTS vnfguard_audit_queue_migrations (
	version    INTEGER PRIMARY KEY,
	applied_ns BIGINT NOT NULL
)`

// migrations are the schema versions, in order; each runs in one transaction with its record.
var migrations = [][]string{
	1: {
		// seq orders events by arrival; processed_ns is 0 while pending. The event is stored as the JSON the API
		// server's batch decoded to, in bytea: byte for byte what the consumer decodes.
		`CREATE TABLE IF NOT EXISTS vnfguard_audit_queue (
	cluster      TEXT NOT NULL,
	stage        TEXT NOT NULL,
	audit_id     TEXT NOT NULL,
	seq          BIGINT GENERATED ALWAYS AS IDENTITY,
	event        BYTEA NOT NULL,
	received_ns  BIGINT NOT NULL,
	processed_ns BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (cluster, stage, audit_id)
)`,
		`CREATE INDEX IF NOT EXISTS vnfguard_audit_queue_pending ON vnfguard_audit_queue (cluster, seq) WHERE processed_ns = 0`,
		`CREATE INDEX IF NOT EXISTS vnfguard_audit_queue_processed ON vnfguard_audit_queue (cluster, processed_ns) WHERE processed_ns <> 0`,
	},
	2: {
		// The access ledger (ledger.go): the execs and attaches that passed the API server, shared by the replicas.
		`CREATE TABLE IF NOT EXISTS vnfguard_access_ledger (
	cluster   TEXT NOT NULL,
	namespace TEXT NOT NULL,
	pod       TEXT NOT NULL,
	container TEXT NOT NULL,
	via       TEXT NOT NULL,
	at_ns     BIGINT NOT NULL,
	used      BOOLEAN NOT NULL DEFAULT false,
	id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY
)`,
		`CREATE INDEX IF NOT EXISTS vnfguard_access_ledger_pod ON vnfguard_access_ledger (cluster, namespace, pod, at_ns)`,
	},
}

const (
	countPendingSQL = `SELECT count(*) FROM vnfguard_audit_queue WHERE cluster = $1 AND processed_ns = 0`
	appendSQL       = `INSERT INTO vnfguard_audit_queue (cluster, stage, audit_id, event, received_ns)
SELECT $1, s, a, e, $5 FROM unnest($2::text[], $3::text[], $4::bytea[]) AS b(s, a, e)
ON CONFLICT (cluster, stage, audit_id) DO NOTHING`
	claimSQL = `SELECT stage, audit_id, event FROM vnfguard_audit_queue
WHERE cluster = $1 AND processed_ns = 0 ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED`
	markSQL = `UPDATE vnfguard_audit_queue q SET processed_ns = $4
FROM unnest($2::text[], $3::text[]) AS m(s, a)
WHERE q.cluster = $1 AND q.stage = m.s AND q.audit_id = m.a`
	pruneSQL = `DELETE FROM vnfguard_audit_queue WHERE cluster = $1 AND processed_ns <> 0 AND processed_ns < $2`
	statsSQL = `SELECT count(*) FILTER (WHERE processed_ns = 0), count(*) FILTER (WHERE processed_ns <> 0)
FROM vnfguard_audit_queue WHERE cluster = $1`
)

func migrate(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLockKey)); err != nil {
			return fmt.Errorf("audit queue: migrate: lock: %w", err)
		}
		if _, err := tx.Exec(ctx, createMigrations); err != nil {
			return fmt.Errorf("audit queue: migrate: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT version FROM vnfguard_audit_queue_migrations`)
		if err != nil {
			return fmt.Errorf("audit queue: migrate: read the schema version: %w", err)
		}
		versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			return fmt.Errorf("audit queue: migrate: read the schema version: %w", err)
		}
		applied := map[int]bool{}
		for _, v := range versions {
			if int(v) >= len(migrations) {
				return fmt.Errorf("audit queue: the database has queue schema version %d, newer than this vnfguard knows (%d): upgrade vnfguard", v, len(migrations)-1)
			}
			applied[int(v)] = true
		}
		for v := 1; v < len(migrations); v++ {
			if applied[v] {
				continue
			}
			for _, stmt := range migrations[v] {
				if _, err := tx.Exec(ctx, stmt); err != nil {
					return fmt.Errorf("audit queue: migrate to version %d: %w", v, err)
				}
			}
			if _, err := tx.Exec(ctx, `INSERT INTO vnfguard_audit_queue_migrations (version, applied_ns) VALUES ($1, $2)`, v, time.Now().UnixNano()); err != nil {
				return fmt.Errorf("audit queue: migrate to version %d: record it: %w", v, err)
			}
			log.Info("audit queue migrated", "version", v)
		}
		return nil
	})
}
