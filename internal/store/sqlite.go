package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/vnfguard/vnfguard/internal/finding"
	"modernc.org/sqlite"
)

// registerMerge makes vnfguard_merge_ids known to every SQLite connection opened afterwards (the registration is
// process-wide, and a second one is an error).
var registerMerge = sync.OnceValue(func() error {
	return sqlite.RegisterDeterministicScalarFunction("vnfguard_merge_ids", 3,
		func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			keep, ok := args[2].(int64)
			if !ok || keep < 1 {
				return nil, fmt.Errorf("vnfguard_merge_ids: keep must be a positive integer, got %v", args[2])
			}
			return mergeAuditIDs(sqliteText(args[0]), sqliteText(args[1]), int(keep)), nil
		})
})

func sqliteText(v driver.Value) string {
	switch t := v.(type) {
	case string:
		return t
	case []byte:
		return string(t)
	default:
		return ""
	}
}

type sqliteStore struct {
	db     *sql.DB
	name   string // for errors: the file path
	logger *slog.Logger
	opts   options
	// upsert is the statement for sqliteRowsPerStatement findings; a shorter tail gets its own.
	upsert string
	// writeMu serialises this process's writers: SQLite has one writer at a time anyway, and waiting on a mutex is
	// cheaper and fairer than every goroutine polling the busy timeout. Other processes wait on the busy timeout.
	writeMu sync.Mutex
	// lastKeyPrune is when Record last dropped expired audit-event keys; guarded by writeMu.
	lastKeyPrune time.Time
}

// sqliteRowsPerStatement findings go into one statement: 2 300 parameters, well under SQLite's limit of 32 766.
const sqliteRowsPerStatement = 100

// busyTimeout is how long a writer waits for another process's write transaction before it fails.
const busyTimeout = 10 * time.Second

func openSQLite(ctx context.Context, path string, logger *slog.Logger, o options) (*sqliteStore, error) {
	name := "sqlite:" + path
	if err := registerMerge(); err != nil {
		return nil, fmt.Errorf("open findings store %s: register SQL function: %w", name, err)
	}
	if err := createPrivate(path, logger); err != nil {
		return nil, fmt.Errorf("open findings store %s: %w", name, err)
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	// NORMAL is durable across application crashes in WAL mode; only a power loss may take the last commits.
	q.Add("_pragma", "synchronous(NORMAL)")
	// Statement journals (a multi-row upsert inside a transaction needs one) stay in memory: no temp files.
	q.Add("_pragma", "temp_store(MEMORY)")
	// IMMEDIATE takes the write lock at BEGIN, so that a transaction never fails half-way on a lock upgrade.
	q.Add("_txlock", "immediate")
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open findings store %s: %w", name, err)
	}
	s := &sqliteStore{db: db, name: name, logger: logger, opts: o, upsert: upsertSQL(o.window, o.maxAuditIDs, sqliteRowsPerStatement)}
	if err := s.migrate(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// createPrivate makes sure the database file exists, creating it 0600 (findings name identities, objects and audit
// IDs) before SQLite opens it: SQLite would create it with the umask's permissions, and it gives its -wal and -shm
// files the database file's. The directory must exist: a typo in --store is an error, not a new directory tree
// with an empty database in it. An existing file keeps its permissions, with a warning when others may read it.
func createPrivate(path string, logger *slog.Logger) error {
	dir := filepath.Dir(path)
	switch fi, err := os.Stat(dir); {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("directory %s does not exist: create it first (vnfguard does not create directories for the store)", dir)
	case err != nil:
		return fmt.Errorf("directory %s: %w", dir, err)
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("create or open the database file: %w", err)
	}
	fi, err := f.Stat()
	_ = f.Close()
	if err != nil {
		return fmt.Errorf("database file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && logger != nil {
		logger.Warn("findings store file is readable or writable by others than its owner: chmod 600 it", "file", path, "mode", perm.String())
	}
	return nil
}

func (s *sqliteStore) migrate(ctx context.Context) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("findings store %s: migrate: begin: %w (is the file a SQLite database, and writable?)", s.name, err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, createMigrations); err != nil {
		return fmt.Errorf("findings store %s: migrate: create the migrations table: %w", s.name, err)
	}
	applied, err := sqliteVersions(ctx, tx)
	if err != nil {
		return fmt.Errorf("findings store %s: migrate: read the schema version: %w", s.name, err)
	}
	if err := checkVersions(applied); err != nil {
		return fmt.Errorf("findings store %s: migrate: %w", s.name, err)
	}
	for _, m := range migrations {
		if applied[m.version] {
			continue
		}
		for _, stmt := range m.sqlite {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("findings store %s: migrate to version %d: %w", s.name, m.version, err)
			}
		}
		if _, err := tx.ExecContext(ctx, insertVersion, m.version, time.Now().UnixNano()); err != nil {
			return fmt.Errorf("findings store %s: migrate to version %d: record it: %w", s.name, m.version, err)
		}
		s.logger.Info("findings store migrated", "store", s.name, "version", m.version)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("findings store %s: migrate: commit: %w", s.name, err)
	}
	return nil
}

func sqliteVersions(ctx context.Context, tx *sql.Tx) (map[int]bool, error) {
	rows, err := tx.QueryContext(ctx, selectVersions)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	applied := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		applied[v] = true
	}
	return applied, rows.Err()
}

