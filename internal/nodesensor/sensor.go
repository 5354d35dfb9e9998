package nodesensor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/vnfguard/vnfguard/internal/finding"
)

// RuleRogueContainer names the findings of check_rogue_container.go.
const RuleRogueContainer = "rogue-container"

// Options configure a Sensor.
type Options struct {
	Runtime Runtime
	// Node is the node's name, in every finding.
	Node string
	// AllowedNamespaces are containerd namespaces besides the kubelet's whose containers are expected (an
	// operator's own tooling); k8s.io is judged by the CRI plugin's list whatever this says.
	AllowedNamespaces []string
	// Report receives the findings; it is called from one goroutine at a time.
	Report func([]finding.Finding)
	// Settle is how long a new container in k8s.io may go unlisted by the CRI plugin before it counts as not made
	// through it: the plugin lists a container once its CreateContainer returned, just after containerd's
	// /containers/create event (default 2 s).
	Settle time.Duration
	// Resync is how often the whole inventory is judged again, in case an event was lost (default 1 min).
	Resync time.Duration
	Logger *slog.Logger
	Now    func() time.Time
}

// Sensor judges the node's containers: the whole inventory at start and at every resync, and each container that
// containerd reports created or started.
type Sensor struct {
	o Options

	mu       sync.Mutex
	reported map[string]bool // namespace/id of the containers reported (each once per run of the sensor)
}

// New checks the options.
func New(o Options) (*Sensor, error) {
	if o.Runtime == nil || o.Report == nil {
		return nil, errors.New("nodesensor: a runtime and a report function are required")
	}
	if o.Node == "" {
		return nil, errors.New("nodesensor: the node's name is required (it is in every finding)")
	}
	if o.Settle == 0 {
		o.Settle = 2 * time.Second
	}
	if o.Resync == 0 {
		o.Resync = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Sensor{o: o, reported: map[string]bool{}}, nil
}

// Run follows containerd until ctx ends or its event stream fails (the error says so; the caller reconnects, and
// the inventory taken then finds what happened meanwhile).
func (s *Sensor) Run(ctx context.Context) error {
	// Subscribe before the inventory: a container created between the two is then seen at least once.
	events, errs := s.o.Runtime.Events(ctx)
	if err := s.Resync(ctx); err != nil {
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
			if err := s.Resync(ctx); err != nil {
				s.o.Logger.Warn("node inventory failed; the next resync or event tries again", "error", err)
			}
		case c := <-recheck:
			s.judgeOne(ctx, c.Namespace, c.ID, recheck, &pending)
		case ev, ok := <-events:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return errors.New("nodesensor: containerd's event stream ended")
			}
			switch ev.Topic {
			case "/containers/create", "/tasks/start":
				s.judgeOne(ctx, ev.Namespace, ev.ID, recheck, &pending)
			case "/containers/delete":
				s.mu.Lock()
				delete(s.reported, ev.Namespace+"/"+ev.ID)
				s.mu.Unlock()
			}
		}
	}
}

// Resync judges every container of the node.
func (s *Sensor) Resync(ctx context.Context) error {
	cs, err := s.o.Runtime.Containers(ctx)
	if err != nil {
		return err
	}
	cri, criErr := s.o.Runtime.CRIKnows(ctx)
	if criErr != nil {
		s.o.Logger.Warn("the CRI plugin's list could not be read: containers in the kubelet's namespace are not judged in this pass", "error", criErr)
	}
	var out []finding.Finding
	for _, c := range cs {
		if c.Namespace == KubeletNamespace && (criErr != nil || s.young(c)) {
			continue // judged when the list is readable, or at the next pass / its own recheck
		}
		if f, ok := s.judge(c, cri); ok {
			out = append(out, f)
		}
	}
	if len(out) > 0 {
		s.o.Report(out)
	}
	return nil
}

// judgeOne judges one container; a new one in k8s.io that the CRI plugin does not list yet is judged again once
// it has settled.
func (s *Sensor) judgeOne(ctx context.Context, namespace, id string, recheck chan<- Container, pending *sync.WaitGroup) {
	if id == "" || s.wasReported(namespace, id) {
		return
	}
	c, ok, err := s.o.Runtime.Container(ctx, namespace, id)
	if err != nil {
		s.o.Logger.Warn("read a container containerd reported; the next resync judges it", "namespace", namespace, "id", id, "error", err)
		return
	}
	if !ok {
		return
	}
	var cri map[string]bool
	if c.Namespace == KubeletNamespace {
		if cri, err = s.o.Runtime.CRIKnows(ctx); err != nil {
			s.o.Logger.Warn("the CRI plugin's list could not be read; the next resync judges the container", "id", id, "error", err)
			return
		}
		if !cri[c.ID] && s.young(c) {
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
	if f, ok := s.judge(c, cri); ok {
		s.o.Report([]finding.Finding{f})
	}
}

// young: created less than Settle ago.
func (s *Sensor) young(c Container) bool { return s.o.Now().Sub(c.Created) < s.o.Settle }

func (s *Sensor) wasReported(namespace, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reported[namespace+"/"+id]
}

// judge applies the checks to a container, and returns its finding unless it was reported already.
func (s *Sensor) judge(c Container, cri map[string]bool) (finding.Finding, bool) {
	why, rogue := rogueReason(c, cri, s.o.AllowedNamespaces)
	if !rogue {
		return finding.Finding{}, false
	}
	key := c.Namespace + "/" + c.ID
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reported[key] {
		return finding.Finding{}, false
	}
	s.reported[key] = true
	return s.rogueFinding(c, why), true
}

func (s *Sensor) rogueFinding(c Container, why string) finding.Finding {
	severity, state := finding.High, "not running"
	if c.Running {
		severity, state = finding.Critical, "running as PID "+strconv.FormatUint(uint64(c.Pid), 10)
	}
	obj := finding.ObjectRef{Kind: "Container", Name: s.o.Node + "/" + c.Namespace + "/" + c.ID}
	f := finding.Finding{
		Time: s.o.Now(), Source: "runtime", Rule: RuleRogueContainer, Technique: finding.MaliciousVNFInstantiation,
		Mitigations: []string{finding.MitigationLimitNetworkAccess, finding.MitigationAudit},
		Severity:    severity, Action: "detected",
		Message: fmt.Sprintf("container %s on node %s (image %s, %s) that no pod accounts for: %s", c.ID, s.o.Node, c.Image, state, why),
		Object:  obj,
		Evidence: map[string]string{"node": s.o.Node, "containerdNamespace": c.Namespace, "containerID": c.ID, "image": c.Image,
			"running": strconv.FormatBool(c.Running), "created": c.Created.UTC().Format(time.RFC3339Nano)},
	}
	if pod := c.Pod(); pod != "" {
		f.Evidence["claimedPod"] = pod
	}
	f.ID = finding.Key(f.Rule, obj, "")
	return f
}
