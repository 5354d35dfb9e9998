package store

import (
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/vnfguard/vnfguard/internal/finding"
)

// The SQL here is one text for both backends: `?` placeholders (rebound to $n for PostgreSQL), BIGINT nanosecond
// times, CASE instead of LEAST/GREATEST (SQLite has neither), and the merge of audit IDs as a function of the same
// name and meaning in both (a Go function registered with SQLite, an SQL function created by the PostgreSQL
// migration).

// migration is one schema version; statements run in order, in one transaction with the version's record.
type migration struct {
	version  int
	sqlite   []string
	postgres []string
}

const createFindings = `CREATE TABLE IF NOT EXISTS findings (
	id              TEXT PRIMARY KEY,
	time_ns         BIGINT NOT NULL,
	source          TEXT NOT NULL DEFAULT '',
	rule            TEXT NOT NULL DEFAULT '',
	technique       TEXT NOT NULL DEFAULT '',
	mitigations     TEXT NOT NULL DEFAULT '',
	severity        INTEGER NOT NULL DEFAULT 0,
	action          TEXT NOT NULL DEFAULT '',
	message         TEXT NOT NULL DEFAULT '',
	vnf_instance    TEXT NOT NULL DEFAULT '',
	vnf_product     TEXT NOT NULL DEFAULT '',
	identity        TEXT NOT NULL DEFAULT '',
	obj_api_version TEXT NOT NULL DEFAULT '',
	obj_kind        TEXT NOT NULL DEFAULT '',
	obj_namespace   TEXT NOT NULL DEFAULT '',
	obj_name        TEXT NOT NULL DEFAULT '',
	obj_subresource TEXT NOT NULL DEFAULT '',
	evidence        TEXT NOT NULL DEFAULT '',
	audit_ids       TEXT NOT NULL DEFAULT '',
	first_seen_ns   BIGINT NOT NULL,
	last_seen_ns    BIGINT NOT NULL,
	count           BIGINT NOT NULL DEFAULT 1
)`

var createIndexes = []string{
	`CREATE INDEX IF NOT EXISTS findings_last_seen ON findings (last_seen_ns)`,
	`CREATE INDEX IF NOT EXISTS findings_technique ON findings (technique, last_seen_ns)`,
	`CREATE INDEX IF NOT EXISTS findings_namespace ON findings (obj_namespace, last_seen_ns)`,
	`CREATE INDEX IF NOT EXISTS findings_instance ON findings (vnf_instance, last_seen_ns)`,
	`CREATE INDEX IF NOT EXISTS findings_rule ON findings (rule, last_seen_ns)`,
}

// pgMergeIDs is mergeAuditIDs in SQL: the IDs of a then b, each kept at its last position, the last keep of them.
const pgMergeIDs = `CREATE OR REPLACE FUNCTION vnfguard_merge_ids(a text, b text, keep integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $fn$
	SELECT coalesce(string_agg(k.id, ',' ORDER BY k.pos), '') FROM (
		SELECT d.id, d.pos FROM (
			SELECT t.id, max(t.pos) AS pos
			FROM unnest(string_to_array(coalesce(a, '') || ',' || coalesce(b, ''), ',')) WITH ORDINALITY AS t(id, pos)
			WHERE t.id <> ''
			GROUP BY t.id
		) d ORDER BY d.pos DESC LIMIT keep
	) k
$fn$`

// addResolved (version 2) records when the condition behind a finding cleared; 0 while it holds. Reconciliation
// findings resolve themselves; an occurrence recorded after the resolution opens the finding again.
var addResolved = []string{
	`ALTER TABLE findings ADD COLUMN resolved_ns BIGINT NOT NULL DEFAULT 0`,
	`CREATE INDEX IF NOT EXISTS findings_source_resolved ON findings (source, resolved_ns)`,
}

