package detect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ktypes "k8s.io/apimachinery/pkg/types"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/runtimeevent"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// Namespaces gives a namespace's labels, for the protected-namespace selector. cluster.View implements it.
type Namespaces interface {
	Labels(ctx context.Context, name string) (map[string]string, error)
}

// Env is what rules see beyond the event.
type Env struct {
	Config    *config.Config // nil: config.Default()
	Inventory vnf.Inventory  // nil: an empty inventory
	Objects   vnf.Objects    // nil: objects are resolved by their own labels and names only
	// Namespaces, when set, gives namespace labels for the protected-namespace selector; without it a namespace is
	// protected when the configuration names it or an inventory instance lives in it.
	Namespaces Namespaces
	// Stages are the audit stages evaluated; nil means DefaultStages. RequestReceived would report the same
	// request twice.
	Stages []auditv1.Stage
	Logger *slog.Logger // nil: slog.Default()
	// Ledger receives the audited execs and attaches and answers apiServerExec(); the admission webhook records
	// into the same ledger. Nil: the engine keeps one of its own.
	Ledger AccessLedger
	// PodSpecs reads pod specs for isPodHook(); nil: no exec counts as a probe or hook.
	PodSpecs PodSpecs
	// ExecGrace is how long after a runtime exec apiServerExec() waits for its admission request or audit event
	// (DefaultExecGrace when 0); ZombieGrace how long an instance must have been dormant for wasDormant().
	ExecGrace, ZombieGrace time.Duration
}

// DefaultStages are the audit stages an engine judges unless told otherwise. ResponseStarted is judged only for a
// session into a pod (exec, attach, port-forward; see judgedAtThisStage): a shell that stays open is reported when
// it opens, not when the attacker leaves, and the session's ResponseComplete is then skipped.
var DefaultStages = []auditv1.Stage{auditv1.StageResponseStarted, auditv1.StageResponseComplete, auditv1.StagePanic}

// maxOpenSessions bounds how many sessions judged at ResponseStarted the engine remembers to skip their
// ResponseComplete; a session forgotten past it is reported a second time when it ends, never missed.
const maxOpenSessions = 65536

// Engine evaluates the enabled rules of a pack over audit events. It is safe for concurrent use.
type Engine struct {
	rules []*Rule
	env   Env
	// stages are the judged stages: a few, compared in turn (cheaper than hashing the event's stage for a map).
	stages []auditv1.Stage
	log    *slog.Logger

	events, skipped, matched atomic.Int64
	errs                     []atomic.Int64 // per rule, runtime CEL errors
	pods                     *podState
	memory                   *objectMemory
	// objects is the cluster view with the memory behind it, what the resolver walks: made once, so that handing it
	// to a resolver as a vnf.Objects costs no allocation per event.
	objects      *withMemory
	namespaces   *namespaceMemory
	denials      *denialState
	lookupErrors atomic.Int64
	// opened holds the audit IDs of sessions judged when they opened (ResponseStarted).
	opened *boundedMap[ktypes.UID, struct{}]
	writes *workloadWrites

	// The rules an event can match, as indices into rules in their order: auditRules for an audit event, by its
	// resource, subresource and verb; runtimeRules for a node agent's report.
	auditRules   *ruleIndex
	runtimeRules []int

	// checkRules, set by tests only, is called after the rules with the event's activation, to compare the
	// guards and the index with CEL (guard_test.go).
	checkRules func(act *activation, source string)
}

// Stats are the engine's counters.
type Stats struct {
	Events       int64            // events evaluated
	Skipped      int64            // events of a stage not evaluated
	Findings     int64            // findings produced
	LookupErrors int64            // cluster lookups that failed while resolving an object's VNF instance
	RuleErrors   map[string]int64 // runtime CEL errors by rule id
}

