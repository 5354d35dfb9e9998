package detect

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/runtimeevent"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// Runtime rules (source: runtime) read node agents' reports (package runtimeevent) through these helpers besides
// the lifecycle ones (vnfInstance(), vnfState(), isDormant() resolve the report's pod like an audit event's):
//
//	runtime              the report: kind (container|exec), node, observed, container {namespace, id, image,
//	                     imageDigest, origin (cri|containerd|engine|allowed|unknown), why, running, pid, created,
//	                     pod {namespace, name, uid, container}, claimedPod}, exec {id, pid, command, commandError}
//	apiServerExec()      for an exec: how it passed the API server — the admission request or the audit event of a
//	                     pods/exec or pods/attach into that pod and container around the exec's time — or "" when
//	                     neither arrived within the exec grace (Env.ExecGrace after the exec)
//	isPodHook()          the exec runs exactly a command the pod declares for the kubelet to run: an exec probe
//	                     (liveness, readiness, startup) or a postStart/preStop hook; or, its command unreadable
//	                     (the process had ended), the kubelet's probe count accounted for it with a probe of a type
//	                     the container declares as an exec probe
//	runtimeCommand()     the exec's command line joined by spaces, or "(unreadable: why)"
//	declaredImages()     the image digests the VNF instance's package declared ([] when it declared none)
//	wasDormant()         the instance was already dormant Env.ZombieGrace before the report (a pod being stopped by
//	                     its VNFM is not a zombie while it terminates)

// PodSpecs gives a pod's spec, for isPodHook(). The cluster's typed pod lookup implements it.
type PodSpecs interface {
	PodSpec(ctx context.Context, namespace, name, uid string) (*corev1.PodSpec, error)
}

// Defaults of the runtime helpers.
const (
	DefaultExecGrace   = 2 * time.Second
	DefaultZombieGrace = time.Minute
)

// AccessLedger remembers the ways into pods that passed the API server (exec and attach: admission requests and
// audit events), so that an exec the node reports can be matched with one: MemoryLedger in one replica, the
// PostgreSQL ledger (package pgqueue) when replicas share a store, since the admission request, the audit event
// and the node's report of one exec may each reach another replica.
type AccessLedger interface {
	// Record notes an exec or attach into namespace/pod (container "" when the request named none: the pod's
	// only or default container), seen through via at the given time.
	Record(namespace, pod, container, via string, at time.Time)
	// Find returns how an exec at the given time into namespace/pod's container passed the API server — the
	// oldest unused record from ExecLead before it to grace after it — and uses that record up; "" when none.
	Find(namespace, pod, container string, at time.Time, grace time.Duration) string
}

// MemoryLedger is the AccessLedger of one replica. Each exec through the API server
// starts one process, so a match is used up: the admission request and the audit event of one kubectl exec are
// one entry (records of the same pod and container within SameRequest of each other), and they account for one
// process, not for the next command an attacker runs through the kubelet a few seconds later. Safe for
// concurrent use; entries older than ten minutes are dropped.
type MemoryLedger struct {
	mu      sync.Mutex
	entries map[string][]*ledgerEntry // namespace/pod
	added   int
}

type ledgerEntry struct {
	container, via string
	// source is "admission request" or "audit event", key the request's admission UID or audit ID (the first
	// word after it in via): what tells two records of one exec from the records of two execs.
	source, key string
	partner     *ledgerEntry // the record of the other source paired with this one
	at          time.Time
	used        bool
}

// newLedgerEntry reads the record's source and key from via ("admission request UID ...", "audit event ID ...").
func newLedgerEntry(container, via string, at time.Time) *ledgerEntry {
	e := &ledgerEntry{container: container, via: via, at: at}
	for _, source := range []string{"admission request ", "audit event "} {
		if rest, ok := strings.CutPrefix(via, source); ok {
			e.source = strings.TrimSpace(source)
			e.key, _, _ = strings.Cut(rest, " ")
		}
	}
	return e
}

// sameRequest reports whether two records belong to one exec: the same container, close in time, and either two
// audit events (stages) of the same audit ID, or one admission request and one audit event neither of which is
// already paired with another record. Two admission requests, or two audit IDs, are two execs however close: a
// second kubectl exec a second after the first starts a process of its own, which the first one's records must
// not be taken to account for.
func (o *ledgerEntry) sameRequest(e *ledgerEntry) bool {
	if !sameContainer(o.container, e.container) || !near(o.at, e.at, SameRequest) {
		return false
	}
	switch {
	case o.source == "" || e.source == "":
		return true
	case o.source == e.source:
		return o.key != "" && o.key == e.key
	}
	return (o.partner == nil || o.partner == e) && (e.partner == nil || e.partner == o)
}

// markUsed marks o used as another record of e's exec, pairing an admission request with its audit event.
func (o *ledgerEntry) markUsed(e *ledgerEntry) {
	o.used = true
	if o != e && o.source != "" && e.source != "" && o.source != e.source {
		o.partner, e.partner = e, o
	}
}

