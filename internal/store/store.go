package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/vnfguard/vnfguard/internal/finding"
)

// Store keeps findings, aggregated by ID (see the package documentation). Implementations are safe for concurrent
// use, and several processes may share one store (SQLite: on one machine; PostgreSQL: anywhere).
type Store interface {
	// Record upserts the findings, aggregating each into the stored occurrence of its ID when it falls within the
	// aggregation window. A finding without an ID gets finding.Key(rule, object, instance). An occurrence whose
	// audit IDs its finding has all counted already (the same audit event processed twice) is a replay and changes
	// nothing. The batch is one transaction: all of it is stored or none. The slice is not modified.
	Record(ctx context.Context, findings []finding.Finding) error
	// List returns the stored findings that match the filter, the most recently seen first.
	List(ctx context.Context, filter Filter) ([]finding.Finding, error)
	// Get returns the finding with the ID, or an error wrapping ErrNotFound.
	Get(ctx context.Context, id string) (finding.Finding, error)
	// Resolve marks the open findings with these IDs resolved at the given time and says how many it marked: the
	// condition behind them has cleared (reconciliation). A later occurrence recorded for an ID opens it again.
	Resolve(ctx context.Context, ids []string, at time.Time) (int, error)
	// Prune deletes the findings last seen before olderThan (retention by age) and says how many it deleted.
	Prune(ctx context.Context, olderThan time.Time) (int, error)
	// Close releases the database; the Store is unusable afterwards.
	Close() error
}

// Filter selects findings for List. Zero fields do not filter.
type Filter struct {
	Cluster     string // the finding's cluster (config clusterName); empty admits every cluster
	Technique   string
	MinSeverity finding.Severity // Info, the zero value, admits every finding
	Namespace   string           // the namespace of the finding's object
	VNFInstance string
	Rule        string
	Source      string    // admission, audit, reconcile, posture
	Status      Status    // open or resolved; empty admits both
	Since       time.Time // last seen at or after
	Until       time.Time // last seen before
	Limit       int       // at most this many; 0 means no limit
}

// Status selects findings by whether their condition still holds.
type Status string

// The statuses a Filter can ask for.
const (
	StatusAny      Status = ""
	StatusOpen     Status = "open"
	StatusResolved Status = "resolved"
)

// ParseStatus reads a status name: open, resolved, or empty or "all" for any.
func ParseStatus(text string) (Status, error) {
	switch strings.ToLower(text) {
	case "", "all", "any":
		return StatusAny, nil
	case "open":
		return StatusOpen, nil
	case "resolved":
		return StatusResolved, nil
	}
	return StatusAny, fmt.Errorf("unknown finding status %q: want open, resolved or all", text)
}

// resolveChunk bounds the IDs of one UPDATE (SQLite allows 32 766 parameters; PostgreSQL 65 535).
const resolveChunk = 1000

// ErrNotFound says that no finding has the ID asked for.
var ErrNotFound = errors.New("finding not found")

// DefaultWindow is the aggregation window: a repeat of a finding within it of the stored occurrence counts into it.
const DefaultWindow = 10 * time.Minute

// DefaultMaxAuditIDs bounds the audit IDs kept per finding: the latest ones, which the next step of an
// investigation needs, and never an unbounded row for a finding that fires all day.
const DefaultMaxAuditIDs = 20

// Evidence keys that carry audit IDs; they are stored in their own column (see the package documentation).
const (
	EvidenceAuditID  = "auditID"
	EvidenceAuditIDs = "auditIDs"
)

// DefaultReplayHorizon is how long a finding remembers the audit events it has counted: far longer than any
// redelivery of an event (the audit intake's dedupe horizon is an hour), and short enough that the keys stay few.
const DefaultReplayHorizon = 24 * time.Hour

// auditIDPruneEvery is how often Record drops audit-event keys older than the replay horizon.
const auditIDPruneEvery = time.Minute

