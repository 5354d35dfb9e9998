package policy

import (
	"context"
	"sync"
	"time"
)

// budgetContext is the context of one request's lookups: the caller's context with a deadline LookupBudget away,
// as context.WithTimeout makes it, except that the timer behind Done starts only when something waits on Done.
// Nearly every lookup is answered from an informer's cache without looking at the context; a timer started and
// stopped for each request cost four allocations and about 6 % of an evaluation for nothing. A lookup that goes to
// the API server hands the context to client-go, which waits on Done: from then on it is a real deadline context.
type budgetContext struct {
	parent   context.Context
	deadline time.Time

	mu      sync.Mutex
	timed   context.Context // context.WithDeadline(parent, deadline), made by the first Done
	cancel  context.CancelFunc
	stopErr error // why the context ended, when stop ended it before anything waited on Done
}

// begin makes c the context ctx with a deadline budget away; c.stop ends it (as WithTimeout's cancel). c must be
// new: the evaluator keeps one in each request's Attributes, which spares an allocation.
func (c *budgetContext) begin(ctx context.Context, budget time.Duration) {
	c.parent, c.deadline = ctx, time.Now().Add(budget)
}

// Deadline is the earlier of the budget's and the caller's deadline, as context.WithDeadline reports it.
func (c *budgetContext) Deadline() (time.Time, bool) {
	if d, ok := c.parent.Deadline(); ok && d.Before(c.deadline) {
		return d, true
	}
	return c.deadline, true
}

// closedDone is the Done channel of a budget that ended before anything waited on it.
var closedDone = func() chan struct{} { ch := make(chan struct{}); close(ch); return ch }()

// Done starts the deadline's timer on first use and returns its channel; after stop, a closed channel.
func (c *budgetContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timed == nil {
		if c.stopErr != nil {
			return closedDone
		}
		c.timed, c.cancel = context.WithDeadline(c.parent, c.deadline)
	}
	return c.timed.Done()
}

// Err says what Done's channel would: the timer's error once it runs; before that, the caller's error, or
// DeadlineExceeded once the deadline has passed; after stop, why it ended.
func (c *budgetContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timed != nil {
		return c.timed.Err()
	}
	if c.stopErr != nil {
		return c.stopErr
	}
	return c.errNow()
}

func (c *budgetContext) errNow() error {
	if err := c.parent.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// Value is the caller's value; once the timer runs, the timer's context answers (it knows its own cancellation,
// which context.Cause and child contexts look up through Value).
func (c *budgetContext) Value(key any) any {
	c.mu.Lock()
	timed := c.timed
	c.mu.Unlock()
	if timed != nil {
		return timed.Value(key)
	}
	return c.parent.Value(key)
}

// stop ends the budget, as WithTimeout's cancel does: it stops the timer if one runs; otherwise it fixes the error
// the context reports from now on (Canceled, unless it had already ended).
func (c *budgetContext) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timed != nil {
		c.cancel()
		return
	}
	if c.stopErr == nil {
		if c.stopErr = c.errNow(); c.stopErr == nil {
			c.stopErr = context.Canceled
		}
	}
}
