package manager

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// replica is one Manager on the shared fake API server, counting how many of its singletons run.
type replica struct {
	m       *Manager
	reg     *prometheus.Registry
	running atomic.Int32
	cancel  context.CancelFunc
	done    chan error
}

func startReplica(t *testing.T, cs *fake.Clientset, id string) *replica {
	t.Helper()
	r := &replica{reg: prometheus.NewRegistry(), done: make(chan error, 1)}
	var err error
	r.m, err = New(Options{Registerer: r.reg, Election: &Election{
		Client: cs.CoordinationV1(), Namespace: "vnfguard", Name: "vnfguard-singletons", Identity: id,
		LeaseDuration: time.Second, RenewDeadline: 500 * time.Millisecond, RetryPeriod: 100 * time.Millisecond,
	}})
	if err != nil {
		t.Fatal(err)
	}
	r.m.Add(Task{Name: "server", Run: func(ctx context.Context) error { <-ctx.Done(); return nil }})
	r.m.AddLeader(Task{Name: "reconcile", Run: func(ctx context.Context) error {
		r.running.Add(1)
		defer r.running.Add(-1)
		<-ctx.Done()
		time.Sleep(50 * time.Millisecond) // finishing a pass: the lease must stay held meanwhile
		return nil
	}})
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- r.m.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("not within %s: %s", within, what)
	return 0
}

// metric is the value of the one series of an unlabelled gauge or counter the replica exports.
func metric(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name || len(f.GetMetric()) != 1 {
			continue
		}
		m := f.GetMetric()[0]
		if m.GetGauge() != nil {
			return m.GetGauge().GetValue()
		}
		return m.GetCounter().GetValue()
	}
	t.Fatalf("no single series %s", name)
	return 0
}

// Two replicas on one Lease: exactly one runs the singleton; when it shuts down gracefully it stops the singleton
// before it releases the Lease, and the other takes over within a retry period or so, not a lease duration.
func TestOneLeaderAndGracefulHandOver(t *testing.T) {
	cs := fake.NewClientset()
	a := startReplica(t, cs, "a")
	waitUntil(t, 3*time.Second, "a leads", a.m.IsLeader)
	b := startReplica(t, cs, "b")
	time.Sleep(500 * time.Millisecond) // several of b's retries
	if b.m.IsLeader() || b.running.Load() != 0 || a.running.Load() != 1 {
		t.Fatalf("a leader=%v running=%d, b leader=%v running=%d: want a alone", a.m.IsLeader(), a.running.Load(), b.m.IsLeader(), b.running.Load())
	}
	if metric(t, a.reg, "vnfguard_leader") != 1 || metric(t, b.reg, "vnfguard_leader") != 0 {
		t.Fatal("vnfguard_leader is not 1 on a and 0 on b")
	}
	if s := b.m.Status(); s.Role != RoleFollower || s.Holder != "a" {
		t.Fatalf("b's status = %+v, want a follower that sees a", s)
	}

	// Stop a: its singleton must have stopped before b's starts.
	overlap := atomic.Bool{}
	stopWatch := make(chan struct{})
	go func() {
		for {
			select {
			case <-stopWatch:
				return
			default:
			}
			if a.running.Load()+b.running.Load() > 1 {
				overlap.Store(true)
			}
			time.Sleep(time.Millisecond)
		}
	}()
	a.cancel()
	if err := <-a.done; err != nil {
		t.Fatalf("a's Run: %v", err)
	}
	a.done <- nil // for the cleanup
	took := waitUntil(t, 3*time.Second, "b leads after a's release", func() bool { return b.running.Load() == 1 })
	close(stopWatch)
	if overlap.Load() {
		t.Error("both replicas ran the singleton at once")
	}
	// The lease lasts 1 s: taking over well before it expires shows it was released.
	if took > 700*time.Millisecond {
		t.Errorf("b took %s to lead after a graceful stop; a released lease is taken within a retry period", took)
	}
	lease, err := cs.CoordinationV1().Leases("vnfguard").Get(context.Background(), "vnfguard-singletons", metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != "b" {
		t.Fatalf("lease after the hand-over: %+v, %v", lease, err)
	}
	waitUntil(t, time.Second, "b counts the hand-over", func() bool { return metric(t, b.reg, "vnfguard_leader_transitions_total") == 1 })
}

// Without election (no cluster) the leader tasks run in the one process, which reports itself standalone.
func TestStandaloneRunsEverything(t *testing.T) {
	m, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ran atomic.Int32
	m.AddLeader(Task{Name: "reconcile", Run: func(ctx context.Context) error { ran.Add(1); <-ctx.Done(); return nil }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Run(ctx) }()
	waitUntil(t, time.Second, "the singleton runs", func() bool { return ran.Load() == 1 })
	if !m.IsLeader() || m.Status().Role != RoleStandalone {
		t.Errorf("standalone: IsLeader=%v status=%+v", m.IsLeader(), m.Status())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A fatal task's failure ends Run with its error and stops the others; a singleton's failure does not.
func TestFatalTaskStopsTheProcess(t *testing.T) {
	m, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("queue unreadable")
	stopped := make(chan struct{})
	m.AddLeader(Task{Name: "watchdog", Run: func(context.Context) error { return errors.New("watch failed") }})
	m.Add(Task{Name: "server", Run: func(ctx context.Context) error { <-ctx.Done(); close(stopped); return nil }})
	m.Add(Task{Name: "audit intake", Fatal: true, Run: func(context.Context) error {
		time.Sleep(50 * time.Millisecond)
		return boom
	}})
	err = m.Run(context.Background())
	if !errors.Is(err, boom) {
		t.Fatalf("Run = %v, want the audit intake's error", err)
	}
	select {
	case <-stopped:
	default:
		t.Error("the server was not stopped")
	}
}