// addCluster (version 3) records which cluster a finding comes from (config clusterName), so that several
// clusters' vnfguards can share one PostgreSQL. Rows written before it belong to the unnamed cluster ”.
var addCluster = []string{
	`ALTER TABLE findings ADD COLUMN cluster TEXT NOT NULL DEFAULT ''`,
	`CREATE INDEX IF NOT EXISTS findings_cluster ON findings (cluster, last_seen_ns)`,
}

// addAuditIDKeys (version 4) remembers which audit events each finding has already counted, one row per (finding,
// audit ID), so that an event processed twice — an audit intake that crashed after recording its findings and
// before marking the event done, then another replica that processed it again — does not count twice. The
// audit_ids column cannot tell: it keeps only the latest MaxAuditIDs, and a busy finding pushes a replayed ID out
// of it within seconds.
var addAuditIDKeys = []string{
	`CREATE TABLE IF NOT EXISTS finding_audit_ids (
	id          TEXT NOT NULL,
	audit_id    TEXT NOT NULL,
	recorded_ns BIGINT NOT NULL,
	PRIMARY KEY (id, audit_id)
)`,
	`CREATE INDEX IF NOT EXISTS finding_audit_ids_recorded ON finding_audit_ids (recorded_ns)`,
}

var migrations = []migration{
	{
		version:  1,
		sqlite:   append([]string{createFindings}, createIndexes...),
		postgres: append([]string{createFindings, pgMergeIDs}, createIndexes...),
	},
	{version: 2, sqlite: addResolved, postgres: addResolved},
	{version: 3, sqlite: addCluster, postgres: addCluster},
	{version: 4, sqlite: addAuditIDKeys, postgres: addAuditIDKeys},
}

const createMigrations = `CREATE TABLE IF NOT EXISTS vnfguard_schema_migrations (
	version    INTEGER PRIMARY KEY,
	applied_ns BIGINT NOT NULL
)`

const (
	selectVersions  = `SELECT version FROM vnfguard_schema_migrations`
	insertVersion   = `INSERT INTO vnfguard_schema_migrations (version, applied_ns) VALUES (?, ?)`
	latestVersion   = 4
	columnCount     = 24 // in findingsColumns
	findingsColumns = `id, time_ns, source, rule, technique, mitigations, severity, action, message, vnf_instance,
	vnf_product, identity, obj_api_version, obj_kind, obj_namespace, obj_name, obj_subresource, evidence, audit_ids,
	first_seen_ns, last_seen_ns, count, resolved_ns, cluster`
)

// descriptiveColumns take the values of the latest occurrence.
var descriptiveColumns = []string{"time_ns", "source", "rule", "technique", "mitigations", "action", "message",
	"vnf_instance", "vnf_product", "identity", "obj_api_version", "obj_kind", "obj_namespace", "obj_name",
	"obj_subresource", "evidence", "resolved_ns", "cluster"}