// NewEngine builds an engine over the enabled rules. Rules with the same id are an error: merge packs first.
func NewEngine(rules []*Rule, env Env) (*Engine, error) {
	if env.Config == nil {
		env.Config = config.Default()
	}
	if env.Inventory == nil {
		env.Inventory = vnf.Static{Snap: vnf.Empty("none")}
	}
	if env.Logger == nil {
		env.Logger = slog.Default()
	}
	stages := env.Stages
	if stages == nil {
		stages = DefaultStages
	}
	if env.Ledger == nil {
		env.Ledger = NewMemoryLedger()
	}
	e := &Engine{env: env, stages: slices.Compact(slices.Sorted(slices.Values(stages))), log: env.Logger, pods: newPodState(), denials: newDenialState(), memory: newObjectMemory(), namespaces: newNamespaceMemory(),
		opened: newBoundedMap[ktypes.UID, struct{}](maxOpenSessions), writes: newWorkloadWrites()}
	e.objects = &withMemory{live: env.Objects, memory: e.memory}
	seen := map[string]bool{}
	for _, r := range rules {
		if r != nil && r.Override {
			return nil, fmt.Errorf("detect: rule %s (%s) only switches a rule on or off: Merge it over the rules it names", r.ID, r.Source)
		}
		if r == nil || r.cond == nil {
			return nil, errors.New("detect: rule not compiled: load rules with ParseRules, LoadRules or LoadPaths")
		}
		if seen[r.ID] {
			return nil, fmt.Errorf("detect: duplicate rule id %s (%s)", r.ID, r.Source)
		}
		seen[r.ID] = true
		if r.Enabled {
			e.rules = append(e.rules, r)
		}
	}
	e.errs = make([]atomic.Int64, len(e.rules))
	e.index()
	return e, nil
}

// index files the rules by the resources, subresources and verbs their guards say they can match: an event then
// visits only the rules that can be true for its own.
func (e *Engine) index() {
	var audit []int
	for i, r := range e.rules {
		if r.Events == EventsRuntime {
			e.runtimeRules = append(e.runtimeRules, i)
		} else {
			audit = append(audit, i)
		}
	}
	e.auditRules = e.fileRules(audit, 0)
}

// indexedValues read an event's values of indexedPaths, as the guards read them (guardFields).
var indexedValues = func() (read [len(indexedPaths)]func(*auditv1.Event) string) {
	for i, path := range indexedPaths {
		read[i] = guardFields[path]
	}
	return read
}()

// A ruleIndex is one level of the index: byValue for an event whose field has a value some rule's guard names
// (holding those rules and the ones that name no value), other (the rules that name none) for any other value;
// rules at the last level.
type ruleIndex struct {
	byValue map[string]*ruleIndex
	other   *ruleIndex
	rules   []int
}

// fileRules builds the levels of the index from level on over rules (indices into e.rules, in order).
func (e *Engine) fileRules(rules []int, level int) *ruleIndex {
	if level == len(indexedPaths) {
		return &ruleIndex{rules: rules}
	}
	named := func(i int) []string { return e.rules[i].guard.bounds[level] }
	with := func(value string, anyOnly bool) []int {
		var out []int
		for _, i := range rules {
			if vs := named(i); vs == nil || !anyOnly && slices.Contains(vs, value) {
				out = append(out, i)
			}
		}
		return out
	}
	x := &ruleIndex{byValue: map[string]*ruleIndex{}, other: e.fileRules(with("", true), level+1)}
	for _, i := range rules {
		for _, v := range named(i) {
			if x.byValue[v] == nil {
				x.byValue[v] = e.fileRules(with(v, false), level+1)
			}
		}
	}
	return x
}

// candidates are the rules that can match an event of the source.
func (e *Engine) candidates(ev *auditv1.Event, source string) []int {
	if source == EventsRuntime {
		return e.runtimeRules
	}
	x := e.auditRules
	for _, value := range indexedValues {
		if next, ok := x.byValue[value(ev)]; ok {
			x = next
		} else {
			x = x.other
		}
	}
	return x.rules
}

// Rules returns the enabled rules in evaluation order.
func (e *Engine) Rules() []*Rule { return e.rules }

// Stats returns a copy of the counters.
func (e *Engine) Stats() Stats {
	s := Stats{Events: e.events.Load(), Skipped: e.skipped.Load(), Findings: e.matched.Load(),
		LookupErrors: e.lookupErrors.Load(), RuleErrors: map[string]int64{}}
	for i := range e.errs {
		if n := e.errs[i].Load(); n > 0 {
			s.RuleErrors[e.rules[i].ID] = n
		}
	}
	return s
}

