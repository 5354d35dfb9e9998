// Package manager is the process structure of `vnfguard serve`: the tasks every replica runs (the HTTPS server
// that answers admission and /audit, the audit intake's consumer), the singletons only the elected leader runs
// (continuous reconciliation, the registration watchdog), what /readyz says about the election, and the order of a
// graceful shutdown.
//
// The leader is elected with client-go's leaderelection on a coordination.k8s.io Lease in vnfguard's own
// namespace, the mechanism kube-controller-manager and every controller-runtime operator use. Admission never
// waits for the election: a follower answers /validate and /audit exactly like the leader, so losing the leader
// costs only the singletons' work for the failover time, never an admission decision.
//
// Shutdown (SIGTERM, the pod being deleted) stops taking work and finishes what is in flight: the server drains its
// requests, the leader's singletons stop, and only then is the Lease released (ReleaseOnCancel), so that another
// replica takes over at its next retry instead of waiting for the lease to expire, and never while the old
// leader's singletons still run. A replica that loses the Lease without being asked to stop (it could not renew
// it in time) stops its singletons and stands for election again; it keeps serving admission meanwhile, because
// exiting would take a fail-closed webhook's server away for nothing.
package manager

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1 "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Task is one long-running part of the process.
type Task struct {
	// Name says what it is in logs and errors.
	Name string
	// Run does the work until ctx ends. It returns nil when it stopped because ctx ended.
	Run func(ctx context.Context) error
	// Fatal tasks stop the whole process when they fail (a replica whose server or audit consumer died must not
	// stay up looking healthy); a failing singleton is logged and runs again at the next term.
	Fatal bool
}

// Election configures the leader election. The zero durations take client-go's usual values (15 s lease, 10 s
// renew deadline, 2 s retry): a crashed leader is replaced within LeaseDuration+RetryPeriod, a leader that shuts
// down gracefully within RetryPeriod.
type Election struct {
	// Client reaches the Lease; vnfguard's ServiceAccount needs get, create and update on it.
	Client coordinationv1.LeasesGetter
	// Namespace and Name locate the Lease (vnfguard's namespace; every replica of one installation uses the same).
	Namespace, Name string
	// Identity is this replica's holderIdentity, unique among the replicas (see Identity).
	Identity                                  string
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
}

// Options configure a Manager.
type Options struct {
	// Election elects the replica that runs the leader tasks; nil runs them here (one process, no cluster).
	Election *Election
	// Registerer receives vnfguard_leader and vnfguard_leader_transitions_total (nil: not exported).
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// ShutdownTimeout bounds how long the leader tasks may take to stop before the Lease is released anyway
	// (default 10 s).
	ShutdownTimeout time.Duration
}

// Manager runs the tasks. Add them before Run.
type Manager struct {
	opts               Options
	tasks, leaderTasks []Task

	leader     atomic.Bool
	mu         sync.Mutex
	holder     string // last holder this replica observed ("" before the first, or after a release)
	lastHolder string // last non-empty holder, to count hand-overs
	stopping   bool
	// shutdownStart is when Run's context ended (zero before).
	shutdownStart time.Time
	terms         sync.WaitGroup
	transitions   prometheus.Counter
}

// Role names for Status.
const (
	RoleLeader     = "leader"
	RoleFollower   = "follower"
	RoleStandalone = "standalone"
)

// Status is what /readyz says about the election.
type Status struct {
	// Role is leader, follower, or standalone (no election: this process runs everything).
	Role string `json:"role"`
	// Identity is this replica's holderIdentity and Holder the one it last saw holding the Lease.
	Identity string `json:"identity,omitempty"`
	Holder   string `json:"holder,omitempty"`
	Lease    string `json:"lease,omitempty"`
}

