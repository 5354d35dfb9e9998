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
// # One count per audit event
//
// Recording is idempotent per audit event: every (finding ID, audit ID) pair is remembered (table
// finding_audit_ids, in the transaction of the upsert, for the replay horizon, default 24h), and an occurrence whose
// audit IDs its finding has all counted already changes nothing. An audit intake that crashed after recording an
// event's findings and before marking the event done, and the replica that then processes it again, so count it
// once; two writers recording the same event at once wait for each other on the key. The audit_ids column cannot
// decide this on its own: it keeps only the latest MaxAuditIDs. Findings without audit IDs (admission,
// reconciliation) aggregate as before.
//
// # DSNs
//
// "sqlite:///path/file.db", "sqlite:relative.db" or a plain path open SQLite (WAL, busy timeout, synchronous=NORMAL);
// "postgres://..." or "postgresql://..." open PostgreSQL through a pgx pool. Schema migrations are versioned, run on
// Open, and are idempotent (PostgreSQL serialises concurrent openers with an advisory lock). Times are stored as Unix
// nanoseconds (BIGINT) so that one SQL text serves both backends and round-trips Go times exactly.
package store