// Evaluate runs every enabled rule over one event and returns a finding per matching rule. Runtime errors of a
// rule are counted and logged and count as no match; the error result is reserved for a cancelled context.
func (e *Engine) Evaluate(ctx context.Context, ev *auditv1.Event) ([]finding.Finding, error) {
	if ev == nil {
		return nil, nil
	}
	recordAudit(e.env.Ledger, ev)
	if !e.judgedAtThisStage(ev) {
		e.skipped.Add(1)
		return nil, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("evaluate audit event %s: %w", ev.AuditID, err)
	}
	e.events.Add(1)
	scratch := scratchPool.Get().(*evalScratch)
	defer scratch.release()
	act := scratch.reset(e, ctx, ev)
	source := EventsAudit
	if rt, ok, err := runtimeevent.FromEnvelope(ev); ok {
		if err != nil {
			e.log.Warn("runtime event unreadable; no runtime rule judges it", "auditID", string(ev.AuditID), "err", err)
			return nil, nil
		}
		source, act.rt = EventsRuntime, &runtimeState{ev: rt}
		e.rememberPodSpec(ctx, rt)
	} else {
		e.pods.observe(act)
		e.memory.observe(act)
		e.writes.observe(act)
		act.denials = e.denials.observe(ev)
	}
	var out []finding.Finding
	for _, i := range e.candidates(ev, source) {
		r := e.rules[i]
		if !r.guard.admits(act) {
			continue
		}
		if !r.guard.complete {
			// Eval, not ContextEval: the context is checked once per event above, and wrapping the activation
			// for every rule costs more than the rule.
			prog, err := r.cond.get()
			var val ref.Val
			if err == nil {
				val, _, err = prog.Eval(act)
			}
			if err != nil {
				if ctx.Err() != nil {
					return out, fmt.Errorf("evaluate audit event %s: %w", ev.AuditID, ctx.Err())
				}
				e.errs[i].Add(1)
				e.log.Debug("rule evaluation failed", "rule", r.ID, "source", r.Source, "auditID", string(ev.AuditID), "err", err)
				continue
			}
			if val != types.True {
				continue
			}
		}
		// Written where it stays: a finding is four hundred bytes, copied otherwise.
		out = append(out, finding.Finding{})
		e.finding(&out[len(out)-1], r, act)
	}
	if e.checkRules != nil {
		e.checkRules(act, source)
	}
	// After the rules: they judge a namespace change against what the namespace was before it.
	if act.rt == nil {
		e.namespaces.observe(act)
	}
	e.matched.Add(int64(len(out)))
	return out, nil
}

// rememberPodSpec reads the spec of the pod a running container reports belongs to, when the node first reports
// the container (and at each inventory, from the cache): isPodHook() needs the spec to tell the kubelet's exec
// probes from other execs, and a probe's exec reported just before the VNFM deletes the pod (heal, stop, scale in)
// is judged after the pod is gone — a spec read only then is not found, and the probe was called a bypass of the
// API server. PodSpecs caches by the pod's UID. A failed read is only logged: the exec is then judged as before.
func (e *Engine) rememberPodSpec(ctx context.Context, rt *runtimeevent.Event) {
	if e.env.PodSpecs == nil || rt.Kind != runtimeevent.KindContainer || !rt.Container.Running || rt.Container.Pod == nil {
		return
	}
	p := rt.Container.Pod
	if _, err := e.env.PodSpecs.PodSpec(ctx, p.Namespace, p.Name, p.UID); err != nil {
		e.log.Debug("pod spec not read at the container's report; its execs are judged with a later read", "pod", p.Namespace+"/"+p.Name, "err", err)
	}
}

// judgedAtThisStage says whether the event's stage is one the engine judges. ResponseStarted exists only for
// long-running requests; of those, only sessions into a pod are judged there (a watch's ResponseStarted says
// nothing its ResponseComplete does not), and a session judged when it opened is not judged again when it ends.
// Without ResponseStarted among the stages (the audit policy omits it), sessions are judged at ResponseComplete.
func (e *Engine) judgedAtThisStage(ev *auditv1.Event) bool {
	if !slices.Contains(e.stages, ev.Stage) {
		return false
	}
	switch ev.Stage {
	case auditv1.StageResponseStarted:
		if !isPodAccess(ev) {
			return false
		}
		e.opened.put(ev.AuditID, struct{}{})
	case auditv1.StageResponseComplete:
		if _, judged := e.opened.get(ev.AuditID); judged {
			e.opened.delete(ev.AuditID)
			return false
		}
	}
	return true
}

