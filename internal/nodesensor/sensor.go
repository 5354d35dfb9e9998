package nodesensor

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/vnfguard/vnfguard/internal/posture/exposure"
	"github.com/vnfguard/vnfguard/internal/runtimeevent"
)

// Options configure a Sensor.
type Options struct {
	Runtime Runtime
	// Node is the node's name, in every event.
	Node string
	// AllowedNamespaces are containerd namespaces besides the kubelet's whose containers are expected (an
	// operator's own tooling); k8s.io is judged by the CRI plugin's list whatever this says.
	AllowedNamespaces []string
	// Emit receives the events; it may be called from several goroutines at once and may block (back pressure).
	Emit func([]runtimeevent.Event)
	// Probes, when set, is the kubelet's count of probe runs, which accounts for the execs whose command line
	// could not be read (see ProbeCounter); ProbeWait bounds how long an exec waits for the count (default 500 ms:
	// the kubelet counts a probe as soon as its exec returned, and a longer wait lets an exec that is no probe take a
	// probe run that happened to end meanwhile).
	// ProbeRefresh is how often the counts are read besides (default 1 s): the kubelet removes a container's
	// series when it stops probing it, and only a series seen before can account for its last probe.
	Probes       ProbeCounter
	ProbeWait    time.Duration
	ProbeRefresh time.Duration
	// Settle is how long a new container in k8s.io may go unlisted by the CRI plugin before it counts as not made
	// through it: the plugin lists a container once its CreateContainer returned, just after containerd's
	// /containers/create event (default 2 s).
	Settle time.Duration
	// Resync is how often the whole inventory is reported again (default 30 s): a container whose VNF instance
	// was stopped meanwhile is judged again, and an event containerd did not deliver is made up for.
	Resync time.Duration
	// ProcRoot is the node's /proc, for the command lines of execs found at an inventory (default /proc).
	ProcRoot string
	// KubeletTargets are the node's own kubelet endpoints (HOST:PORT: the API, the read-only port) probed without
	// credentials at every inventory; what answers is reported (kind kubelet) with the exposure probe's findings.
	KubeletTargets []string
	Logger         *slog.Logger
	Now            func() time.Time
}

// Sensor reports the node's containers and execs: the whole inventory at start and at every resync, and each
// container and exec that containerd reports.
type Sensor struct {
	o Options

	probes probeAccount
	execs  sync.WaitGroup
}

// New checks the options.
func New(o Options) (*Sensor, error) {
	if o.Runtime == nil || o.Emit == nil {
		return nil, errors.New("nodesensor: a runtime and an emit function are required")
	}
	if o.Node == "" {
		return nil, errors.New("nodesensor: the node's name is required (it is in every event)")
	}
	if o.Settle == 0 {
		o.Settle = 2 * time.Second
	}
	if o.Resync == 0 {
		o.Resync = 30 * time.Second
	}
	if o.ProcRoot == "" {
		o.ProcRoot = "/proc"
	}
	if o.ProbeWait == 0 {
		o.ProbeWait = 500 * time.Millisecond
	}
	if o.ProbeRefresh == 0 {
		o.ProbeRefresh = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Sensor{o: o}, nil
}

// Run follows containerd until ctx ends or its event stream fails (the error says so; the caller reconnects, and
// the inventory taken then finds what happened meanwhile).
func (s *Sensor) Run(ctx context.Context) error {
	// Subscribe before the inventory: a container created between the two is then seen at least once.
	events, errs := s.o.Runtime.Events(ctx)
	defer s.execs.Wait()
	if s.o.Probes != nil {
		// The probes run so far are accounted for: only runs from now on can stand for an exec seen from now on.
		runs, err := s.o.Probes.ProbeRuns(ctx)
		if err != nil {
			s.o.Logger.Warn("the kubelet's probe counts could not be read: execs whose command ended before it could be read are reported without a probe account", "error", err)
		}
		s.probes.start(runs, time.Now())
		s.execs.Go(func() { s.watchProbes(ctx) })
	}
	if err := s.Inventory(ctx); err != nil {
		return err
	}
	resync := time.NewTicker(s.o.Resync)
	defer resync.Stop()
	recheck := make(chan Container, 64)
	var pending sync.WaitGroup
	defer pending.Wait()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errs:
			return err
		case <-resync.C:
			if err := s.Inventory(ctx); err != nil {
				s.o.Logger.Warn("node inventory failed; the next resync or event tries again", "error", err)
			}
		case c := <-recheck:
			s.container(ctx, c.Namespace, c.ID, "event", recheck, &pending)
		case ev, ok := <-events:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return errors.New("nodesensor: containerd's event stream ended")
			}
			switch ev.Topic {
			case "/containers/create", "/tasks/start":
				s.container(ctx, ev.Namespace, ev.ID, "event", recheck, &pending)
			case "/tasks/exec-started":
				s.exec(ctx, ev)
			}
		}
	}
}