// New checks the options and registers the metrics.
func New(o Options) (*Manager, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 10 * time.Second
	}
	if e := o.Election; e != nil {
		if e.Client == nil || e.Namespace == "" || e.Name == "" || e.Identity == "" {
			return nil, errors.New("manager: leader election needs a client, the Lease's namespace and name, and an identity")
		}
		if e.LeaseDuration == 0 {
			e.LeaseDuration = 15 * time.Second
		}
		if e.RenewDeadline == 0 {
			e.RenewDeadline = 10 * time.Second
		}
		if e.RetryPeriod == 0 {
			e.RetryPeriod = 2 * time.Second
		}
	}
	m := &Manager{opts: o, transitions: prometheus.NewCounter(prometheus.CounterOpts{
		Name: "vnfguard_leader_transitions_total",
		Help: "Times this replica saw the singletons' Lease pass from one holder to another.",
	})}
	if o.Election == nil {
		m.leader.Store(true)
	}
	if o.Registerer != nil {
		if err := o.Registerer.Register(m.transitions); err != nil {
			return nil, fmt.Errorf("manager: register metrics: %w", err)
		}
		if err := o.Registerer.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "vnfguard_leader",
			Help: "1 while this replica runs the singletons (holds the Lease, or runs alone without election), else 0.",
		}, func() float64 {
			if m.leader.Load() {
				return 1
			}
			return 0
		})); err != nil {
			return nil, fmt.Errorf("manager: register metrics: %w", err)
		}
	}
	return m, nil
}

// Identity is a holderIdentity for this process: the hostname (a pod's name) and a random suffix, so that a
// restarted container never mistakes its predecessor's lease for its own.
func Identity() (string, error) {
	host, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("manager: hostname for the leader identity: %w", err)
	}
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("manager: random suffix for the leader identity: %w", err)
	}
	return host + "_" + hex.EncodeToString(b), nil
}

// Add registers a task every replica runs.
func (m *Manager) Add(t Task) { m.tasks = append(m.tasks, t) }

// AddLeader registers a singleton: only the leader runs it, from the moment it acquires the Lease until it loses
// or releases it.
func (m *Manager) AddLeader(t Task) { m.leaderTasks = append(m.leaderTasks, t) }

// IsLeader says whether this replica runs the singletons now.
func (m *Manager) IsLeader() bool { return m.leader.Load() }

// Status reports the election for /readyz.
func (m *Manager) Status() Status {
	e := m.opts.Election
	if e == nil {
		return Status{Role: RoleStandalone}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := Status{Role: RoleFollower, Identity: e.Identity, Holder: m.holder, Lease: e.Namespace + "/" + e.Name}
	if m.leader.Load() {
		s.Role = RoleLeader
	}
	return s
}

// taskError is a fatal task's failure, which ends Run.
type taskError struct {
	name string
	err  error
}

func (e *taskError) Error() string { return e.name + ": " + e.err.Error() }
func (e *taskError) Unwrap() error { return e.err }

// Run runs every task until ctx ends or a fatal task fails, then shuts down in order (see the package
// documentation) and returns the fatal task's error, if any.
func (m *Manager) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for _, t := range m.tasks {
		wg.Go(func() { m.run(ctx, t, cancel) })
	}
	if m.opts.Election == nil {
		for _, t := range m.leaderTasks {
			wg.Go(func() { m.run(ctx, t, cancel) })
		}
	} else {
		wg.Go(func() { m.elect(ctx) })
	}
	<-ctx.Done()
	m.mu.Lock()
	m.shutdownStart = time.Now()
	m.mu.Unlock()
	wg.Wait()
	m.opts.Logger.Info("all tasks stopped", "seconds", m.sinceShutdown())
	if te, ok := errors.AsType[*taskError](context.Cause(ctx)); ok {
		return te
	}
	return nil
}

