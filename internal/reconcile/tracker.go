package reconcile

import (
	"maps"
	"time"

	"github.com/vnfguard/vnfguard/internal/finding"
)

// Tracker turns the conditions of successive passes into findings that open and resolve. A condition opens as a
// finding once it has held for For (measured from the first pass that saw it); an open finding resolves at the
// first pass that no longer sees it. A Tracker is not safe for concurrent use: one Reconciler drives it.
type Tracker struct {
	hold    time.Duration
	pending map[string]time.Time // condition ID → first seen, for conditions not open yet
	open    map[string]finding.Finding
}

// NewTracker returns a tracker holding conditions for hold before they open. open are the reconciliation
// findings that were open when vnfguard stopped (from the store): a condition that cleared meanwhile resolves at
// the first Update, one that still holds stays open without being reported again. Findings of other sources are
// ignored.
func NewTracker(hold time.Duration, open []finding.Finding) *Tracker {
	t := &Tracker{hold: hold, pending: map[string]time.Time{}, open: map[string]finding.Finding{}}
	for _, f := range open {
		if f.Source == Source && f.ID != "" {
			t.open[f.ID] = f
		}
	}
	return t
}

// Update takes the conditions of a pass (Evaluate's output at now) and returns the findings that opened (Action
// "reported", Time now, evidence "conditionSince" when held) and those that resolved (the open finding, with
// Action "resolved" and Time and Resolved now: the store marks it resolved), each sorted like Evaluate's output.
func (t *Tracker) Update(current []finding.Finding, now time.Time) (opened, resolved []finding.Finding) {
	seen := make(map[string]bool, len(current))
	for _, f := range current {
		seen[f.ID] = true
		if _, ok := t.open[f.ID]; ok {
			continue
		}
		since, ok := t.pending[f.ID]
		if !ok {
			since = now
			t.pending[f.ID] = now
		}
		if now.Sub(since) < t.hold {
			continue
		}
		delete(t.pending, f.ID)
		f.Time, f.Action = now, ActionReported
		if t.hold > 0 {
			f.Evidence = maps.Clone(f.Evidence)
			if f.Evidence == nil {
				f.Evidence = map[string]string{}
			}
			f.Evidence["conditionSince"] = since.UTC().Format(time.RFC3339)
		}
		t.open[f.ID] = f
		opened = append(opened, f)
	}
	for id := range t.pending {
		if !seen[id] {
			delete(t.pending, id) // cleared before it was held long enough: never reported
		}
	}
	for id, f := range t.open {
		if seen[id] {
			continue
		}
		delete(t.open, id)
		f.Time, f.Action, f.Resolved = now, ActionResolved, now
		f.Evidence = maps.Clone(f.Evidence)
		if f.Evidence == nil {
			f.Evidence = map[string]string{}
		}
		f.Evidence["resolvedBecause"] = "the condition no longer holds"
		resolved = append(resolved, f)
	}
	sortFindings(opened)
	sortFindings(resolved)
	return opened, resolved
}

// Open returns the open findings, sorted.
func (t *Tracker) Open() []finding.Finding {
	out := make([]finding.Finding, 0, len(t.open))
	for _, f := range t.open {
		out = append(out, f)
	}
	sortFindings(out)
	return out
}

// NextDue returns when the earliest pending condition will have been held long enough, so that a pass runs then
// even when nothing changes; ok is false when nothing is pending.
func (t *Tracker) NextDue() (due time.Time, ok bool) {
	for _, since := range t.pending {
		if at := since.Add(t.hold); !ok || at.Before(due) {
			due, ok = at, true
		}
	}
	return due, ok
}