// upsertSQL builds the one statement that decides aggregation under the row's lock, for rows findings at once. The
// window and the bound are integers of ours, formatted into the text so that each placeholder is bound once.
//
// Several rows per statement are for SQLite: its driver parses the statement again at every execution, and parsing
// this one costs more than running it. SQLite applies the rows in order, so that repeats of one ID within a statement
// aggregate. PostgreSQL refuses to touch a row twice in one statement: it gets one row per statement (parsed once by
// pgx's statement cache).
func upsertSQL(window time.Duration, maxAuditIDs, rows int) string {
	w := strconv.FormatInt(window.Nanoseconds(), 10)
	keep := strconv.Itoa(maxAuditIDs)
	newer := `excluded.last_seen_ns >= findings.last_seen_ns`
	within := `(excluded.last_seen_ns >= findings.first_seen_ns - ` + w + ` AND excluded.first_seen_ns <= findings.last_seen_ns + ` + w + `)`
	var b strings.Builder
	b.WriteString(`INSERT INTO findings (` + findingsColumns + `) VALUES `)
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", columnCount), ", ") + ")"
	for i := range max(rows, 1) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	b.WriteString(` ON CONFLICT (id) DO UPDATE SET `)
	for _, c := range descriptiveColumns {
		fmt.Fprintf(&b, "%s = CASE WHEN %s THEN excluded.%s ELSE findings.%s END, ", c, newer, c, c)
	}
	fmt.Fprintf(&b, `severity = CASE WHEN %[1]s THEN (CASE WHEN excluded.severity > findings.severity THEN excluded.severity ELSE findings.severity END) WHEN %[2]s THEN excluded.severity ELSE findings.severity END, `, within, newer)
	fmt.Fprintf(&b, `count = CASE WHEN %[1]s THEN findings.count + excluded.count WHEN %[2]s THEN excluded.count ELSE findings.count END, `, within, newer)
	fmt.Fprintf(&b, `first_seen_ns = CASE WHEN %[1]s THEN (CASE WHEN excluded.first_seen_ns < findings.first_seen_ns THEN excluded.first_seen_ns ELSE findings.first_seen_ns END) WHEN %[2]s THEN excluded.first_seen_ns ELSE findings.first_seen_ns END, `, within, newer)
	fmt.Fprintf(&b, `last_seen_ns = CASE WHEN %[1]s THEN excluded.last_seen_ns ELSE findings.last_seen_ns END, `, newer)
	fmt.Fprintf(&b, `audit_ids = CASE WHEN %[1]s THEN (CASE WHEN %[2]s THEN vnfguard_merge_ids(findings.audit_ids, excluded.audit_ids, %[3]s) ELSE vnfguard_merge_ids(excluded.audit_ids, findings.audit_ids, %[3]s) END) WHEN %[2]s THEN excluded.audit_ids ELSE findings.audit_ids END`, within, newer, keep)
	return b.String()
}

// listSQL builds the query for a filter, with its arguments.
func listSQL(f Filter) (string, []any) {
	where, args := whereSQL(f)
	q := `SELECT ` + findingsColumns + ` FROM findings` + where + ` ORDER BY last_seen_ns DESC, id`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, int64(f.Limit))
	}
	return q, args
}

// whereSQL is the WHERE clause of a filter ("" when it selects everything), with its arguments.
func whereSQL(f Filter) (string, []any) {
	var where []string
	var args []any
	add := func(cond string, arg any) {
		where = append(where, cond)
		args = append(args, arg)
	}
	if f.Cluster != "" {
		add("cluster = ?", f.Cluster)
	}
	if f.Technique != "" {
		add("technique = ?", f.Technique)
	}
	if f.MinSeverity > finding.Info {
		add("severity >= ?", int64(f.MinSeverity))
	}
	if f.Namespace != "" {
		add("obj_namespace = ?", f.Namespace)
	}
	if f.VNFInstance != "" {
		add("vnf_instance = ?", f.VNFInstance)
	}
	if f.Rule != "" {
		add("rule = ?", f.Rule)
	}
	if f.Source != "" {
		add("source = ?", f.Source)
	}
	switch f.Status {
	case StatusOpen:
		where = append(where, "resolved_ns = 0")
	case StatusResolved:
		where = append(where, "resolved_ns <> 0")
	}
	if !f.Since.IsZero() {
		add("last_seen_ns >= ?", f.Since.UnixNano())
	}
	if !f.Until.IsZero() {
		add("last_seen_ns < ?", f.Until.UnixNano())
	}
	if len(where) == 0 {
		return "", nil
	}
	return ` WHERE ` + strings.Join(where, " AND "), args
}

const (
	getSQL   = `SELECT ` + findingsColumns + ` FROM findings WHERE id = ?`
	pruneSQL = `DELETE FROM findings WHERE last_seen_ns < ?`
	// insertAuditIDSQL claims an audit event for a finding; no row inserted means the finding has counted it.
	insertAuditIDSQL = `INSERT INTO finding_audit_ids (id, audit_id, recorded_ns) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`
	pruneAuditIDsSQL = `DELETE FROM finding_audit_ids WHERE recorded_ns < ?`
)

