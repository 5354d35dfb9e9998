package audit

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

// TestConsume: a retried batch is handed out once, an event fn fails on stays unacknowledged and comes first in
// the next Consume, also after a reopen.
func TestConsume(t *testing.T) {
	dir := t.TempDir()
	q := openQ(t, dir, QueueOptions{})
	d, err := OpenDedupe(filepath.Join(dir, "dedupe"), 0, quiet)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]auditv1.Event{batch("a", 2), batch("a", 2), batch("b", 2)} { // "a" sent twice
		if err := q.Append(b); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	boom := errors.New("sink down")
	run := func(q *Queue, d *Dedupe, failOn string, want int) error {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		return Consume(ctx, q, d, func(ev *auditv1.Event) error {
			if string(ev.AuditID) == failOn {
				return boom
			}
			got = append(got, string(ev.AuditID))
			if len(got) == want {
				cancel()
			}
			return nil
		})
	}
	if err := run(q, d, "b-0", -1); !errors.Is(err, boom) || !strings.Contains(err.Error(), "audit event b-0") {
		t.Fatalf("Consume: %v, want the sink's error naming b-0", err)
	}
	if err := run(q, d, "b-1", -1); !errors.Is(err, boom) {
		t.Fatalf("Consume: %v", err)
	}
	if strings.Join(got, ",") != "a-0,a-1,b-0" {
		t.Fatalf("handed out %v", got)
	}
	// A restart: b-1 was never acknowledged and comes again; nothing before it does.
	q.closeFiles()
	d.Close()
	q = openQ(t, dir, QueueOptions{})
	defer q.Close()
	d, err = OpenDedupe(filepath.Join(dir, "dedupe"), 0, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	done := make(chan error, 1)
	go func() { done <- run(q, d, "", 4) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Consume: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Consume did not hand out b-1 after the restart")
	}
	if strings.Join(got, ",") != "a-0,a-1,b-0,b-1" {
		t.Fatalf("handed out %v", got)
	}
}