// finding writes the finding of rule r for the event into f.
func (e *Engine) finding(f *finding.Finding, r *Rule, act *activation) {
	ev := act.ev
	obj := finding.ObjectRef{}
	if ref := ev.ObjectRef; ref != nil {
		obj = finding.ObjectRef{Kind: kindName(ref.Resource), Namespace: ref.Namespace, Name: ref.Name, Subresource: ref.Subresource}
		if ref.APIGroup != "" {
			obj.APIVersion = ref.APIGroup + "/" + ref.APIVersion
		} else {
			obj.APIVersion = ref.APIVersion
		}
		if obj.Name == "" {
			// A create names its object only in the body.
			if md, ok := act.objectMeta(); ok {
				obj.Name = md.Name
			}
		}
	}
	act.resolve()
	*f = finding.Finding{
		Time:        ev.StageTimestamp.Time,
		Source:      r.Events,
		Rule:        r.ID,
		Technique:   r.Technique,
		Mitigations: r.Mitigations,
		Severity:    r.Severity,
		Action:      "detected",
		Message:     e.render(r, act),
		VNFInstance: act.instanceID,
		VNFProduct:  act.product,
		Identity:    ev.User.Username,
		Object:      obj,
		// Sized for the eight entries an audit finding can have, so that the map is made once.
		Evidence: make(map[string]string, 8),
	}
	f.Evidence["auditID"] = string(ev.AuditID)
	f.Evidence["stage"] = string(ev.Stage)
	f.Evidence["verb"] = ev.Verb
	f.Evidence["requestURI"] = ev.RequestURI
	f.Evidence["sourceIPs"] = strings.Join(ev.SourceIPs, ",")
	if ev.UserAgent != "" {
		f.Evidence["userAgent"] = ev.UserAgent
	}
	if ev.ResponseStatus != nil {
		f.Evidence["responseCode"] = responseCode(ev.ResponseStatus.Code)
	}
	if act.state != "" {
		f.Evidence["vnfState"] = act.state
	}
	if f.Time.IsZero() {
		f.Time = ev.RequestReceivedTimestamp.Time
	}
	if act.rt != nil {
		act.runtimeFinding(f)
	}
	f.ID = finding.Key(r.ID, f.Object, f.VNFInstance)
}

// responseCode is the code in decimal; an HTTP status is one of responseCodes, made once, so that a finding does not
// format it again.
func responseCode(code int32) string {
	if code >= 0 && int(code) < len(responseCodes) {
		return responseCodes[code]
	}
	return strconv.FormatInt(int64(code), 10)
}

var responseCodes = func() (codes [600]string) {
	for i := range codes {
		codes[i] = strconv.Itoa(i)
	}
	return codes
}()

// render evaluates the output template; a part that fails prints as <error> so the finding still carries the rule.
// The parts are evaluated first and the message written in one allocation of its exact length: fresh memory is what
// a finding costs most (a builder sized by the template, most of it unused, was a third of a finding's bytes).
func (e *Engine) render(r *Rule, act *activation) string {
	var stack [maxStackParts]string
	parts := stack[:0]
	if len(r.output) > len(stack) {
		parts = make([]string, 0, len(r.output))
	}
	n := 0
	for _, p := range r.output {
		s := e.renderPart(r, p, act)
		parts = append(parts, s)
		n += len(s)
	}
	var b strings.Builder
	b.Grow(n)
	for _, s := range parts {
		b.WriteString(s)
	}
	return b.String()
}

// maxStackParts is how many parts of an output template render keeps on its stack (the built-in rules have fewer).
const maxStackParts = 32

// renderPart is the text of one part of an output template.
func (e *Engine) renderPart(r *Rule, p outputPart, act *activation) string {
	if p.prog == nil {
		return p.text
	}
	if p.str != nil {
		if s, ok := p.str(act); ok {
			return s
		}
	}
	prog, err := p.prog.get()
	var v ref.Val
	if err == nil {
		v, _, err = prog.ContextEval(act.ctx, act)
	}
	if err != nil {
		e.log.Debug("rule output failed", "rule", r.ID, "err", err)
		return "<error>"
	}
	return valueString(v)
}

func valueString(v ref.Val) string {
	switch x := v.(type) {
	case types.String:
		return string(x)
	case types.Null:
		return ""
	}
	if s, ok := v.ConvertToType(types.StringType).(types.String); ok {
		return string(s)
	}
	if n, err := v.ConvertToNative(anyType); err == nil {
		if b, err := json.Marshal(n); err == nil {
			return string(b)
		}
	}
	return fmt.Sprint(v.Value())
}

var kindNames = map[string]string{
	"nodes": "Node", "namespaces": "Namespace", "serviceaccounts": "ServiceAccount", "roles": "Role",
	"clusterroles": "ClusterRole", "rolebindings": "RoleBinding", "clusterrolebindings": "ClusterRoleBinding",
	"selfsubjectaccessreviews": "SelfSubjectAccessReview", "selfsubjectrulesreviews": "SelfSubjectRulesReview",
	"persistentvolumes": "PersistentVolume", "tokenreviews": "TokenReview",
}

