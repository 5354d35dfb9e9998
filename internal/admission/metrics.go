package admission

import (
	"errors"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/vnfguard/vnfguard/internal/policy"
)

// The result label values of vnfguard_admission_decisions_total.
const (
	resultAllowed = "allowed"
	resultDenied  = "denied"
	resultWarned  = "warned"
	resultAudited = "audited"
	resultError   = "error"
)

// checkNone labels an allowed request with no violation at all.
const checkNone = "none"

type metrics struct {
	decisions    *prometheus.CounterVec
	duration     prometheus.Histogram
	reviewErrors *prometheus.CounterVec
	// allowedNone is decisions{check="none",result="allowed"}, the common case, looked up once.
	allowedNone prometheus.Counter
	// knownChecks bounds the check label: anything else (a handler that invents IDs) is counted as "other".
	knownChecks map[string]bool
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vnfguard_admission_decisions_total",
			Help: "Admission decisions by policy check and result (allowed, denied, warned, audited, error); check is \"none\" for an allowed request without violations.",
		}, []string{"check", "result"}),
		// Policy evaluation takes microseconds; the buckets resolve 25 µs to 1 s so that the p50 and p99 of a
		// healthy webhook fall in distinct buckets, and an API-server timeout (seconds) is still visible.
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "vnfguard_admission_duration_seconds",
			Help:    "Time from reading an AdmissionReview to writing the response, decode and policy included.",
			Buckets: []float64{25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 1},
		}),
		reviewErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vnfguard_admission_review_errors_total",
			Help: "AdmissionReview requests that could not be judged, by reason (json, api-version, kind, no-request, no-uid, object, too-large, method, content-type, read, handler, encode).",
		}, []string{"reason"}),
		knownChecks: map[string]bool{checkNone: true, "break-glass": true, "lookup": true, reasonHandler: true},
	}
	for _, id := range policy.CheckIDs() {
		m.knownChecks[id] = true
	}
	var err error
	if m.decisions, err = register(reg, m.decisions); err != nil {
		return nil, err
	}
	if m.duration, err = register(reg, m.duration); err != nil {
		return nil, err
	}
	if m.reviewErrors, err = register(reg, m.reviewErrors); err != nil {
		return nil, err
	}
	m.allowedNone = m.decisions.WithLabelValues(checkNone, resultAllowed)
	return m, nil
}

// register registers c, or returns the collector already registered under the same name (a second server in the
// same process shares the counters instead of failing).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}

// newRegistry is the registry a server uses when it is given none: its own metrics plus the Go runtime and
// process collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// observe counts a decision: once per (check, result) pair it contains.
func (m *metrics) observe(d *policy.Decision) {
	if d.Quiet() {
		m.allowedNone.Inc()
		return
	}
	var seen [8]struct{ check, result string }
	n := 0
	count := func(check, result string) {
		if !m.knownChecks[check] {
			check = "other"
		}
		for i := 0; i < n && i < len(seen); i++ {
			if seen[i].check == check && seen[i].result == result {
				return
			}
		}
		if n < len(seen) {
			seen[n] = struct{ check, result string }{check, result}
		}
		n++
		m.decisions.WithLabelValues(check, result).Inc()
	}
	for _, v := range d.Denials {
		count(v.Check, resultDenied)
	}
	for _, v := range d.Warnings {
		count(v.Check, resultWarned)
	}
	for _, v := range d.Audits {
		count(v.Check, resultAudited)
	}
	for _, err := range d.Errors {
		count(checkOfError(err), resultError)
	}
	for _, v := range d.Overrides {
		count(v.Check, resultAllowed)
	}
	if d.BreakGlass != "" {
		count("break-glass", resultAllowed)
	}
	if n == 0 {
		if d.Allowed {
			count(checkNone, resultAllowed)
		} else {
			// Denied without a violation or an error: a handler's own refusal.
			count(reasonHandler, resultDenied)
		}
	}
}

// checkOfError finds the check an evaluator error came from: the evaluator prefixes errors with "<check>: ".
func checkOfError(err error) string {
	if id, _, ok := strings.Cut(err.Error(), ":"); ok {
		return id
	}
	return "other"
}