type options struct {
	window        time.Duration
	maxAuditIDs   int
	replayHorizon time.Duration
	now           func() time.Time
}

// Option tunes Open.
type Option func(*options)

// WithWindow sets the aggregation window (default DefaultWindow); with zero (or less) only findings that fall between
// the stored occurrence's FirstSeen and LastSeen aggregate, so in practice every later repeat restarts it.
func WithWindow(d time.Duration) Option { return func(o *options) { o.window = max(d, 0) } }

// WithMaxAuditIDs sets how many audit IDs a finding keeps (default DefaultMaxAuditIDs, at least 1).
func WithMaxAuditIDs(n int) Option { return func(o *options) { o.maxAuditIDs = max(n, 1) } }

// WithReplayHorizon sets how long a finding remembers the audit events it has counted (default
// DefaultReplayHorizon): an occurrence carrying only audit IDs its finding counted within the horizon is a replay and
// changes nothing.
func WithReplayHorizon(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.replayHorizon = d
		}
	}
}

// WithClock sets the clock that dates findings recorded without a time (default time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// Open opens (creating it if need be) the store a DSN names and brings its schema up to date:
// "sqlite:///abs/path.db", "sqlite:rel/path.db" or a plain path for SQLite; "postgres://..." or
// "postgresql://..." for PostgreSQL. Errors name the DSN without its password.
func Open(ctx context.Context, dsn string, logger *slog.Logger, opts ...Option) (Store, error) {
	o := options{window: DefaultWindow, maxAuditIDs: DefaultMaxAuditIDs, replayHorizon: DefaultReplayHorizon, now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	kind, target, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	switch kind {
	case kindPostgres:
		return openPostgres(ctx, target, logger, o)
	default:
		return openSQLite(ctx, target, logger, o)
	}
}

const (
	kindSQLite   = "sqlite"
	kindPostgres = "postgres"
)

// parseDSN tells the backend and what to hand its driver: a file path for SQLite, the URL for PostgreSQL.
func parseDSN(dsn string) (kind, target string, err error) {
	trimmed := strings.TrimSpace(dsn)
	switch {
	case trimmed == "":
		return "", "", errors.New("open findings store: empty DSN: want a path, sqlite:///path/file.db or a postgres:// URL")
	case strings.HasPrefix(trimmed, "postgres://"), strings.HasPrefix(trimmed, "postgresql://"):
		if _, err := url.Parse(trimmed); err != nil {
			// url.Error repeats the whole URL, password included: say only what is wrong.
			var uerr *url.Error
			if errors.As(err, &uerr) {
				err = uerr.Err
			}
			return "", "", fmt.Errorf("open findings store: malformed PostgreSQL DSN: %v", err)
		}
		return kindPostgres, trimmed, nil
	case strings.HasPrefix(trimmed, "sqlite://"):
		target = strings.TrimPrefix(trimmed, "sqlite://")
	case strings.HasPrefix(trimmed, "sqlite:"):
		target = strings.TrimPrefix(trimmed, "sqlite:")
	case strings.Contains(trimmed, "://"):
		scheme, _, _ := strings.Cut(trimmed, "://")
		return "", "", fmt.Errorf("open findings store: unknown DSN scheme %q: want a path, sqlite:///path/file.db or a postgres:// URL", scheme)
	default:
		target = trimmed
	}
	if target == "" {
		return "", "", fmt.Errorf("open findings store %q: no file path", dsn)
	}
	return kindSQLite, target, nil
}

// IsPostgres reports whether dsn names a PostgreSQL store (a postgres:// or postgresql:// URL), whose database the
// audit intake's queue then shares.
func IsPostgres(dsn string) bool {
	kind, _, err := parseDSN(dsn)
	return err == nil && kind == kindPostgres
}

// redactDSN renders a DSN for errors and logs, the password replaced by xxxxx.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(malformed DSN)"
	}
	return u.Redacted()
}