// kindName names the kind of an audit resource; an unknown resource is reported as the resource itself.
func kindName(resource string) string {
	if k, ok := kindOf[resource]; ok {
		return k
	}
	if k, ok := kindNames[resource]; ok {
		return k
	}
	return resource
}

// activation is one event's view for CEL: the event map, and the lazily computed objects and helpers, each
// computed at most once however many rules read it.
type activation struct {
	e     *Engine
	ctx   context.Context
	ev    *auditv1.Event
	event *eventVal

	snap              *vnf.Snapshot // the inventory in force when the request was received
	reqObj, respObj   map[string]any
	reqDone, respDone bool
	spec              map[string]any
	specDone          bool
	// bodies are the views of the request and response bodies (bodyview.go), what the engine's own helpers read
	// of them; specView the pod spec in them (nil: {}) once specViewDone; meta the object's metadata once metaDone.
	bodies                 *eventBodies
	specView               *podView
	specViewDone, metaDone bool
	meta                   *metav1.ObjectMeta
	commands               []string
	takeover               []string
	command                string // execCommand(), once commandDone
	commandDone            bool
	shapes                 shapeState // dangerousCapabilities(), runsAsRoot() (danger.go)
	denials                int
	resolved               bool
	instanceID, product    string
	state                  string
	nsDormant, nsDone      bool
	protected, protDone    bool
	vnfm, breakGlass, ctl  int8 // 0 unknown, 1 false, 2 true
	admin, removed         int8
	rt                     *runtimeState // a node agent's report; nil for an API-server audit event
}

var _ interpreter.Activation = (*activation)(nil)

// evalScratch is the activation and the CEL event of one evaluation, reused across events through scratchPool:
// they are a kilobyte, allocated for every event otherwise, and nothing keeps them once Evaluate returns (findings
// copy what they print; the engine's memories keep values built for them, not the activation's).
type evalScratch struct {
	act    activation
	st     eventState
	bodies eventBodies
}

// eventBodies are the views of one event's bodies, read on first use.
type eventBodies struct {
	req, resp         bodyView
	reqRead, respRead bool
}

var scratchPool = sync.Pool{New: func() any {
	s := new(evalScratch)
	s.st.init(nil)
	return s
}}

// reset readies a scratch as release left it (or New made it: cleared) for an event.
func (s *evalScratch) reset(e *Engine, ctx context.Context, ev *auditv1.Event) *activation {
	s.act.e, s.act.ctx, s.act.ev, s.act.bodies, s.act.event = e, ctx, ev, &s.bodies, &s.st.root
	s.st.ev = ev
	return &s.act
}

// release clears what the scratch refers to, so that a pooled one keeps no event alive, and pools it. The event
// state's links between its values stay: they point into the scratch itself. The views of the bodies are only
// marked unread: readView clears a view before it reads into it, and what a view holds (its strings, labels and
// owners) is its own, not the event's, so a pod create's kilobyte of views is not cleared twice.
func (s *evalScratch) release() {
	s.act = activation{}
	s.st.ev = nil
	if s.st.cached {
		clear(s.st.cache[:])
		clear(s.st.found[:])
		s.st.cached = false
	}
	s.bodies.reqRead, s.bodies.respRead = false, false
	scratchPool.Put(s)
}

// Parent implements interpreter.Activation.
func (a *activation) Parent() interpreter.Activation { return nil }

// ResolveName implements interpreter.Activation. The helpers are served from the same tables the rules' Go tests
// (guard.go) call, so that a condition tested in Go and the same condition run by CEL read one function.
func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "event":
		return a.event, true
	case "requestObject":
		return a.requestObject(), true
	case "responseObject":
		return a.responseObject(), true
	case "_object":
		return a.object(), true
	case "_podSpec":
		return a.podSpec(), true
	case "runtime":
		if a.rt == nil {
			return map[string]any{}, true
		}
		return a.requestObject(), true
	case "_denialCount":
		return a.denialCount(), true
	}
	if f := boolHelpers[name]; f != nil {
		return f(a), true
	}
	if f := stringHelpers[name]; f != nil {
		return f(a), true
	}
	if f := listHelpers[name]; f != nil {
		return f(a), true
	}
	return nil, false
}