// Indexes into a row of rowArgs.
const (
	argID       = 0
	argAuditIDs = 18
)

// rowAuditIDs are the audit IDs of an upsert row (the occurrence's, merged and bounded).
func rowAuditIDs(row []any) []string {
	ids, _ := row[argAuditIDs].(string)
	if ids == "" {
		return nil
	}
	return strings.Split(ids, ",")
}

// filterReplays keeps the rows that count: those without audit IDs (admission, reconciliation) and those with at
// least one audit ID their finding has not counted yet. claim inserts one (finding, audit ID) key and says whether
// it was new; the caller runs it in the transaction of the upsert, so that the keys and the counts commit together.
// Rows are claimed in order, so that a repeat within one batch is dropped too.
func filterReplays(rows [][]any, claim func(id, auditID string) (bool, error)) ([][]any, error) {
	kept := rows[:0:0]
	for _, row := range rows {
		ids := rowAuditIDs(row)
		fresh := len(ids) == 0
		for _, auditID := range ids {
			isNew, err := claim(row[argID].(string), auditID)
			if err != nil {
				return nil, fmt.Errorf("remember audit ID %s of finding %v: %w", auditID, row[argID], err)
			}
			fresh = fresh || isNew
		}
		if fresh {
			kept = append(kept, row)
		}
	}
	return kept, nil
}

// resolveSQL marks up to n open findings resolved; the first argument is the time, the rest the IDs.
func resolveSQL(n int) string {
	return `UPDATE findings SET resolved_ns = ? WHERE resolved_ns = 0 AND id IN (` +
		strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + `)`
}

// resolveArgs are resolveSQL's arguments. A resolution time of zero would read as "open": it becomes 1 ns.
func resolveArgs(ids []string, at time.Time) []any {
	ns := max(at.UnixNano(), 1)
	args := make([]any, 0, len(ids)+1)
	args = append(args, ns)
	for _, id := range ids {
		args = append(args, id)
	}
	return args
}

// rebind turns `?` placeholders into PostgreSQL's $1, $2, ... (no statement of ours has a `?` in a literal).
func rebind(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// rowArgs turns a finding into the upsert's arguments, filling in what a fresh finding leaves empty.
func rowArgs(f *finding.Finding, now func() time.Time, maxAuditIDs int) ([]any, error) {
	id := f.ID
	if id == "" {
		id = finding.Key(f.Rule, f.Object, f.VNFInstance)
	}
	at := f.Time
	if at.IsZero() {
		at = now()
	}
	first, last := f.FirstSeen, f.LastSeen
	if first.IsZero() {
		first = at
	}
	if last.IsZero() {
		last = at
	}
	if last.Before(first) {
		first, last = last, first
	}
	count := max(f.Count, 1)
	evidence := ""
	var ids string
	if len(f.Evidence) > 0 {
		rest := maps.Clone(f.Evidence)
		ids = mergeAuditIDs(rest[EvidenceAuditIDs], rest[EvidenceAuditID], maxAuditIDs)
		delete(rest, EvidenceAuditID)
		delete(rest, EvidenceAuditIDs)
		if len(rest) > 0 {
			b, err := json.Marshal(rest)
			if err != nil {
				return nil, fmt.Errorf("encode evidence of finding %s (rule %s): %w", id, f.Rule, err)
			}
			evidence = string(b)
		}
	}
	return []any{id, at.UnixNano(), f.Source, f.Rule, f.Technique, strings.Join(f.Mitigations, ","),
		int64(f.Severity), f.Action, f.Message, f.VNFInstance, f.VNFProduct, f.Identity, f.Object.APIVersion,
		f.Object.Kind, f.Object.Namespace, f.Object.Name, f.Object.Subresource, evidence, ids, first.UnixNano(),
		last.UnixNano(), int64(count), resolvedNS(f.Resolved), f.Cluster}, nil
}

func resolvedNS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return max(t.UnixNano(), 1)
}

