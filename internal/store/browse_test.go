package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vnfguard/vnfguard/internal/finding"
)

// testBrowse: pages neither repeat nor skip, every sort key orders, Total counts the filter's findings, the
// histogram puts each finding in its bucket, and the facets list the values present.
func testBrowse(t *testing.T, db opener) {
	s := db.open(t)
	b, ok := s.(Browser)
	if !ok {
		t.Fatalf("%T does not implement Browser", s)
	}
	ctx := context.Background()
	start := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	var fs []finding.Finding
	for i := range 25 {
		f := finding.Finding{ID: fmt.Sprintf("f%02d", i), Time: start.Add(time.Duration(i) * time.Minute), Source: "audit",
			Rule: []string{"exec-dormant-vnf", "host-takeover"}[i%2], Technique: []string{"FGT1609.501", "FGT5013"}[i%2],
			Severity: finding.Severity(i % 5), Cluster: []string{"edge-1", "core-1"}[i%2], VNFInstance: fmt.Sprintf("upf-%d", i%3),
			Message: "m", Object: finding.ObjectRef{Kind: "Pod", Namespace: fmt.Sprintf("ns-%d", i%4), Name: fmt.Sprintf("p%d", i)}}
		fs = append(fs, f)
	}
	record(t, s, fs...)

	seen := map[string]bool{}
	for off := 0; off < 30; off += 7 {
		p, err := b.Browse(ctx, Query{Offset: off, Filter: Filter{Limit: 7}})
		if err != nil {
			t.Fatal(err)
		}
		if p.Total != 25 {
			t.Errorf("total %d, want 25", p.Total)
		}
		for _, f := range p.Findings {
			if seen[f.ID] {
				t.Errorf("finding %s on two pages", f.ID)
			}
			seen[f.ID] = true
		}
	}
	if len(seen) != 25 {
		t.Errorf("pages held %d distinct findings, want 25", len(seen))
	}
	first, err := b.Browse(ctx, Query{Filter: Filter{Limit: 1}})
	if err != nil || len(first.Findings) != 1 || first.Findings[0].ID != "f24" {
		t.Errorf("default order: %v %v, want f24 (last seen) first", first.Findings, err)
	}
	for key := range SortKeys {
		for _, asc := range []bool{false, true} {
			p, err := b.Browse(ctx, Query{Sort: key, Ascending: asc, Filter: Filter{Limit: 25}})
			if err != nil || len(p.Findings) != 25 {
				t.Fatalf("sort %s asc=%v: %d findings, %v", key, asc, len(p.Findings), err)
			}
		}
	}
	sev, err := b.Browse(ctx, Query{Sort: "severity", Filter: Filter{Limit: 25}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(sev.Findings); i++ {
		if sev.Findings[i].Severity > sev.Findings[i-1].Severity {
			t.Fatalf("sort by severity, descending: %v after %v", sev.Findings[i].Severity, sev.Findings[i-1].Severity)
		}
	}
	filtered, err := b.Browse(ctx, Query{Filter: Filter{Cluster: "edge-1", MinSeverity: finding.High}})
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, f := range fs {
		if f.Cluster == "edge-1" && f.Severity >= finding.High {
			want++
		}
	}
	if filtered.Total != want || len(filtered.Findings) != want {
		t.Errorf("filtered: total %d, %d findings; want %d", filtered.Total, len(filtered.Findings), want)
	}
	for _, bad := range []Query{{Sort: "nope"}, {Offset: -1}} {
		if _, err := b.Browse(ctx, bad); err == nil {
			t.Errorf("query %+v: no error", bad)
		} else if bad.Sort != "" && !strings.Contains(err.Error(), "lastSeen") {
			t.Errorf("unknown sort key error %q does not list the known ones", err)
		}
	}

	buckets, err := b.Histogram(ctx, Filter{Since: start}, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, bk := range buckets {
		total += bk.Count
		if off := bk.Start.Sub(start); off%(10*time.Minute) != 0 || off < 0 || off > 20*time.Minute {
			t.Errorf("bucket start %s", bk.Start)
		}
	}
	if total != 25 {
		t.Errorf("histogram counts %d findings, want 25: %+v", total, buckets)
	}
	if _, err := b.Histogram(ctx, Filter{}, time.Minute); err == nil {
		t.Error("a histogram without a start must be refused")
	}

	fc, err := b.Facets(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(fc.Clusters, ",") != "core-1,edge-1" || len(fc.Namespaces) != 4 || len(fc.Instances) != 3 ||
		strings.Join(fc.Techniques, ",") != "FGT1609.501,FGT5013" || len(fc.Rules) != 2 || strings.Join(fc.Sources, ",") != "audit" {
		t.Errorf("facets %+v", fc)
	}
}