// boolHelpers, stringHelpers and listHelpers are the helpers of those types, by their hidden variable's name
// (env.go); TestHelperTables keeps them in step with the declarations.
var (
	boolHelpers = map[string]func(*activation) bool{
		"_isDormant":            (*activation).isDormant,
		"_isDormantNamespace":   (*activation).dormantNamespace,
		"_isVNFM":               (*activation).isVNFM,
		"_isBreakGlass":         (*activation).isBreakGlass,
		"_isController":         (*activation).isController,
		"_isAdministrator":      (*activation).isAdministrator,
		"_fromOutsideCluster":   (*activation).fromOutsideCluster,
		"_isVNFGuard":           (*activation).isVNFGuard,
		"_isVNFGuardObject":     (*activation).isVNFGuardObject,
		"_protectionRemoved":    (*activation).protectionRemovedOnce,
		"_isProtectedNamespace": (*activation).isProtected,
		"_isPodAccess":          func(a *activation) bool { return isPodAccess(a.ev) },
		"_isKubeletSession":     func(a *activation) bool { return isKubeletSession(a.ev) },
		"_isKubeletPodLogs":     func(a *activation) bool { return isKubeletPodLogs(a.ev) },
		"_isSystemComponent":    func(a *activation) bool { return isSystemComponent(a.ev.User.Username) },
		"_isWorkloadWrite":      func(a *activation) bool { return isWorkloadWrite(a.ev) },
		"_isVNFGuardDenial":     func(a *activation) bool { return isVNFGuardDenial(a.ev) },
		"_ownerWriteSeen":       (*activation).ownerWriteSeen,
		"_isPodHook":            (*activation).isPodHook,
		"_wasDormant":           (*activation).wasDormant,
	}
	stringHelpers = map[string]func(*activation) string{
		"_vnfInstance":    func(a *activation) string { a.resolve(); return a.instanceID },
		"_vnfProduct":     func(a *activation) string { a.resolve(); return a.product },
		"_vnfState":       func(a *activation) string { a.resolve(); return a.state },
		"_execCommand":    (*activation).execCommand,
		"_apiServerExec":  (*activation).apiServerExec,
		"_runtimeCommand": (*activation).runtimeCommand,
	}
	listHelpers = map[string]func(*activation) []string{
		"_hostTakeover":          (*activation).hostTakeover,
		"_dangerousCapabilities": (*activation).dangerousCapabilities,
		"_runsAsRoot":            (*activation).runsAsRoot,
		"_podHostTakeover":       (*activation).podHostTakeover,
		"_declaredImages":        (*activation).declaredImages,
		"_podCommands":           (*activation).podCommands,
	}
)

func (a *activation) isDormant() bool {
	a.resolve()
	return a.state == string(vnf.Stopped) || a.state == string(vnf.NotInstantiated) || a.state == "UNKNOWN"
}

func (a *activation) isVNFM() bool {
	return a.identity(&a.vnfm, &a.e.env.Config.Identities.VNFM)
}

func (a *activation) isBreakGlass() bool {
	return a.identity(&a.breakGlass, &a.e.env.Config.Identities.BreakGlass)
}

func (a *activation) isController() bool {
	return a.identity(&a.ctl, &a.e.env.Config.Identities.Controllers)
}

func (a *activation) isAdministrator() bool {
	return a.identity(&a.admin, &a.e.env.Config.Identities.Administrators)
}

func (a *activation) denialCount() int64 { return int64(a.denials) }

func (a *activation) podCommands() []string {
	if a.commands == nil {
		a.commands = a.podSpecView().podCommands()
	}
	return a.commands
}

// protectionRemovedOnce is protectionRemoved, computed once per event: a rule's Go test and its CEL program may
// both ask, and each answer may cost a namespace lookup.
func (a *activation) protectionRemovedOnce() bool {
	if a.removed == 0 {
		a.removed = 1
		if a.protectionRemoved() {
			a.removed = 2
		}
	}
	return a.removed == 2
}

func (a *activation) requestObject() map[string]any {
	if !a.reqDone {
		a.reqDone = true
		a.reqObj = decodeObject(a.ev.RequestObject)
	}
	return a.reqObj
}

func (a *activation) responseObject() map[string]any {
	if !a.respDone {
		a.respDone = true
		a.respObj = decodeObject(a.ev.ResponseObject)
	}
	return a.respObj
}

// requestView and responseView are the views of the bodies (bodyview.go), each read once, on first use.
func (a *activation) requestView() *bodyView {
	b := a.eventBodies()
	if !b.reqRead {
		b.reqRead = true
		readView(a.ev.RequestObject, &b.req)
	}
	return &b.req
}