// Inventory reports every container of the node, with the exec processes running in it.
func (s *Sensor) Inventory(ctx context.Context) error {
	// The CRI plugin's list first, containerd's second: when the kubelet removes a container, the plugin deletes it
	// from containerd before it drops it from its list, so a container containerd still lists was still in the
	// plugin's list read a moment before. Read the other way round, a container being removed between the two reads
	// was reported as a rogue container (seen in CI after a VNFC was deleted).
	cri, criErr := s.o.Runtime.CRIKnows(ctx)
	cs, err := s.o.Runtime.Containers(ctx)
	if err != nil {
		return err
	}
	if criErr != nil {
		s.o.Logger.Warn("the CRI plugin's list could not be read: containers in the kubelet's namespace are not reported in this pass", "error", criErr)
	}
	now := s.o.Now()
	var out []runtimeevent.Event
	for _, c := range cs {
		if c.Namespace == KubeletNamespace && (criErr != nil || s.young(c)) {
			continue // reported when the list is readable, or at the next pass / by its own event
		}
		ce := s.describe(c, cri)
		ev := runtimeevent.Event{ID: s.containerID(c, "inventory@"+strconv.FormatInt(now.UnixNano(), 10)), Kind: runtimeevent.KindContainer,
			Time: now, Node: s.o.Node, Observed: "inventory", Container: ce}
		out = append(out, ev)
		for _, x := range c.Execs {
			cmd, cerr := readCommand(s.o.ProcRoot, x.Pid)
			if errors.As(cerr, new(processEnded)) {
				// Ended between containerd's list and the read: its exec-started event reports it, with the kubelet's
				// probe accounting, if it started since the agent subscribed (reported here as well, under the same
				// ID and without that accounting, a benign probe was called a bypass in CI); if it started before, it
				// is over, and nothing of the agent's saw it run.
				continue
			}
			out = append(out, s.execEvent(ce, x.ID, x.Pid, cmd, cerr, now, "inventory"))
		}
	}
	if len(s.o.KubeletTargets) > 0 {
		out = append(out, s.kubeletPosture(ctx, now))
	}
	if len(out) > 0 {
		s.o.Emit(out)
	}
	return nil
}

// kubeletPosture probes the node's own kubelet without credentials, with the exposure checks of `vnfguard scan
// --probe` (one definition of what is exposed).
func (s *Sensor) kubeletPosture(ctx context.Context, now time.Time) runtimeevent.Event {
	ev := runtimeevent.Event{ID: s.o.Node + "/kubelet/" + strconv.FormatInt(now.UnixNano(), 10), Kind: runtimeevent.KindKubelet, Time: now,
		Node: s.o.Node, Observed: "inventory"}
	fs, results, err := exposure.Probe(ctx, s.o.KubeletTargets, exposure.ProbeOptions{Timeout: 2 * time.Second, Now: s.o.Now})
	if err != nil {
		s.o.Logger.Warn("kubelet posture probe", "error", err)
		return ev
	}
	service := map[string]string{}
	for _, r := range results {
		service[r.Target] = r.Service
	}
	for _, f := range fs {
		target := f.Evidence["target"]
		ev.Exposures = append(ev.Exposures, runtimeevent.Exposure{Target: target, Service: service[target], Rule: f.Rule,
			Severity: f.Severity.String(), Message: f.Message})
	}
	return ev
}

// container reports one container; a new one in k8s.io that the CRI plugin does not list yet is looked at again
// once it has settled.
func (s *Sensor) container(ctx context.Context, namespace, id, observed string, recheck chan<- Container, pending *sync.WaitGroup) {
	c, ok, err := s.o.Runtime.Container(ctx, namespace, id)
	if err != nil {
		s.o.Logger.Warn("read a container containerd reported; the next resync reports it", "namespace", namespace, "id", id, "error", err)
		return
	}
	if !ok {
		return
	}
	var cri map[string]CRIContainer
	if c.Namespace == KubeletNamespace {
		if cri, err = s.o.Runtime.CRIKnows(ctx); err != nil {
			s.o.Logger.Warn("the CRI plugin's list could not be read; the next resync reports the container", "id", id, "error", err)
			return
		}
		if _, listed := cri[c.ID]; !listed && s.young(c) {
			wait := s.o.Settle - s.o.Now().Sub(c.Created)
			pending.Go(func() {
				select {
				case <-time.After(wait):
					select {
					case recheck <- c:
					case <-ctx.Done():
					}
				case <-ctx.Done():
				}
			})
			return
		}
	}
	state := "created"
	if c.Running {
		state = "running"
	}
	s.o.Emit([]runtimeevent.Event{{ID: s.containerID(c, state), Kind: runtimeevent.KindContainer, Time: s.o.Now(), Node: s.o.Node,
		Observed: observed, Container: s.describe(c, cri)}})
}

