package intake

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vnfguard/vnfguard/internal/audit"
	"github.com/vnfguard/vnfguard/internal/finding"
)

// TestIntakeMetrics: depth counts the waiting events and falls to 0, processed counts the evaluated ones, a batch
// sent again is counted as dropped duplicates, and lag shows how old the event in progress is.
func TestIntakeMetrics(t *testing.T) {
	open := diskBackend(t)
	b, _ := open()
	hold := make(chan struct{})
	inProgress := make(chan struct{}, 1)
	in := newIntake(t, b, writerFunc(func(p []byte) (int, error) { return len(p), nil }), func(context.Context, []finding.Finding) {
		select {
		case inProgress <- struct{}{}:
		default:
		}
		<-hold
	})
	reg := prometheus.NewPedanticRegistry()
	if err := in.RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	events := anonymousLists("m", 4)
	old := time.Now().Add(-90 * time.Second)
	for i := range events {
		events[i].StageTimestamp = metav1.NewMicroTime(old)
	}
	if err := b.Append(events); err != nil {
		t.Fatal(err)
	}
	if err := b.Append(events[:2]); err != nil { // the API server sends part of it again
		t.Fatal(err)
	}
	if got := metric(t, reg, "vnfguard_audit_queue_depth", ""); got != 6 {
		t.Errorf("depth before consuming = %v, want 6", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	<-inProgress
	if lag := in.Lag(time.Now()); lag < 89*time.Second || lag > 120*time.Second {
		t.Errorf("lag while processing an event stamped 90 s ago = %s", lag)
	}
	close(hold)
	waitFor(t, "the queue to drain", func() bool { n, _ := b.Depth(); return n == 0 })
	waitFor(t, "all processed", func() bool { return in.Processed() == 4 })
	time.Sleep(lagHold + 100*time.Millisecond)
	if lag := in.Lag(time.Now()); lag != 0 {
		t.Errorf("lag of an idle consumer = %s, want 0", lag)
	}
	for _, c := range []struct {
		name, label string
		want        float64
	}{
		{"vnfguard_audit_events_processed_total", "", 4},
		{"vnfguard_audit_events_dropped_total", "duplicate", 2},
		{"vnfguard_audit_events_dropped_total", "unreadable", 0},
		{"vnfguard_audit_batches_refused_total", "queue_full", 0},
		{"vnfguard_audit_queue_depth", "", 0},
		{"vnfguard_audit_lag_seconds", "", 0},
	} {
		if got := metric(t, reg, c.name, c.label); got != c.want {
			t.Errorf("%s{%s} = %v, want %v", c.name, c.label, got, c.want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
	in.Close()
}

// metric reads one sample from the registry (label: the value of its only label, "" for none).
func metric(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label != "" && (len(m.GetLabel()) != 1 || m.GetLabel()[0].GetValue() != label) {
				continue
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s{%s} not registered", name, label)
	return 0
}

// TestCacheWaitIsBounded: a consumer whose caches never sync starts after CacheWait, not never.
func TestCacheWaitIsBounded(t *testing.T) {
	open := diskBackend(t)
	b, _ := open()
	in, err := New(Options{Backend: b, Receiver: audit.ReceiverOptions{BearerTokens: []string{"t"}}, Engine: newEngine(t), Cluster: "test",
		Publish: func(context.Context, []finding.Finding) {}, Out: writerFunc(func(p []byte) (int, error) { return len(p), nil }), Logger: quiet,
		WaitForCaches: func(ctx context.Context) error { <-ctx.Done(); return errors.New("never synced") }, CacheWait: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Append(anonymousLists("w", 1)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = in.Run(ctx) }()
	waitFor(t, "the event processed after the bounded wait", func() bool { return in.Processed() == 1 })
	cancel()
	in.Close()
}