// scanner is what *sql.Row(s) and pgx.Row(s) have in common.
type scanner interface {
	Scan(dest ...any) error
}

// scanFinding reads one row in findingsColumns order.
func scanFinding(s scanner) (finding.Finding, error) {
	var (
		f                                    finding.Finding
		atNS, severity, firstNS, lastNS, cnt int64
		resolved                             int64
		mitigations, evidence, ids           string
	)
	if err := s.Scan(&f.ID, &atNS, &f.Source, &f.Rule, &f.Technique, &mitigations, &severity, &f.Action,
		&f.Message, &f.VNFInstance, &f.VNFProduct, &f.Identity, &f.Object.APIVersion, &f.Object.Kind,
		&f.Object.Namespace, &f.Object.Name, &f.Object.Subresource, &evidence, &ids, &firstNS, &lastNS,
		&cnt, &resolved, &f.Cluster); err != nil {
		return finding.Finding{}, err
	}
	f.Time = time.Unix(0, atNS).UTC()
	f.FirstSeen = time.Unix(0, firstNS).UTC()
	f.LastSeen = time.Unix(0, lastNS).UTC()
	f.Count = int(cnt)
	if resolved != 0 {
		f.Resolved = time.Unix(0, resolved).UTC()
	}
	f.Severity = finding.Severity(severity)
	if mitigations != "" {
		f.Mitigations = strings.Split(mitigations, ",")
	}
	if evidence != "" {
		if err := json.Unmarshal([]byte(evidence), &f.Evidence); err != nil {
			return finding.Finding{}, fmt.Errorf("decode evidence of finding %s: %w", f.ID, err)
		}
	}
	if ids != "" {
		if f.Evidence == nil {
			f.Evidence = map[string]string{}
		}
		f.Evidence[EvidenceAuditIDs] = ids
	}
	return f, nil
}

// mergeAuditIDs joins two comma-separated lists of audit IDs, a's first: each ID once, at its last position, and only
// the last keep of them. The PostgreSQL function vnfguard_merge_ids computes the same.
func mergeAuditIDs(a, b string, keep int) string {
	all := strings.Split(a+","+b, ",")
	last := make(map[string]int, len(all))
	for i, id := range all {
		if id = strings.TrimSpace(id); id != "" {
			last[id] = i
		}
	}
	out := make([]string, 0, len(last))
	for i, id := range all {
		if id = strings.TrimSpace(id); id != "" && last[id] == i {
			out = append(out, id)
		}
	}
	if len(out) > keep {
		out = out[len(out)-keep:]
	}
	return strings.Join(out, ",")
}

// rowIterator is what database/sql's and pgx's row sets have in common.
type rowIterator interface {
	Next() bool
	Err() error
	Scan(dest ...any) error
}

// collectFindings scans every row of a List query.
func collectFindings(rows rowIterator, store string) ([]finding.Finding, error) {
	var out []finding.Finding
	for rows.Next() {
		f, err := scanFinding(rows)
		if err != nil {
			return nil, fmt.Errorf("findings store %s: list: %w", store, err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("findings store %s: list: %w", store, err)
	}
	return out, nil
}

// batchArgs turns a batch into upsert arguments, one row per finding, for either backend.
func batchArgs(findings []finding.Finding, opts options, store string) ([][]any, error) {
	rows := make([][]any, len(findings))
	for i := range findings {
		args, err := rowArgs(&findings[i], opts.now, opts.maxAuditIDs)
		if err != nil {
			return nil, fmt.Errorf("findings store %s: record: %w", store, err)
		}
		rows[i] = args
	}
	return rows, nil
}
