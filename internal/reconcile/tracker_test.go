package reconcile

import (
	"slices"
	"testing"
	"time"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// TestTracker drives a tracker through passes: a zombie pod of a STOPPED instance that terminates within For
// (never reported), a rogue pod that stays (reported after For), goes (resolved) and comes back (reopened).
func TestTracker(t *testing.T) {
	stopped := instance("smf-1", "SMF", ns, "STOPPED")
	snap := vnf.NewSnapshot("test", "v", t0, []*vnf.Instance{stopped})
	zombie := object(KindPod, ns, "smf-0", label("smf-1"))
	rogue := object(KindPod, ns, "peirates")
	eval := func(at time.Duration, objs ...Object) ([]finding.Finding, time.Time) {
		now := t0.Add(at)
		return Evaluate(snap, nil, NewState([]string{ns}, objs), DefaultOptions(), now), now
	}
	tr := NewTracker(30*time.Second, nil)
	type pass struct {
		at               time.Duration
		objects          []Object
		opened, resolved []string
		open             int
		due              time.Duration // expected NextDue - t0; 0: none pending
	}
	for i, p := range []pass{
		{at: 0, objects: []Object{zombie, rogue}, due: 30 * time.Second},
		// The STOP's pod terminates within For: never a finding.
		{at: 10 * time.Second, objects: []Object{rogue}, due: 30 * time.Second},
		{at: 30 * time.Second, objects: []Object{rogue}, opened: []string{"reconcile-rogue high Pod vnf/peirates"}, open: 1},
		{at: 45 * time.Second, objects: []Object{rogue}, open: 1},
		{at: 50 * time.Second, resolved: []string{"reconcile-rogue high Pod vnf/peirates"}},
		// It comes back: held again from scratch, then reopened.
		{at: 60 * time.Second, objects: []Object{rogue}, due: 90 * time.Second},
		{at: 89 * time.Second, objects: []Object{rogue}, due: 90 * time.Second},
		{at: 90 * time.Second, objects: []Object{rogue}, opened: []string{"reconcile-rogue high Pod vnf/peirates"}, open: 1},
	} {
		current, now := eval(p.at, p.objects...)
		opened, resolved := tr.Update(current, now)
		if !slices.Equal(summary(opened), p.opened) || !slices.Equal(summary(resolved), p.resolved) {
			t.Fatalf("pass %d at %v: opened %v resolved %v; want %v and %v", i, p.at, summary(opened), summary(resolved), p.opened, p.resolved)
		}
		if len(tr.Open()) != p.open {
			t.Errorf("pass %d: %d open, want %d", i, len(tr.Open()), p.open)
		}
		due, ok := tr.NextDue()
		if ok != (p.due != 0) || (ok && !due.Equal(t0.Add(p.due))) {
			t.Errorf("pass %d: NextDue %v %v, want t0+%v", i, due, ok, p.due)
		}
		for _, f := range opened {
			if f.Action != ActionReported || !f.Time.Equal(now) || f.Evidence["conditionSince"] == "" {
				t.Errorf("opened %s: action %q time %v evidence %v", f.Object, f.Action, f.Time, f.Evidence)
			}
		}
		for _, f := range resolved {
			if f.Action != ActionResolved || !f.Time.Equal(now) || !f.Resolved.Equal(now) || f.Evidence["resolvedBecause"] == "" {
				t.Errorf("resolved %s: action %q time %v evidence %v", f.Object, f.Action, f.Time, f.Evidence)
			}
		}
	}
}

// TestTrackerRestart gives a tracker the findings open before a restart: the one whose condition cleared while
// vnfguard was down resolves at the first pass, the one that still holds is not reported again.
func TestTrackerRestart(t *testing.T) {
	snap := vnf.NewSnapshot("test", "v", t0, nil)
	before := Evaluate(snap, nil, NewState([]string{ns}, []Object{object(KindPod, ns, "a"), object(KindPod, ns, "b")}), DefaultOptions(), t0)
	if len(before) != 2 {
		t.Fatalf("want two rogue pods, got %v", summary(before))
	}
	other := finding.Finding{ID: "x", Source: "audit", Rule: "exec-into-stopped"}
	tr := NewTracker(30*time.Second, append(before, other))
	now := t0.Add(time.Hour)
	current := Evaluate(snap, nil, NewState([]string{ns}, []Object{object(KindPod, ns, "b")}), DefaultOptions(), now)
	opened, resolved := tr.Update(current, now)
	if len(opened) != 0 {
		t.Errorf("a condition open before the restart must not be reported again: %v", summary(opened))
	}
	if want := []string{"reconcile-rogue high Pod vnf/a"}; !slices.Equal(summary(resolved), want) {
		t.Errorf("resolved %v, want %v (and never the audit finding)", summary(resolved), want)
	}
	if open := tr.Open(); len(open) != 1 || open[0].Object.Name != "b" {
		t.Errorf("open after the first pass: %v", summary(open))
	}
}

// TestTrackerNoHold: with For 0 a condition opens at the pass that sees it (vnfguard reconcile --once, tests).
func TestTrackerNoHold(t *testing.T) {
	snap := vnf.NewSnapshot("test", "v", t0, nil)
	current := Evaluate(snap, nil, NewState([]string{ns}, []Object{object(KindPod, ns, "a")}), DefaultOptions(), t0)
	tr := NewTracker(0, nil)
	if opened, _ := tr.Update(current, t0); len(opened) != 1 {
		t.Fatalf("opened %v, want the rogue pod at once", summary(opened))
	}
	if _, ok := tr.NextDue(); ok {
		t.Error("nothing is pending with For 0")
	}
}
