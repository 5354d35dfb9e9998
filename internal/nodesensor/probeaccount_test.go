package nodesensor

import (
	"context"
	"testing"
	"time"

	"github.com/vnfguard/vnfguard/internal/runtimeevent"
)

func upfKeys() map[string]string {
	keys := map[string]string{}
	for _, typ := range probeTypes {
		keys[typ] = probeKey("vnf-upf", "upf-0", "upf", typ)
	}
	return keys
}

// TestLastProbeOfARemovedSeries: the kubelet removes a container's probe series when its pod goes, and the probe
// in flight then is never counted (CI: a heal's deleted VNFC's last probe was called an exec that bypassed the
// API server). A series seen before and gone accounts for one exec, once; a series never seen for none.
func TestLastProbeOfARemovedSeries(t *testing.T) {
	keys, now := upfKeys(), time.Now()
	readiness := keys["Readiness"]
	var a probeAccount
	a.start(map[string]uint64{readiness: 7}, now)
	if typ, _, ok := a.take(map[string]uint64{readiness: 7}, keys, now); ok {
		t.Fatalf("no run since the start, yet an exec was accounted for as %s", typ)
	}
	gone := map[string]uint64{} // the pod was deleted: the kubelet removed its series
	typ, last, ok := a.take(gone, keys, now.Add(time.Second))
	if !ok || typ != "Readiness" || !last {
		t.Fatalf("the exec of the removed series' last probe: %q last=%v ok=%v, want Readiness, last", typ, last, ok)
	}
	if typ, _, ok := a.take(gone, keys, now.Add(2*time.Second)); ok {
		t.Fatalf("a second exec after the series was removed was accounted for as %s: only one last probe runs", typ)
	}

	// The attack the rule is about: never seen, nothing accounts for it.
	var b probeAccount
	b.start(map[string]uint64{}, now)
	if typ, _, ok := b.take(map[string]uint64{}, keys, now); ok {
		t.Fatalf("a container whose series never existed had an exec accounted for as %s", typ)
	}
	// A failed read is no removal.
	var c probeAccount
	c.start(map[string]uint64{readiness: 3}, now)
	c.observe(nil, now)
	if typ, _, ok := c.take(nil, keys, now); ok {
		t.Fatalf("a failed read made a series look removed: accounted for as %s", typ)
	}
}

// TestRecreatedPodStartsItsSeriesAgain: a VNFC recreated under the same name starts its probe count from zero;
// its runs account for execs even though the old pod's runs had counted higher.
func TestRecreatedPodStartsItsSeriesAgain(t *testing.T) {
	keys, now := upfKeys(), time.Now()
	liveness := keys["Liveness"]
	var a probeAccount
	a.start(map[string]uint64{liveness: 40}, now)
	typ, last, ok := a.take(map[string]uint64{liveness: 1}, keys, now)
	if !ok || typ != "Liveness" || last {
		t.Fatalf("the new pod's first probe: %q last=%v ok=%v, want Liveness, counted", typ, last, ok)
	}
	if typ, _, ok := a.take(map[string]uint64{liveness: 1}, keys, now); ok {
		t.Fatalf("one run accounted for two execs (second as %s)", typ)
	}
}

// TestSensorAccountsTheLastProbeOfADeletedPod runs the sensor: the series is seen by its periodic read, the pod is
// deleted (series removed) and the unreadable exec of its last probe is reported accounted as that last probe.
func TestSensorAccountsTheLastProbeOfADeletedPod(t *testing.T) {
	rt := newFake()
	rt.add(Container{Namespace: KubeletNamespace, ID: "upf", Created: time.Now().Add(-time.Hour), Running: true}, upfPod)
	readiness := probeKey("vnf-upf", "upf-0", "upf", "Readiness")
	probes := &fakeProbes{runs: map[string]uint64{readiness: 5}}
	var got collector
	s, _ := New(Options{Runtime: rt, Node: "n1", Emit: got.emit, Probes: probes, ProbeWait: 300 * time.Millisecond, ProbeRefresh: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	got.waitFor(t, func(e runtimeevent.Event) bool { return e.Kind == runtimeevent.KindContainer })

	time.Sleep(60 * time.Millisecond) // the periodic read sees the series
	probes.mu.Lock()
	delete(probes.runs, readiness) // the kubelet stops probing the deleted pod
	probes.mu.Unlock()
	rt.events <- Event{Namespace: KubeletNamespace, Topic: "/tasks/exec-started", ID: "upf", ExecID: "last", Pid: 1 << 30}
	rt.events <- Event{Namespace: KubeletNamespace, Topic: "/tasks/exec-started", ID: "upf", ExecID: "other", Pid: 1<<30 + 1}
	last := got.waitFor(t, func(e runtimeevent.Event) bool { return e.Exec != nil && e.Exec.ID == "last" })
	other := got.waitFor(t, func(e runtimeevent.Event) bool { return e.Exec != nil && e.Exec.ID == "other" })
	accounted := 0
	for _, e := range []runtimeevent.Event{last, other} {
		if e.Exec.KubeletProbe != "" {
			accounted++
			if e.Exec.KubeletProbe != "Readiness" || !e.Exec.KubeletProbeLast {
				t.Errorf("exec %s: kubelet probe %q last=%v, want Readiness, last", e.Exec.ID, e.Exec.KubeletProbe, e.Exec.KubeletProbeLast)
			}
		}
	}
	if accounted != 1 {
		t.Errorf("%d execs accounted for by the deleted pod's last probe, want exactly 1", accounted)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
