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

// Two kubectl execs a second apart into the same container are two processes: each is accounted for by its own
// records, whichever of them arrive first (the node e2e test's break-glass exec followed by a long session was
// called a bypass when any record within 3 s of a used one counted as used).
func TestAccessLedgerTellsCloseExecsApart(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	for _, order := range []string{"records then processes", "interleaved"} {
		t.Run(order, func(t *testing.T) {
			l := NewMemoryLedger()
			l.Record("5gc", "upf-0", "upf", "admission request u1 (pods/exec by oncall)", t0)
			if order == "records then processes" {
				l.Record("5gc", "upf-0", "upf", "admission request u2 (pods/exec by oncall)", t0.Add(time.Second))
			}
			if via := l.Find("5gc", "upf-0", "upf", t0.Add(200*time.Millisecond), 2*time.Second); via == "" {
				t.Fatal("the first exec found no record")
			}
			l.Record("5gc", "upf-0", "upf", "audit event a1 (pods/exec by oncall)", t0)
			if order == "interleaved" {
				l.Record("5gc", "upf-0", "upf", "admission request u2 (pods/exec by oncall)", t0.Add(time.Second))
			}
			l.Record("5gc", "upf-0", "upf", "audit event a1 (pods/exec by oncall)", t0) // its ResponseComplete
			if via := l.Find("5gc", "upf-0", "upf", t0.Add(1200*time.Millisecond), 2*time.Second); via != "admission request u2 (pods/exec by oncall)" {
				t.Fatalf("the second exec: %q, want its own admission request", via)
			}
			l.Record("5gc", "upf-0", "upf", "audit event a2 (pods/exec by oncall)", t0.Add(time.Second))
			// A third process with no request of its own stays unaccounted for.
			if via := l.Find("5gc", "upf-0", "upf", t0.Add(1500*time.Millisecond), 2*time.Second); via != "" {
				t.Errorf("a third exec was matched with the records of the first two: %q", via)
			}
		})
	}
}