// exec reports an exec containerd reported started.
func (s *Sensor) exec(ctx context.Context, ev Event) {
	c, ok, err := s.o.Runtime.Container(ctx, ev.Namespace, ev.ID)
	if err != nil || !ok {
		// Report it anyway, with what the event says: an exec must never go unreported.
		c = Container{Namespace: ev.Namespace, ID: ev.ID, Running: true}
		if err != nil {
			s.o.Logger.Warn("read the container of an exec", "namespace", ev.Namespace, "id", ev.ID, "error", err)
		}
	}
	var cri map[string]CRIContainer
	if c.Namespace == KubeletNamespace {
		if cri, err = s.o.Runtime.CRIKnows(ctx); err != nil {
			s.o.Logger.Warn("the CRI plugin's list could not be read; the exec's pod is unknown", "id", ev.ID, "error", err)
		}
	}
	ce := s.describe(c, cri)
	x := s.execEvent(ce, ev.ExecID, ev.Pid, ev.Command, ev.CommandErr, ev.Time, "event")
	s.o.Logger.Debug("exec", "namespace", ev.Namespace, "container", ev.ID, "execID", ev.ExecID, "pid", ev.Pid, "command", ev.Command, "commandError", ev.CommandErr)
	if len(ev.Command) > 0 || ce.Pod == nil || s.o.Probes == nil {
		s.o.Emit([]runtimeevent.Event{x})
		return
	}
	// The kubelet counts a probe once its exec returned: wait for the count without holding up other events.
	s.execs.Go(func() {
		x.Exec.KubeletProbe, x.Exec.KubeletProbeLast = s.probeRun(ctx, ce.Pod)
		s.o.Emit([]runtimeevent.Event{x})
	})
}

// probeRun waits up to ProbeWait for a probe run of the pod's container that no exec has accounted for yet, and
// accounts this exec for it (see probeAccount): returns its probe type and whether it was the last probe of a
// series the kubelet removed, or "" when the kubelet ran no probe.
func (s *Sensor) probeRun(ctx context.Context, p *runtimeevent.Pod) (string, bool) {
	keys := map[string]string{}
	for _, typ := range probeTypes {
		keys[typ] = probeKey(p.Namespace, p.Name, p.Container, typ)
	}
	deadline := time.Now().Add(s.o.ProbeWait)
	for {
		runs, err := s.o.Probes.ProbeRuns(ctx)
		if err != nil {
			// A busy kubelet can fail one read: read again until the wait is over.
			if time.Now().After(deadline) || ctx.Err() != nil {
				s.o.Logger.Warn("the kubelet's probe counts could not be read; the exec is reported without a probe account", "error", err)
				return "", false
			}
			runs = nil
		}
		if typ, last, ok := s.probes.take(runs, keys, time.Now()); ok {
			return typ, last
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return "", false
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
		}
	}
}

// watchProbes reads the kubelet's probe counts every ProbeRefresh, so that a series the kubelet removes (its pod
// gone) is known to have existed when an exec of its last probe is reported.
func (s *Sensor) watchProbes(ctx context.Context) {
	tick := time.NewTicker(s.o.ProbeRefresh)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if runs, err := s.o.Probes.ProbeRuns(ctx); err == nil {
				s.probes.observe(runs, time.Now())
			}
		}
	}
}

func (s *Sensor) execEvent(c runtimeevent.Container, execID string, pid uint32, cmd []string, cerr error, at time.Time, observed string) runtimeevent.Event {
	if at.IsZero() {
		at = s.o.Now()
	}
	x := &runtimeevent.Exec{ID: execID, Pid: pid, Command: cmd}
	if cerr != nil {
		x.CommandError = cerr.Error()
	}
	return runtimeevent.Event{ID: s.o.Node + "/" + c.Namespace + "/" + c.ID + "/exec/" + execID, Kind: runtimeevent.KindExec, Time: at,
		Node: s.o.Node, Observed: observed, Container: c, Exec: x}
}

// describe turns a container into its report; cri may be nil when the CRI plugin's list could not be read, and
// then a k8s.io container is of unknown pod and origin containerd only if the list said so.
func (s *Sensor) describe(c Container, cri map[string]CRIContainer) runtimeevent.Container {
	out := runtimeevent.Container{Namespace: c.Namespace, ID: c.ID, Image: c.Image, ImageDigest: c.ImageDigest, Running: c.Running,
		Pid: c.Pid, Created: c.Created}
	if c.Namespace == KubeletNamespace && cri == nil {
		// Unjudged: without the CRI plugin's list nothing proves it is the kubelet's, and nothing proves it is not.
		out.Origin, out.Why = runtimeevent.OriginUnknown, "the CRI plugin's list could not be read"
		out.ClaimedPod = c.Pod()
		return out
	}
	out.Origin, out.Why = originOf(c, cri, s.o.AllowedNamespaces)
	if out.Origin == runtimeevent.OriginCRI {
		m := cri[c.ID]
		out.Pod = &runtimeevent.Pod{Namespace: m.PodNamespace, Name: m.PodName, UID: m.PodUID, Container: m.Name}
	} else {
		out.ClaimedPod = c.Pod()
	}
	return out
}

// containerID names a report of a container: the same container in the same state reported twice is one fact.
func (s *Sensor) containerID(c Container, what string) string {
	return s.o.Node + "/" + c.Namespace + "/" + c.ID + "/" + strconv.FormatInt(c.Created.UnixNano(), 10) + "/" + what
}

// young: created less than Settle ago.
func (s *Sensor) young(c Container) bool { return s.o.Now().Sub(c.Created) < s.o.Settle }
