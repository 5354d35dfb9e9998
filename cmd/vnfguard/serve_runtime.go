package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/vnfguard/vnfguard/internal/audit/intake"
	"github.com/vnfguard/vnfguard/internal/audit/pgqueue"
	"github.com/vnfguard/vnfguard/internal/cluster"
	"github.com/vnfguard/vnfguard/internal/detect"
)

// runtimeFlags configure the node agents' endpoint /runtime (see internal/audit/intake's RuntimeReceiver).
type runtimeFlags struct {
	enabled     bool
	agents      []string
	execGrace   time.Duration
	zombieGrace time.Duration
}

func (r *runtimeFlags) add(f *pflag.FlagSet) {
	f.BoolVar(&r.enabled, "runtime", false, "enable /runtime, where node agents (vnfguard node) report containers and execs; needs --audit (the reports share its durable queue) and a cluster (tokens are checked with TokenReview)")
	f.StringSliceVar(&r.agents, "runtime-agent", nil, "user name a node agent authenticates as (system:serviceaccount:NS:NAME); required with --runtime")
	f.DurationVar(&r.execGrace, "runtime-exec-grace", detect.DefaultExecGrace, "how long after an exec the node reports its pods/exec admission request or audit event may still arrive before the exec counts as having bypassed the API server")
	f.DurationVar(&r.zombieGrace, "runtime-zombie-grace", detect.DefaultZombieGrace, "how long a VNF instance must have been STOPPED or terminated before a container of it still running counts as a zombie")
}

// runtimeWiring is what detection needs for the runtime rules.
type runtimeWiring struct {
	ledger   detect.AccessLedger
	podSpecs *cluster.PodSpecs
	flags    runtimeFlags
	// stream, when set, guards the pod-spec reads of the audit consumer (see cluster.Stream.PodSpecs).
	stream *cluster.Stream
}

func newRuntimeWiring(f runtimeFlags, auditOn bool, restCfg *rest.Config) (*runtimeWiring, error) {
	w := &runtimeWiring{ledger: detect.NewMemoryLedger(), flags: f}
	if !f.enabled {
		return w, nil
	}
	switch {
	case !auditOn:
		return nil, errors.New("--runtime needs --audit: the node agents' reports go through the audit intake's durable queue")
	case len(f.agents) == 0:
		return nil, errors.New("--runtime needs --runtime-agent (e.g. system:serviceaccount:vnfguard:vnfguard-node): /runtime never accepts reports from just anyone")
	case restCfg == nil:
		return nil, errors.New("--runtime needs a cluster: the node agents' tokens are checked with TokenReview")
	}
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return nil, fmt.Errorf("runtime intake client: %w", err)
	}
	w.podSpecs = cluster.NewPodSpecs(client)
	return w, nil
}

// env puts the runtime helpers' dependencies into the detection environment. With the PostgreSQL queue the
// access ledger is shared through it: the admission request of an exec, its audit event and the node's report of
// it may each reach another replica.
func (w *runtimeWiring) env(e *detect.Env, backend intake.Backend) {
	if q, ok := backend.(*pgqueue.Queue); ok {
		w.ledger = q.Ledger()
	}
	e.Ledger, e.ExecGrace, e.ZombieGrace = w.ledger, w.flags.execGrace, w.flags.zombieGrace
	switch {
	case w.podSpecs == nil:
	case w.stream != nil:
		e.PodSpecs = w.stream.PodSpecs(w.podSpecs)
	default:
		e.PodSpecs = w.podSpecs
	}
}

// handler is /runtime over the intake's queue.
func (w *runtimeWiring) handler(in *intake.Intake, restCfg *rest.Config, registry prometheus.Registerer, logger *slog.Logger) (http.Handler, error) {
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return nil, fmt.Errorf("runtime intake client: %w", err)
	}
	rr, err := intake.NewRuntimeReceiver(in.Backend(), intake.RuntimeOptions{Authenticator: intake.NewTokenReviewer(client, nil, time.Minute),
		Agents: w.flags.agents, Logger: logger})
	if err != nil {
		return nil, err
	}
	for name, get := range map[string]func(intake.RuntimeStats) uint64{
		"accepted":     func(s intake.RuntimeStats) uint64 { return s.Events },
		"unauthorized": func(s intake.RuntimeStats) uint64 { return s.Unauthorized },
		"forbidden":    func(s intake.RuntimeStats) uint64 { return s.Forbidden },
		"bad_request":  func(s intake.RuntimeStats) uint64 { return s.BadRequest },
		"error":        func(s intake.RuntimeStats) uint64 { return s.Errors },
	} {
		registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vnfguard_runtime_intake_" + name + "_total",
			Help: "Node agents' runtime reports at /runtime: " + name + " (events for accepted, requests otherwise)."},
			func() float64 { return float64(get(rr.Stats())) }))
	}
	return rr, nil
}