func (a *activation) responseView() *bodyView {
	b := a.eventBodies()
	if !b.respRead {
		b.respRead = true
		readView(a.ev.ResponseObject, &b.resp)
	}
	return &b.resp
}

// eventBodies is where the views are read into: the evaluation's scratch, or for an activation made without one
// (tests), a new one.
func (a *activation) eventBodies() *eventBodies {
	if a.bodies == nil {
		a.bodies = new(eventBodies)
	}
	return a.bodies
}

// object is the full object of a write: the request body, or for a patch (whose body is a patch, not an object)
// the response body.
func (a *activation) object() map[string]any { return writtenObject(a.requestObject, a.responseObject) }

// writtenView is object() of the views: the request body when it has a kind, else the response body unless it is a
// Status, else none (nil, for {}).
func (a *activation) writtenView() *bodyView {
	if req := a.requestView(); req.kindSet {
		return req
	}
	if resp := a.responseView(); resp.kindSet && !(resp.kindString && resp.kind == "Status") {
		return resp
	}
	return nil
}

func writtenObject(request, response func() map[string]any) map[string]any {
	if req := request(); req["kind"] != nil {
		return req
	}
	if resp := response(); resp["kind"] != nil && resp["kind"] != "Status" {
		return resp
	}
	return map[string]any{}
}

func (a *activation) hostTakeover() []string {
	if a.takeover == nil {
		a.takeover = a.podSpecView().hostTakeover()
	}
	return a.takeover
}

// podSpec is the pod spec CEL's podSpec() gives: of the full decode.
func (a *activation) podSpec() map[string]any {
	if !a.specDone {
		a.specDone = true
		a.spec = podSpecOf(a.object())
	}
	return a.spec
}

// podSpecView is the pod spec the engine's helpers read: of the views; nil reads as {}.
func (a *activation) podSpecView() *podView {
	if !a.specViewDone {
		a.specViewDone = true
		if w := a.writtenView(); w != nil {
			a.specView = w.podSpec()
		}
	}
	return a.specView
}

func (a *activation) identity(cache *int8, set *config.IdentitySet) bool {
	if *cache == 0 {
		*cache = 1
		if set.Matches(&a.ev.User) {
			*cache = 2
		}
	}
	return *cache == 2
}

// namespace is the namespace of the event's object; for a nodes/proxy request into a pod (kubeletPod), the pod's.
func (a *activation) namespace() string {
	if a.ev.ObjectRef == nil {
		return ""
	}
	if ns, _, ok := kubeletPod(a.ev); ok {
		return ns
	}
	return a.ev.ObjectRef.Namespace
}

func (a *activation) isProtected() bool {
	if a.protDone {
		return a.protected
	}
	a.protDone = true
	ns := a.namespace()
	if ns == "" {
		return false
	}
	var labels map[string]string
	if a.e.env.Namespaces != nil {
		l, err := a.e.env.Namespaces.Labels(a.ctx, ns)
		if err != nil && !errors.Is(err, vnf.ErrNotFound) {
			a.e.lookupErrors.Add(1)
			a.e.log.Debug("namespace lookup failed", "namespace", ns, "err", err)
		}
		labels = l
	}
	if a.e.env.Config.IsProtected(ns, labels) {
		a.protected = true
		return true
	}
	for _, inst := range a.snapshot().Instances() {
		if inst.Namespace == ns {
			a.protected = true
			break
		}
	}
	return a.protected
}

func (a *activation) dormantNamespace() bool {
	if a.nsDone {
		return a.nsDormant
	}
	a.nsDone = true
	ns := a.namespace()
	if ns == "" {
		return false
	}
	found := false
	for _, inst := range a.snapshot().Instances() {
		if inst.Namespace != ns {
			continue
		}
		if inst.Running() {
			return false
		}
		found = true
	}
	a.nsDormant = found
	return found
}

// objectMeta reads the metadata of the event's object from the request body, or from the response body when the
// request names no object (generateName): decoding the response costs a second decode, so only then. It reads the
// bodies' views, once per event; the namespace is the objectRef's when the body names none, as every caller would
// fill it in. Callers share the result and must not change it.
func (a *activation) objectMeta() (*metav1.ObjectMeta, bool) {
	if !a.metaDone {
		a.metaDone = true
		a.meta = a.readObjectMeta()
	}
	return a.meta, a.meta != nil
}

