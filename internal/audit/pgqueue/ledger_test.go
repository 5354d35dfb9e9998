package pgqueue

import (
	"testing"
	"time"
)

// TestLedgerIsSharedByReplicas: replica A admits a kubectl exec, replica B receives the node's report of its
// process; B finds A's record, uses it up (with the audit event replica C records for the same exec), and a
// command sent through the kubelet a few seconds later finds nothing.
func TestLedgerIsSharedByReplicas(t *testing.T) {
	dsn := testDSN(t)
	a := open(t, dsn, Options{Cluster: "lab"}).Ledger()
	b := open(t, dsn, Options{Cluster: "lab"}).Ledger()
	c := open(t, dsn, Options{Cluster: "lab"}).Ledger()
	other := open(t, dsn, Options{Cluster: "elsewhere"}).Ledger()
	t0 := time.Now().Truncate(time.Millisecond)

	a.Record("5gc", "upf-0", "upf", "admission request u1", t0)
	if via := other.Find("5gc", "upf-0", "upf", t0.Add(200*time.Millisecond), 2*time.Second); via != "" {
		t.Errorf("another cluster's ledger matched: %q", via)
	}
	if via := b.Find("5gc", "upf-0", "upf", t0.Add(200*time.Millisecond), 2*time.Second); via != "admission request u1" {
		t.Fatalf("replica B did not find replica A's record: %q", via)
	}
	c.Record("5gc", "upf-0", "upf", "audit event a1", t0.Add(time.Second)) // the same exec's audit event, late
	if via := a.Find("5gc", "upf-0", "upf", t0.Add(4*time.Second), 2*time.Second); via != "" {
		t.Errorf("a second exec was matched with the first one's records: %q", via)
	}
	if via := b.Find("5gc", "upf-0", "sidecar", t0.Add(300*time.Millisecond), 2*time.Second); via != "" {
		t.Errorf("an exec into another container matched: %q", via)
	}
	c.Record("5gc", "upf-0", "", "audit event a2", t0.Add(time.Minute+time.Second))
	if via := a.Find("5gc", "upf-0", "upf", t0.Add(time.Minute), 2*time.Second); via != "audit event a2" {
		t.Errorf("a request naming no container, audited just after the exec: %q", via)
	}
}
