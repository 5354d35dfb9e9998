package policy

import (
	"context"
	"errors"
	"testing"
	"time"
)

type budgetKey struct{}

// TestBudgetContext: the lookups' context behaves as context.WithTimeout's, whether or not anything waited on Done
// before the deadline, the caller's cancellation or the end of the lookups.
func TestBudgetContext(t *testing.T) {
	parent := context.WithValue(context.Background(), budgetKey{}, "v")
	begin := func(parent context.Context, budget time.Duration) *budgetContext {
		c := &budgetContext{}
		c.begin(parent, budget)
		return c
	}

	t.Run("deadline, waited on", func(t *testing.T) {
		c := begin(parent, 20*time.Millisecond)
		defer c.stop()
		if c.Err() != nil {
			t.Fatalf("Err %v before the deadline", c.Err())
		}
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("Done not closed at the deadline")
		}
		if !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Fatalf("Err %v, want DeadlineExceeded", c.Err())
		}
		if !errors.Is(context.Cause(c), context.DeadlineExceeded) {
			t.Fatalf("Cause %v, want DeadlineExceeded", context.Cause(c))
		}
	})
	t.Run("deadline, never waited on", func(t *testing.T) {
		c := begin(parent, time.Millisecond)
		defer c.stop()
		time.Sleep(5 * time.Millisecond)
		if !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Fatalf("Err %v, want DeadlineExceeded", c.Err())
		}
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("Done not closed after the deadline")
		}
	})
	t.Run("caller cancels", func(t *testing.T) {
		p, cancel := context.WithCancel(parent)
		c := begin(p, time.Hour)
		defer c.stop()
		cancel()
		if !errors.Is(c.Err(), context.Canceled) {
			t.Fatalf("Err %v before Done, want Canceled", c.Err())
		}
		<-c.Done()
		if !errors.Is(c.Err(), context.Canceled) {
			t.Fatalf("Err %v after Done, want Canceled", c.Err())
		}
	})
	t.Run("a child context follows the budget", func(t *testing.T) {
		c := begin(parent, 10*time.Millisecond)
		defer c.stop()
		child, cancel := context.WithCancel(c)
		defer cancel()
		select {
		case <-child.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("child not cancelled at the budget's deadline")
		}
		if !errors.Is(child.Err(), context.DeadlineExceeded) {
			t.Fatalf("child Err %v, want DeadlineExceeded", child.Err())
		}
	})
	t.Run("stop", func(t *testing.T) {
		for _, waited := range []bool{false, true} {
			c := begin(parent, time.Hour)
			if waited {
				_ = c.Done()
			}
			c.stop()
			if !errors.Is(c.Err(), context.Canceled) {
				t.Fatalf("waited %v: Err %v after stop, want Canceled", waited, c.Err())
			}
			select {
			case <-c.Done():
			default:
				t.Fatalf("waited %v: Done open after stop", waited)
			}
		}
	})
	t.Run("deadline and values", func(t *testing.T) {
		c := begin(parent, time.Hour)
		defer c.stop()
		if d, ok := c.Deadline(); !ok || time.Until(d) < 59*time.Minute {
			t.Fatalf("Deadline %v %v, want an hour from now", d, ok)
		}
		early, cancel := context.WithTimeout(parent, time.Minute)
		defer cancel()
		c2 := begin(early, time.Hour)
		defer c2.stop()
		if d, _ := c2.Deadline(); time.Until(d) > 2*time.Minute {
			t.Fatalf("Deadline %v: the caller's earlier deadline must win", d)
		}
		if c.Value(budgetKey{}) != "v" {
			t.Fatal("caller's value lost before Done")
		}
		_ = c.Done()
		if c.Value(budgetKey{}) != "v" {
			t.Fatal("caller's value lost after Done")
		}
	})
}
