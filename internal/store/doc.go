// Package store keeps findings: SQLite (embedded, pure Go, the default) or PostgreSQL (for several vnfguard
// replicas sharing one store), behind one Store interface.
//
// # Aggregation
//
// A finding's ID (finding.Key: rule, object, instance) is the row's primary key: there is one row per ID. Recording a
// finding whose ID is stored and whose time lies within the aggregation window of the stored occurrence (default 10
// minutes before its FirstSeen to 10 minutes after its LastSeen) aggregates it: Count grows by the new finding's
// Count (at least 1), LastSeen moves forward, FirstSeen stays (or moves back for a late event), the severity is the
// highest seen, and the descriptive fields (message, action, identity, evidence, ...) are those of the latest
// occurrence. Outside the window a newer finding restarts the occurrence (Count, FirstSeen and the audit IDs start
// over), and an older one (a forensic replay of an old log) leaves the stored, newer occurrence alone. One row per ID
// keeps Get and the upsert a single statement, which is what makes concurrent writers safe: the whole decision is
// taken inside one INSERT ... ON CONFLICT DO UPDATE, under the row's lock, in both backends.
//
// # Evidence audit IDs
//
// The audit IDs of a finding (Evidence["auditID"] and the comma-separated Evidence["auditIDs"]) are kept in their own
// column, merged on aggregation (deduplicated, oldest first, bounded to the last MaxAuditIDs), and given back as
// Evidence["auditIDs"], comma-separated. Other evidence is stored as JSON, from the latest occurrence.
//
// # DSNs
//
// "sqlite:///path/file.db", "sqlite:relative.db" or a plain path open SQLite (WAL, busy timeout, synchronous=NORMAL);
// "postgres://..." or "postgresql://..." open PostgreSQL through a pgx pool. Schema migrations are versioned, run on
// Open, and are idempotent (PostgreSQL serialises concurrent openers with an advisory lock). Times are stored as Unix
// nanoseconds (BIGINT) so that one SQL text serves both backends and round-trips Go times exactly.
package store