// run runs one task; a fatal task's failure cancels the process.
func (m *Manager) run(ctx context.Context, t Task, fail context.CancelCauseFunc) {
	err := t.Run(ctx)
	switch {
	case err != nil && ctx.Err() == nil && t.Fatal:
		m.opts.Logger.Error("task failed: stopping", "task", t.Name, "error", err)
		fail(&taskError{name: t.Name, err: err})
	case err != nil && !errors.Is(err, context.Canceled):
		m.opts.Logger.Error("task stopped", "task", t.Name, "error", err)
	case ctx.Err() == nil:
		m.opts.Logger.Warn("task ended before shutdown", "task", t.Name)
	default:
		// Which task holds a shutdown up, and for how long, is what an operator asks when a pod takes its whole
		// grace period to go.
		m.opts.Logger.Info("task stopped", "task", t.Name, "seconds", m.sinceShutdown())
	}
}

// sinceShutdown is how long ago the shutdown began, in seconds with millisecond precision (0 before it).
func (m *Manager) sinceShutdown() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.shutdownStart.IsZero() {
		return 0
	}
	return time.Since(m.shutdownStart).Round(time.Millisecond).Seconds()
}

// elect stands for election until ctx ends; each term runs the leader tasks. The elector's own context outlives
// ctx until the current term's tasks have stopped, so the Lease is released only after them.
func (m *Manager) elect(ctx context.Context) {
	e := m.opts.Election
	electCtx, release := context.WithCancel(context.WithoutCancel(ctx))
	defer release()
	go func() {
		<-ctx.Done()
		m.mu.Lock()
		m.stopping = true
		m.mu.Unlock()
		done := make(chan struct{})
		go func() { m.terms.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(m.opts.ShutdownTimeout):
			m.opts.Logger.Warn("singletons did not stop in time: releasing the lease anyway", "timeout", m.opts.ShutdownTimeout.String())
		}
		release()
	}()
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: e.Namespace, Name: e.Name},
		Client:     e.Client,
		LockConfig: resourcelock.ResourceLockConfig{Identity: e.Identity},
	}
	for electCtx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock: lock, LeaseDuration: e.LeaseDuration, RenewDeadline: e.RenewDeadline, RetryPeriod: e.RetryPeriod,
			ReleaseOnCancel: true, Name: e.Name,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(termCtx context.Context) { m.term(ctx, termCtx) },
				OnStoppedLeading: func() {
					if m.leader.Swap(false) {
						m.opts.Logger.Info("stopped leading", "lease", e.Namespace+"/"+e.Name, "identity", e.Identity)
					}
				},
				OnNewLeader: m.observe,
			},
		})
		if err != nil {
			// Only invalid durations get here, which New's defaults and the flags' validation rule out.
			m.opts.Logger.Error("leader election: cannot start: the singletons do not run on this replica", "error", err)
			return
		}
		le.Run(electCtx)
		if electCtx.Err() == nil {
			m.opts.Logger.Warn("lost the lease without being asked to stop: singletons stopped, standing for election again", "lease", e.Namespace+"/"+e.Name)
		}
	}
}

// term runs the leader tasks for one term: until the Lease is lost (termCtx) or the process shuts down (ctx).
func (m *Manager) term(ctx, termCtx context.Context) {
	m.mu.Lock()
	if m.stopping || termCtx.Err() != nil {
		m.mu.Unlock()
		return
	}
	m.terms.Add(1)
	m.mu.Unlock()
	defer m.terms.Done()
	runCtx, cancel := context.WithCancel(termCtx)
	defer cancel()
	defer context.AfterFunc(ctx, cancel)()
	m.leader.Store(true)
	e := m.opts.Election
	m.opts.Logger.Info("leading: running the singletons", "lease", e.Namespace+"/"+e.Name, "identity", e.Identity, "singletons", len(m.leaderTasks))
	var wg sync.WaitGroup
	for _, t := range m.leaderTasks {
		t.Fatal = false // a failing singleton is logged; the next term runs it again
		wg.Go(func() { m.run(runCtx, t, nil) })
	}
	wg.Wait()
}

// observe records a holder the elector saw and counts hand-overs.
func (m *Manager) observe(holder string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.holder = holder
	if holder == "" {
		return // released: the hand-over counts when the next holder appears
	}
	if m.lastHolder != "" && m.lastHolder != holder {
		m.transitions.Inc()
	}
	m.lastHolder = holder
}