// checkVersions refuses a database written by a newer vnfguard: its schema may mean things this one does not know.
func checkVersions(applied map[int]bool) error {
	for v := range applied {
		if v > latestVersion {
			return fmt.Errorf("the database has schema version %d, newer than this vnfguard knows (%d): upgrade vnfguard", v, latestVersion)
		}
	}
	return nil
}

func (s *sqliteStore) Record(ctx context.Context, findings []finding.Finding) error {
	if len(findings) == 0 {
		return nil
	}
	rows, err := batchArgs(findings, s.opts, s.name)
	if err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("findings store %s: record %d findings: begin: %w", s.name, len(findings), err)
	}
	defer func() { _ = tx.Rollback() }()
	if rows, err = s.dropReplays(ctx, tx, rows); err != nil {
		return fmt.Errorf("findings store %s: record %d findings: %w", s.name, len(findings), err)
	}
	for start := 0; start < len(rows); start += sqliteRowsPerStatement {
		chunk := rows[start:min(start+sqliteRowsPerStatement, len(rows))]
		q := s.upsert
		if len(chunk) < sqliteRowsPerStatement {
			q = upsertSQL(s.opts.window, s.opts.maxAuditIDs, len(chunk))
		}
		args := make([]any, 0, len(chunk)*columnCount)
		for _, r := range chunk {
			args = append(args, r...)
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("findings store %s: record findings %d to %d of %d (first ID %v, rule %v): %w",
				s.name, start+1, start+len(chunk), len(rows), chunk[0][0], chunk[0][3], err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("findings store %s: record %d findings: commit: %w", s.name, len(findings), err)
	}
	s.pruneAuditIDsEvery(ctx)
	return nil
}

// dropReplays remembers the rows' audit IDs in tx and returns the rows that count (see filterReplays).
func (s *sqliteStore) dropReplays(ctx context.Context, tx *sql.Tx, rows [][]any) ([][]any, error) {
	var stmt *sql.Stmt
	defer func() {
		if stmt != nil {
			_ = stmt.Close()
		}
	}()
	now := time.Now().UnixNano()
	return filterReplays(rows, func(id, auditID string) (bool, error) {
		if stmt == nil {
			var err error
			if stmt, err = tx.PrepareContext(ctx, insertAuditIDSQL); err != nil {
				return false, err
			}
		}
		res, err := stmt.ExecContext(ctx, id, auditID, now)
		if err != nil {
			return false, err
		}
		n, err := res.RowsAffected()
		return n > 0, err
	})
}

// pruneAuditIDsEvery drops, at most once per auditIDPruneEvery, the audit-event keys older than the replay horizon.
// The caller holds writeMu.
func (s *sqliteStore) pruneAuditIDsEvery(ctx context.Context) {
	now := time.Now()
	if now.Sub(s.lastKeyPrune) < auditIDPruneEvery {
		return
	}
	s.lastKeyPrune = now
	if _, err := s.db.ExecContext(ctx, pruneAuditIDsSQL, now.Add(-s.opts.replayHorizon).UnixNano()); err != nil {
		s.logger.Warn("findings store: prune remembered audit IDs", "store", s.name, "err", err)
	}
}

func (s *sqliteStore) List(ctx context.Context, filter Filter) ([]finding.Finding, error) {
	q, args := listSQL(filter)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("findings store %s: list: %w", s.name, err)
	}
	defer func() { _ = rows.Close() }()
	return collectFindings(rows, s.name)
}

