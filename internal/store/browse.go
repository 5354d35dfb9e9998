package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vnfguard/vnfguard/internal/finding"
)

// Browser answers the questions of a findings console over the whole store: pages of findings in any order, how
// many match, how they spread over time, and the values each filter can take. Both backends implement it; every
// answer is one indexed SQL query, so a console stays fast on a store of hundreds of thousands of findings.
type Browser interface {
	Browse(ctx context.Context, q Query) (Page, error)
	Histogram(ctx context.Context, f Filter, step time.Duration) ([]Bucket, error)
	Facets(ctx context.Context, f Filter) (Facets, error)
}

// Query is a Filter with an order and a window of the result.
type Query struct {
	Filter
	// Sort is one of SortKeys (default lastSeen); Ascending reverses the default descending order.
	Sort      string
	Ascending bool
	Offset    int
}

// SortKeys are the orders Browse knows, by the column each sorts on.
var SortKeys = map[string]string{
	"lastSeen": "last_seen_ns", "firstSeen": "first_seen_ns", "severity": "severity", "count": "count",
	"rule": "rule", "technique": "technique", "namespace": "obj_namespace", "instance": "vnf_instance", "cluster": "cluster",
}

// Page is one window of a Query's findings and how many findings the filter matches in all.
type Page struct {
	Findings []finding.Finding
	Total    int
}

// Bucket counts the findings last seen in [Start, Start+step) with one technique and severity.
type Bucket struct {
	Start     time.Time
	Technique string
	Severity  finding.Severity
	Count     int
}

// Facets are the distinct values of the filterable columns among the findings a filter selects.
type Facets struct {
	Clusters, Namespaces, Instances, Techniques, Rules, Sources []string
}

// maxPage bounds one page.
const maxPage = 500

// browseSQL builds the page query and the count query of q.
func browseSQL(q Query) (page string, pageArgs []any, count string, countArgs []any, err error) {
	col, ok := SortKeys[q.Sort]
	if q.Sort == "" {
		col, ok = "last_seen_ns", true
	}
	if !ok {
		return "", nil, "", nil, fmt.Errorf("unknown sort key %q: want one of %s", q.Sort, strings.Join(sortKeyNames(), ", "))
	}
	if q.Offset < 0 || q.Limit < 0 {
		return "", nil, "", nil, fmt.Errorf("negative offset %d or limit %d", q.Offset, q.Limit)
	}
	limit := q.Limit
	if limit == 0 || limit > maxPage {
		limit = maxPage
	}
	dir := " DESC"
	if q.Ascending {
		dir = " ASC"
	}
	where, args := whereSQL(q.Filter)
	// id breaks ties, so that pages neither repeat nor skip a finding.
	page = `SELECT ` + findingsColumns + ` FROM findings` + where + ` ORDER BY ` + col + dir + `, id` + dir + ` LIMIT ? OFFSET ?`
	pageArgs = append(append([]any(nil), args...), int64(limit), int64(q.Offset))
	return page, pageArgs, `SELECT COUNT(*) FROM findings` + where, args, nil
}

func sortKeyNames() []string {
	out := make([]string, 0, len(SortKeys))
	for k := range SortKeys {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// histogramSQL groups the filter's findings by step-long bucket (from f.Since), technique and severity.
func histogramSQL(f Filter, step time.Duration) (string, []any, error) {
	if step <= 0 || f.Since.IsZero() {
		return "", nil, fmt.Errorf("a histogram needs a positive step (got %s) and a start (Filter.Since)", step)
	}
	where, args := whereSQL(f)
	q := `SELECT (last_seen_ns - ?) / ? AS bucket, technique, severity, COUNT(*) FROM findings` + where +
		` GROUP BY bucket, technique, severity ORDER BY bucket, technique, severity`
	return q, append([]any{f.Since.UnixNano(), int64(step)}, args...), nil
}

// facetColumns are the columns Facets lists, in Facets' field order.
var facetColumns = []string{"cluster", "obj_namespace", "vnf_instance", "technique", "rule", "source"}

func facetSQL(col string, f Filter) (string, []any) {
	where, args := whereSQL(f)
	cond := col + ` <> ''`
	if where == "" {
		where = ` WHERE ` + cond
	} else {
		where += ` AND ` + cond
	}
	return `SELECT DISTINCT ` + col + ` FROM findings` + where + ` ORDER BY ` + col + ` LIMIT 1000`, args
}

func (fc *Facets) set(i int, values []string) {
	switch i {
	case 0:
		fc.Clusters = values
	case 1:
		fc.Namespaces = values
	case 2:
		fc.Instances = values
	case 3:
		fc.Techniques = values
	case 4:
		fc.Rules = values
	case 5:
		fc.Sources = values
	}
}

// browse runs the shared queries over one backend's query function.
func browse(ctx context.Context, name string, q Query, query func(ctx context.Context, sql string, args ...any) (rowIterator, func(), error),
	queryInt func(ctx context.Context, sql string, args ...any) (int64, error)) (Page, error) {
	page, pageArgs, count, countArgs, err := browseSQL(q)
	if err != nil {
		return Page{}, fmt.Errorf("findings store %s: browse: %w", name, err)
	}
	rows, done, err := query(ctx, page, pageArgs...)
	if err != nil {
		return Page{}, fmt.Errorf("findings store %s: browse: %w", name, err)
	}
	fs, err := collectFindings(rows, name)
	done()
	if err != nil {
		return Page{}, err
	}
	total, err := queryInt(ctx, count, countArgs...)
	if err != nil {
		return Page{}, fmt.Errorf("findings store %s: count: %w", name, err)
	}
	return Page{Findings: fs, Total: int(total)}, nil
}

func histogram(ctx context.Context, name string, f Filter, step time.Duration, query func(ctx context.Context, sql string, args ...any) (rowIterator, func(), error)) ([]Bucket, error) {
	q, args, err := histogramSQL(f, step)
	if err != nil {
		return nil, fmt.Errorf("findings store %s: histogram: %w", name, err)
	}
	rows, done, err := query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("findings store %s: histogram: %w", name, err)
	}
	defer done()
	var out []Bucket
	for rows.Next() {
		var b, sev, n int64
		var tech string
		if err := rows.Scan(&b, &tech, &sev, &n); err != nil {
			return nil, fmt.Errorf("findings store %s: histogram: %w", name, err)
		}
		out = append(out, Bucket{Start: f.Since.Add(time.Duration(b) * step), Technique: tech, Severity: finding.Severity(sev), Count: int(n)})
	}
	return out, rows.Err()
}

func facets(ctx context.Context, name string, f Filter, query func(ctx context.Context, sql string, args ...any) (rowIterator, func(), error)) (Facets, error) {
	var fc Facets
	for i, col := range facetColumns {
		q, args := facetSQL(col, f)
		rows, done, err := query(ctx, q, args...)
		if err != nil {
			return Facets{}, fmt.Errorf("findings store %s: facets: %w", name, err)
		}
		var values []string
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				done()
				return Facets{}, fmt.Errorf("findings store %s: facets: %w", name, err)
			}
			values = append(values, v)
		}
		err = rows.Err()
		done()
		if err != nil {
			return Facets{}, fmt.Errorf("findings store %s: facets: %w", name, err)
		}
		fc.set(i, values)
	}
	return fc, nil
}
