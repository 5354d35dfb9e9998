package detect

import (
	"testing"
	"time"
)

func TestAccessLedgerMatchesOneExecPerRequest(t *testing.T) {
	l := NewMemoryLedger()
	t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	// One kubectl exec: its admission request, then its audit event a second later.
	l.Record("5gc", "upf-0", "upf", "admission request u1", t0)
	if via := l.Find("5gc", "upf-0", "upf", t0.Add(300*time.Millisecond), 2*time.Second); via != "admission request u1" {
		t.Fatalf("the exec of the kubectl exec: %q", via)
	}
	l.Record("5gc", "upf-0", "upf", "audit event a1", t0.Add(time.Second))
	// A command through the kubelet 4 s later is not covered by that kubectl exec's records.
	if via := l.Find("5gc", "upf-0", "upf", t0.Add(4*time.Second), 2*time.Second); via != "" {
		t.Errorf("a second exec was matched with the first one's records: %q", via)
	}
	// Another container, another pod, long before: no match.
	l.Record("5gc", "upf-0", "sidecar", "admission request u2", t0.Add(10*time.Second))
	if via := l.Find("5gc", "upf-0", "upf", t0.Add(10*time.Second), 2*time.Second); via != "" {
		t.Errorf("an exec into another container matched: %q", via)
	}
	l.Record("5gc", "upf-0", "upf", "admission request u3", t0.Add(time.Minute))
	if via := l.Find("5gc", "upf-0", "upf", t0.Add(2*time.Minute), 2*time.Second); via != "" {
		t.Errorf("a request a minute before matched: %q", via)
	}
	// The audit event may arrive after the process started (within the grace).
	l.Record("5gc", "upf-0", "", "audit event a4", t0.Add(3*time.Minute+time.Second))
	if via := l.Find("5gc", "upf-0", "upf", t0.Add(3*time.Minute), 2*time.Second); via != "audit event a4" {
		t.Errorf("a request naming no container, audited just after the exec: %q", via)
	}
}