func (s *sqliteStore) Get(ctx context.Context, id string) (finding.Finding, error) {
	f, err := scanFinding(s.db.QueryRowContext(ctx, getSQL, id))
	if errors.Is(err, sql.ErrNoRows) {
		return finding.Finding{}, fmt.Errorf("findings store %s: get %s: %w", s.name, id, ErrNotFound)
	}
	if err != nil {
		return finding.Finding{}, fmt.Errorf("findings store %s: get %s: %w", s.name, id, err)
	}
	return f, nil
}

func (s *sqliteStore) Resolve(ctx context.Context, ids []string, at time.Time) (int, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	n := 0
	for start := 0; start < len(ids); start += resolveChunk {
		chunk := ids[start:min(start+resolveChunk, len(ids))]
		res, err := s.db.ExecContext(ctx, resolveSQL(len(chunk)), resolveArgs(chunk, at)...)
		if err != nil {
			return n, fmt.Errorf("findings store %s: resolve %d findings (first ID %s): %w", s.name, len(chunk), chunk[0], err)
		}
		k, err := res.RowsAffected()
		if err != nil {
			return n, fmt.Errorf("findings store %s: resolve: count: %w", s.name, err)
		}
		n += int(k)
	}
	return n, nil
}

func (s *sqliteStore) Prune(ctx context.Context, olderThan time.Time) (int, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	res, err := s.db.ExecContext(ctx, pruneSQL, olderThan.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("findings store %s: prune before %s: %w", s.name, olderThan.Format(time.RFC3339), err)
	}
	if _, err := s.db.ExecContext(ctx, pruneAuditIDsSQL, olderThan.UnixNano()); err != nil {
		return 0, fmt.Errorf("findings store %s: prune audit IDs recorded before %s: %w", s.name, olderThan.Format(time.RFC3339), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("findings store %s: prune before %s: count: %w", s.name, olderThan.Format(time.RFC3339), err)
	}
	return int(n), nil
}

func (s *sqliteStore) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("findings store %s: close: %w", s.name, err)
	}
	return nil
}

// Browse implements Browser.
func (s *sqliteStore) Browse(ctx context.Context, q Query) (Page, error) {
	return browse(ctx, s.name, q, s.query, func(ctx context.Context, q string, args ...any) (n int64, err error) {
		err = s.db.QueryRowContext(ctx, q, args...).Scan(&n)
		return n, err
	})
}

// Histogram implements Browser.
func (s *sqliteStore) Histogram(ctx context.Context, f Filter, step time.Duration) ([]Bucket, error) {
	return histogram(ctx, s.name, f, step, s.query)
}

// Facets implements Browser.
func (s *sqliteStore) Facets(ctx context.Context, f Filter) (Facets, error) {
	return facets(ctx, s.name, f, s.query)
}

func (s *sqliteStore) query(ctx context.Context, q string, args ...any) (rowIterator, func(), error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, nil, err
	}
	return rows, func() { _ = rows.Close() }, nil
}
