package audit

import (
	"context"
	"fmt"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

// Consume hands every queued event to fn once: it reads with Next, passes over events d has already seen (a batch
// the API server sent again, a record delivered again after a crash), calls fn, remembers the event in d, and only
// then acknowledges it, so that a crash at any point leads to a redelivery that d filters, never to a loss. It
// returns ctx.Err() when ctx is done, or fn's error wrapped with the audit ID; that event stays unacknowledged and
// comes again at the next Consume or after a restart.
func Consume(ctx context.Context, q *Queue, d *Dedupe, fn func(*auditv1.Event) error) error {
	for {
		// Next hands out queued records without looking at ctx: without this check a consumer told to stop would
		// go on through the whole backlog first (a shutdown held up for as long as the queue takes).
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := q.Next(ctx)
		if err != nil {
			return err
		}
		if d.Seen(&rec.Event) {
			d.duplicates.Add(1)
		} else {
			if err := fn(&rec.Event); err != nil {
				q.Rewind(rec)
				return fmt.Errorf("audit event %s (stage %s): %w", rec.Event.AuditID, rec.Event.Stage, err)
			}
			if err := d.Add(&rec.Event); err != nil {
				return err
			}
		}
		if err := q.Ack(rec); err != nil {
			return err
		}
	}
}