// NewMemoryLedger returns an empty ledger.
func NewMemoryLedger() *MemoryLedger { return &MemoryLedger{entries: map[string][]*ledgerEntry{}} }

const (
	ledgerHorizon = 10 * time.Minute
	// SameRequest: an admission request and the audit event of the same exec are this close.
	SameRequest = 3 * time.Second
	// ExecLead: how long before the process starts its API-server request may have been received (the API
	// server admits, audits, dials the kubelet, which asks the CRI, which asks containerd).
	ExecLead = 10 * time.Second
)

func sameContainer(a, b string) bool { return a == "" || b == "" || a == b }

func near(a, b time.Time, d time.Duration) bool { return a.Sub(b) <= d && b.Sub(a) <= d }

// Record implements AccessLedger.
func (l *MemoryLedger) Record(namespace, pod, container, via string, at time.Time) {
	if l == nil || pod == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	k := namespace + "/" + pod
	e := newLedgerEntry(container, via, at)
	for _, o := range l.entries[k] {
		if o.used && o.sameRequest(e) {
			e.markUsed(o) // the other record of an exec already matched
			break
		}
	}
	l.entries[k] = append(l.entries[k], e)
	if l.added++; l.added%1024 == 0 {
		cut := time.Now().Add(-ledgerHorizon)
		for k, es := range l.entries {
			es = slices.DeleteFunc(es, func(e *ledgerEntry) bool { return e.at.Before(cut) })
			if len(es) == 0 {
				delete(l.entries, k)
			} else {
				l.entries[k] = es
			}
		}
	}
}

// Find implements AccessLedger.
func (l *MemoryLedger) Find(namespace, pod, container string, at time.Time, grace time.Duration) string {
	if l == nil {
		return ""
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	es := l.entries[namespace+"/"+pod]
	for _, e := range es {
		if e.used || !sameContainer(e.container, container) || e.at.Before(at.Add(-ExecLead)) || e.at.After(at.Add(grace)) {
			continue
		}
		e.used = true
		for _, o := range es {
			if o != e && !o.used && o.sameRequest(e) {
				o.markUsed(e)
			}
		}
		return e.via
	}
	return ""
}

// recordAudit puts an audited exec or attach into the ledger, whatever its stage: ResponseStarted arrives when the
// session opens, ResponseComplete only when it ends.
func recordAudit(l AccessLedger, ev *auditv1.Event) {
	ref := ev.ObjectRef
	if l == nil || ref == nil || ref.Resource != "pods" || (ref.Subresource != "exec" && ref.Subresource != "attach") {
		return
	}
	if ev.ResponseStatus != nil && ev.ResponseStatus.Code >= 400 {
		return
	}
	l.Record(ref.Namespace, ref.Name, queryParam(ev.RequestURI, "container"), "audit event "+string(ev.AuditID)+" (pods/"+ref.Subresource+" by "+ev.User.Username+")", ev.RequestReceivedTimestamp.Time)
}

// runtimeState is what an activation knows of a runtime report.
type runtimeState struct {
	ev       *runtimeevent.Event
	via      string
	viaDone  bool
	hook     int8 // 0 unknown, 1 false, 2 true
	instance *vnf.Instance
}

func (a *activation) runtimeEvent() *runtimeevent.Event {
	if a.rt == nil {
		return nil
	}
	return a.rt.ev
}

// apiServerExec: see the package comment above.
func (a *activation) apiServerExec() string {
	e := a.runtimeEvent()
	if e == nil || e.Exec == nil || e.Container.Pod == nil {
		return ""
	}
	if a.rt.viaDone {
		return a.rt.via
	}
	a.rt.viaDone = true
	p := e.Container.Pod
	grace := a.e.env.ExecGrace
	if grace == 0 {
		grace = DefaultExecGrace
	}
	find := func() string { return a.e.env.Ledger.Find(p.Namespace, p.Name, p.Container, e.Time, grace) }
	if a.rt.via = find(); a.rt.via != "" {
		return a.rt.via
	}
	// The admission request comes before the exec; the audit event up to the API server's batch wait after it.
	if wait := time.Until(e.Time.Add(grace)); wait > 0 {
		select {
		case <-time.After(wait):
		case <-a.ctx.Done():
			return ""
		}
		a.rt.via = find()
	}
	return a.rt.via
}

// isPodHook: see the package comment above. A pod whose spec cannot be read has no hooks: the exec is judged.
func (a *activation) isPodHook() bool {
	e := a.runtimeEvent()
	if e == nil || e.Exec == nil || e.Container.Pod == nil || (len(e.Exec.Command) == 0 && e.Exec.KubeletProbe == "") || a.e.env.PodSpecs == nil {
		return false
	}
	if a.rt.hook != 0 {
		return a.rt.hook == 2
	}
	a.rt.hook = 1
	p := e.Container.Pod
	spec, err := a.e.env.PodSpecs.PodSpec(a.ctx, p.Namespace, p.Name, p.UID)
	if err != nil {
		a.e.lookupErrors.Add(1)
		a.e.log.Debug("pod spec lookup failed; the exec is judged as if the pod declared no probe", "pod", p.Namespace+"/"+p.Name, "err", err)
		return false
	}
	for _, c := range spec.Containers {
		if c.Name != p.Container {
			continue
		}
		if len(e.Exec.Command) == 0 {
			// Unreadable: the kubelet's own probe count accounted for it, for a probe of that type that is an exec.
			if pr := probeOfType(c, e.Exec.KubeletProbe); pr != nil && pr.Exec != nil {
				a.rt.hook = 2
			}
			continue
		}
		for _, cmd := range hookCommands(c) {
			if slices.Equal(cmd, e.Exec.Command) {
				a.rt.hook = 2
			}
		}
	}
	return a.rt.hook == 2
}

func probeOfType(c corev1.Container, typ string) *corev1.Probe {
	switch typ {
	case "Liveness":
		return c.LivenessProbe
	case "Readiness":
		return c.ReadinessProbe
	case "Startup":
		return c.StartupProbe
	}
	return nil
}

// hookCommands are the commands the kubelet itself runs in a container.
func hookCommands(c corev1.Container) [][]string {
	var out [][]string
	for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
		if p != nil && p.Exec != nil {
			out = append(out, p.Exec.Command)
		}
	}
	if l := c.Lifecycle; l != nil {
		for _, h := range []*corev1.LifecycleHandler{l.PostStart, l.PreStop} {
			if h != nil && h.Exec != nil {
				out = append(out, h.Exec.Command)
			}
		}
	}
	return out
}

