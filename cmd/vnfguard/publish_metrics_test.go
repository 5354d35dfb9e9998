package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vnfguard/vnfguard/internal/finding"
)

// metricValue sums the samples of one metric family in reg whose labels include want.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
	samples:
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue samples
				}
			}
			switch {
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum
}

// The publisher every finding of serve passes counts it once, by its labels, and counts what the store and the
// alert sinks (a real HTTP receiver, a real UDP syslog socket) did with it.
func TestPublisherCounts(t *testing.T) {
	received := make(chan struct{}, 16)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
		received <- struct{}{}
	}))
	defer receiver.Close()
	syslogd, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer syslogd.Close()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	pub, err := newPublisher(context.Background(), outputFlags{storeDSN: filepath.Join(t.TempDir(), "findings.db"),
		webhookURL: receiver.URL, syslogURL: "udp://" + syslogd.LocalAddr().String()}, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.close()
	reg := prometheus.NewRegistry()
	if err := pub.instrument(reg); err != nil {
		t.Fatal(err)
	}
	if got := metricValue(t, reg, "vnfguard_store_writes_total", map[string]string{"result": "error"}); got != 0 {
		t.Fatalf("store errors before any write: %v", got)
	}
	if n, err := testutil.GatherAndCount(reg, "vnfguard_store_writes_total"); err != nil || n != 4 {
		t.Fatalf("store write series before any write: %d %v; want the 4 operations and results at 0", n, err)
	}

	denial := finding.Finding{Time: time.Now(), Source: "admission", Rule: "host-takeover", Technique: "FGT5013", Action: "denied",
		Severity: finding.Critical, Cluster: "edge-1", Object: finding.ObjectRef{Kind: "Pod", Namespace: "sandbox", Name: "peirates"}}
	dump := finding.Finding{Time: time.Now(), Source: "audit", Rule: "secret-dump", Technique: "FGT1609.501", Severity: finding.High,
		Cluster: "edge-1", Object: finding.ObjectRef{Kind: "Secret"}}
	pub.publish(context.Background(), []finding.Finding{denial, dump})
	second := denial
	second.Object.Name = "peirates-2"
	pub.publish(context.Background(), []finding.Finding{second})

	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"vnfguard_findings_total", map[string]string{"technique": "FGT5013", "rule": "host-takeover", "severity": "critical", "source": "admission", "cluster": "edge-1"}, 2},
		{"vnfguard_findings_total", map[string]string{"technique": "FGT1609.501", "severity": "high", "source": "audit"}, 1},
		{"vnfguard_findings_total", nil, 3},
		{"vnfguard_findings_resolved_total", nil, 0},
		{"vnfguard_store_writes_total", map[string]string{"operation": "record", "result": "ok"}, 2},
		{"vnfguard_store_writes_total", map[string]string{"result": "error"}, 0},
		{"vnfguard_store_write_duration_seconds", nil, 2},
		{"vnfguard_sink_syslog_messages_total", map[string]string{"result": "sent"}, 3},
		{"vnfguard_sink_syslog_messages_total", map[string]string{"result": "failed"}, 0},
	} {
		if got := metricValue(t, reg, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// The webhook delivers from its own goroutine: both batches reach the receiver, then they are counted sent.
	for range 2 {
		select {
		case <-received:
		case <-time.After(10 * time.Second):
			t.Fatal("the webhook receiver got fewer than 2 batches")
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for metricValue(t, reg, "vnfguard_sink_webhook_batches_total", map[string]string{"result": "sent"}) != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("webhook batches sent = %v, want 2", metricValue(t, reg, "vnfguard_sink_webhook_batches_total", map[string]string{"result": "sent"}))
		}
		time.Sleep(10 * time.Millisecond)
	}

	// A store that fails (closed under the publisher) is counted as an error, not as a write.
	_ = pub.store.Close()
	pub.publish(context.Background(), []finding.Finding{dump})
	if got := metricValue(t, reg, "vnfguard_store_writes_total", map[string]string{"operation": "record", "result": "error"}); got != 1 {
		t.Errorf("store errors after a write to a closed store: %v, want 1", got)
	}
	if got := metricValue(t, reg, "vnfguard_findings_total", nil); got != 4 {
		t.Errorf("findings after the fourth: %v", got)
	}
}
