package findingmetrics

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vnfguard/vnfguard/internal/finding"
)

func TestObserveCountsByLabels(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	exec := finding.Finding{Rule: "exec-dormant-vnf", Technique: "FGT1609.501", Severity: finding.Critical, Source: "audit", Cluster: "edge-1"}
	fake := finding.Finding{Rule: "host-takeover", Technique: "FGT5013", Severity: finding.High, Source: "admission", Cluster: "edge-1"}
	cleared := fake
	cleared.Resolved = time.Unix(1, 0)
	m.Observe([]finding.Finding{exec, exec, fake, cleared, {Rule: "x"}})

	want := `
# HELP vnfguard_findings_total Findings reported, by FiGHT technique, rule, severity, source (admission, audit, runtime, reconcile, watchdog) and cluster.
# TYPE vnfguard_findings_total counter
vnfguard_findings_total{cluster="",rule="x",severity="info",source="none",technique="none"} 1
vnfguard_findings_total{cluster="edge-1",rule="exec-dormant-vnf",severity="critical",source="audit",technique="FGT1609.501"} 2
vnfguard_findings_total{cluster="edge-1",rule="host-takeover",severity="high",source="admission",technique="FGT5013"} 1
# HELP vnfguard_findings_resolved_total Findings whose condition cleared (reconciliation, watchdog), by the same labels as vnfguard_findings_total.
# TYPE vnfguard_findings_resolved_total counter
vnfguard_findings_resolved_total{cluster="edge-1",rule="host-takeover",severity="high",source="admission",technique="FGT5013"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "vnfguard_findings_total", "vnfguard_findings_resolved_total"); err != nil {
		t.Error(err)
	}
}

func TestStoreWrite(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.StoreWrite("record", 3*time.Millisecond, nil)
	m.StoreWrite("record", time.Second, errors.New("connection refused"))
	m.StoreWrite("resolve", time.Millisecond, nil)
	for _, tc := range []struct {
		op, result string
		want       float64
	}{{"record", "ok", 1}, {"record", "error", 1}, {"resolve", "ok", 1}, {"resolve", "error", 0}} {
		if got := testutil.ToFloat64(m.storeWrites.WithLabelValues(tc.op, tc.result)); got != tc.want {
			t.Errorf("store writes %s/%s = %v, want %v", tc.op, tc.result, got, tc.want)
		}
	}
	if n := testutil.CollectAndCount(m.storeDuration); n != 1 {
		t.Errorf("duration histogram: %d series", n)
	}
}

// A process with a store exposes its error counter at 0 before any error; one without a store exposes none.
func TestHasStore(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(m.storeWrites); n != 0 {
		t.Fatalf("store writes before HasStore: %d series, want none", n)
	}
	m.HasStore()
	want := `
# HELP vnfguard_store_writes_total Writes of findings to the findings store, by operation (record, resolve) and result (ok, error).
# TYPE vnfguard_store_writes_total counter
vnfguard_store_writes_total{operation="record",result="error"} 0
vnfguard_store_writes_total{operation="record",result="ok"} 0
vnfguard_store_writes_total{operation="resolve",result="error"} 0
vnfguard_store_writes_total{operation="resolve",result="ok"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "vnfguard_store_writes_total"); err != nil {
		t.Error(err)
	}
}

// A second registration in the same registry is an error, not a panic; a nil Metrics ignores calls.
func TestRegistrationAndNil(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := New(reg); err != nil {
		t.Fatal(err)
	}
	if _, err := New(reg); err == nil {
		t.Error("registering twice must fail")
	}
	var m *Metrics
	m.HasStore()
	m.Observe([]finding.Finding{{Rule: "x"}})
	m.StoreWrite("record", time.Millisecond, nil)
}