func (a *activation) runtimeCommand() string {
	e := a.runtimeEvent()
	if e == nil || e.Exec == nil {
		return ""
	}
	if len(e.Exec.Command) == 0 {
		return "(unreadable: " + e.Exec.CommandError + ")"
	}
	return strings.Join(e.Exec.Command, " ")
}

func (a *activation) declaredImages() []string {
	a.resolve()
	out := []string{}
	if a.rt == nil || a.rt.instance == nil {
		return out
	}
	for _, d := range a.rt.instance.DeclaredImages {
		if d.Digest != "" {
			out = append(out, d.Digest)
		}
	}
	return out
}

func (a *activation) wasDormant() bool {
	a.resolve()
	if a.instanceID == "" {
		return false
	}
	grace := a.e.env.ZombieGrace
	if grace == 0 {
		grace = DefaultZombieGrace
	}
	before := vnf.SnapshotAt(a.e.env.Inventory, a.ev.RequestReceivedTimestamp.Add(-grace))
	inst, ok := before.Instance(a.instanceID)
	return !ok || inst.Dormant()
}

// runtimeFinding puts a node agent's report into a finding: the container as the object when no pod vouches for
// it, the runtime facts as evidence, and no identity (the agent only reported what it saw).
func (a *activation) runtimeFinding(f *finding.Finding) {
	e := a.rt.ev
	f.Identity, f.Time = "", e.Time
	if e.Kind == runtimeevent.KindKubelet {
		f.Object = finding.ObjectRef{Kind: "Node", Name: e.Node}
		f.Evidence = map[string]string{"node": e.Node, "reportedBy": a.ev.User.Username, "reportID": e.ID}
		for i, x := range e.Exposures {
			f.Evidence["exposure"+strconv.Itoa(i)] = x.Rule + " " + x.Target + " (" + x.Service + ")"
		}
		return
	}
	f.Evidence = map[string]string{
		"node": e.Node, "observed": e.Observed, "reportedBy": a.ev.User.Username, "reportID": e.ID,
		"containerdNamespace": e.Container.Namespace, "containerID": e.Container.ID, "origin": e.Container.Origin,
		"image": e.Container.Image, "running": strconv.FormatBool(e.Container.Running),
	}
	f.Identity = ""
	set := func(k, v string) {
		if v != "" {
			f.Evidence[k] = v
		}
	}
	set("imageDigest", e.Container.ImageDigest)
	set("why", e.Container.Why)
	set("claimedPod", e.Container.ClaimedPod)
	set("vnfState", a.state)
	if p := e.Container.Pod; p != nil {
		set("container", p.Container)
	} else {
		f.Object = finding.ObjectRef{Kind: "Container", Name: e.Node + "/" + e.Container.Namespace + "/" + e.Container.ID}
	}
	if x := e.Exec; x != nil {
		set("execID", x.ID)
		set("pid", strconv.FormatUint(uint64(x.Pid), 10))
		set("command", a.runtimeCommand())
		if a.rt.viaDone {
			if a.rt.via == "" {
				f.Evidence["apiServerExec"] = "none: no admission request or audit event of pods/exec or pods/attach for this pod and container"
			} else {
				f.Evidence["apiServerExec"] = a.rt.via
			}
		}
	}
	f.Time = e.Time
}
