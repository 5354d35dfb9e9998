// Package findingmetrics counts what vnfguard reports, for Prometheus and the Grafana dashboard: findings by FiGHT
// technique, rule, severity, source and cluster, their resolutions, and how their publication to the store fared.
//
// Every finding passes one publisher (cmd/vnfguard's publish path) whatever produced it — admission, audit
// detection, runtime reports, reconciliation, the registration watchdog — so counting there counts each finding
// once. The labels are bounded: rules and techniques come from the rule packs and checks, severities and sources
// are fixed sets, the cluster is the configured name; instances, namespaces and pods are never labels (they are
// unbounded, and the console and the store answer per-instance questions).
package findingmetrics

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vnfguard/vnfguard/internal/finding"
)

// Metrics holds the counters. The zero value is not usable; a nil *Metrics ignores every call, so callers
// without a registry need no branches.
type Metrics struct {
	findings      *prometheus.CounterVec
	resolved      *prometheus.CounterVec
	storeWrites   *prometheus.CounterVec
	storeDuration prometheus.Histogram
}

// Label names of the findings counters.
var findingLabels = []string{"technique", "rule", "severity", "source", "cluster"}

// New registers the metrics with reg.
func New(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		findings: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vnfguard_findings_total",
			Help: "Findings reported, by FiGHT technique, rule, severity, source (admission, audit, runtime, reconcile, watchdog) and cluster."}, findingLabels),
		resolved: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vnfguard_findings_resolved_total",
			Help: "Findings whose condition cleared (reconciliation, watchdog), by the same labels as vnfguard_findings_total."}, findingLabels),
		storeWrites: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vnfguard_store_writes_total",
			Help: "Writes of findings to the findings store, by operation (record, resolve) and result (ok, error)."}, []string{"operation", "result"}),
		storeDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "vnfguard_store_write_duration_seconds",
			Help:    "Time one write of a batch of findings to the store took.",
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}}),
	}
	for _, c := range []prometheus.Collector{m.findings, m.resolved, m.storeWrites, m.storeDuration} {
		if err := reg.Register(c); err != nil {
			return nil, errors.Join(errors.New("findingmetrics: register"), err)
		}
	}
	return m, nil
}

// Observe counts a batch of published findings: occurrences, and resolutions (Resolved set) apart.
func (m *Metrics) Observe(fs []finding.Finding) {
	if m == nil {
		return
	}
	for i := range fs {
		f := &fs[i]
		vec := m.findings
		if !f.Resolved.IsZero() {
			vec = m.resolved
		}
		vec.WithLabelValues(orNone(f.Technique), orNone(f.Rule), f.Severity.String(), orNone(f.Source), f.Cluster).Inc()
	}
}

// HasStore makes every store operation and result exist at 0 from now on, for a process that writes to a store:
// an error rate is then 0 until the first error rather than no data, and the first error is an increase that
// rate() sees (a series born with its first increment hides it).
func (m *Metrics) HasStore() {
	if m == nil {
		return
	}
	for _, op := range []string{"record", "resolve"} {
		for _, result := range []string{"ok", "error"} {
			m.storeWrites.WithLabelValues(op, result)
		}
	}
}

// StoreWrite counts one write to the store of the given operation ("record", "resolve") that took d.
func (m *Metrics) StoreWrite(operation string, d time.Duration, err error) {
	if m == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.storeWrites.WithLabelValues(operation, result).Inc()
	m.storeDuration.Observe(d.Seconds())
}

// orNone keeps an empty label value visible in queries ("none" rather than a missing label).
func orNone(v string) string {
	if v == "" {
		return "none"
	}
	return v
}