func (a *activation) readObjectMeta() *metav1.ObjectMeta {
	var fallback *bodyView
	for i, get := range [...]func() *bodyView{a.requestView, a.responseView} {
		v := get()
		if !v.meta.object {
			continue
		}
		if v.kindString && (v.kind == "Status" || strings.HasSuffix(v.kind, "List")) {
			continue
		}
		if v.meta.name != "" {
			return v.objectMeta(a.namespace())
		}
		if i == 0 {
			fallback = v
		}
	}
	if fallback != nil {
		return fallback.objectMeta(a.namespace())
	}
	return nil
}

// metaFromMap reads what resolution needs from decoded metadata: name, namespace, labels and owners. Fields of the
// wrong type are ignored rather than failing the event.
func metaFromMap(md map[string]any) *metav1.ObjectMeta {
	m := &metav1.ObjectMeta{}
	m.Name, _ = md["name"].(string)
	m.Namespace, _ = md["namespace"].(string)
	if labels, ok := md["labels"].(map[string]any); ok {
		m.Labels = make(map[string]string, len(labels))
		for k, v := range labels {
			if s, ok := v.(string); ok {
				m.Labels[k] = s
			}
		}
	}
	owners, _ := md["ownerReferences"].([]any)
	for _, o := range owners {
		om, _ := o.(map[string]any)
		if om == nil {
			continue
		}
		ref := metav1.OwnerReference{}
		ref.APIVersion, _ = om["apiVersion"].(string)
		ref.Kind, _ = om["kind"].(string)
		ref.Name, _ = om["name"].(string)
		if c, ok := om["controller"].(bool); ok {
			ref.Controller = &c
		}
		m.OwnerReferences = append(m.OwnerReferences, ref)
	}
	return m
}

// snapshot is the inventory as it was when the API server received the request (an audit batch arrives later, and
// the NFVO may have stopped the VNF in between), from a source that keeps its history, else the current one.
func (a *activation) snapshot() *vnf.Snapshot {
	if a.snap == nil {
		a.snap = vnf.SnapshotAt(a.e.env.Inventory, a.ev.RequestReceivedTimestamp.Time)
	}
	return a.snap
}

// resolve finds the VNF instance of the event's object, once: from the body of a create or update, from the
// cluster view for an existing object, or from the instances' resource names. A nodes/proxy request into a pod
// (kubeletPod: a session, or a read of its logs) is resolved by that pod.
func (a *activation) resolve() {
	if a.resolved {
		return
	}
	a.resolved = true
	ref := a.ev.ObjectRef
	if ref == nil {
		return
	}
	kind, ok := kindOf[ref.Resource]
	namespace, name := ref.Namespace, ref.Name
	if !ok {
		if namespace, name, ok = kubeletPod(a.ev); !ok {
			return
		}
		kind = "Pod"
	}
	snap := a.snapshot()
	objects := a.e.objects
	res := &vnf.Resolver{LabelKey: a.e.env.Config.InstanceLabel, Objects: objects}
	var obj metav1.Object
	if ref.Subresource == "" {
		if md, ok := a.objectMeta(); ok {
			obj = md
		}
	}
	if obj == nil && name != "" {
		got, err := objects.Get(a.ctx, kind, namespace, name)
		switch {
		case err == nil:
			obj = got
		case !errors.Is(err, vnf.ErrNotFound):
			a.e.lookupErrors.Add(1)
			a.e.log.Debug("object lookup failed", "kind", kind, "namespace", namespace, "name", name, "err", err)
		}
	}
	if obj == nil {
		if name == "" {
			return
		}
		obj = &metav1.ObjectMeta{Namespace: namespace, Name: name}
	}
	b, err := res.Resolve(a.ctx, snap, kind, obj)
	if err != nil {
		a.e.lookupErrors.Add(1)
		a.e.log.Debug("resolve VNF instance failed", "kind", kind, "namespace", namespace, "name", name, "err", err)
		return
	}
	if !b.Bound() {
		return
	}
	a.instanceID = b.InstanceID
	if b.Instance == nil {
		a.state = "UNKNOWN"
		return
	}
	a.state = b.Instance.State()
	a.product = b.Instance.VnfProductName
	if a.rt != nil {
		a.rt.instance = b.Instance
	}
}

// fromOutsideCluster reports whether the request came from an address outside the configured pod and node ranges
// (false when none are configured: then nothing can be said).
func (a *activation) fromOutsideCluster() bool {
	for _, src := range a.ev.SourceIPs {
		addr, err := netip.ParseAddr(src)
		if err != nil {
			continue
		}
		if inside, known := a.e.env.Config.InsideCluster(addr); known && !inside {
			return true
		}
	}
	return false
}
