package policy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"runtime/debug"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// Namespaces gives the labels of a namespace, to decide whether it is protected.
type Namespaces interface {
	// Labels returns the namespace's labels; a namespace that does not exist has none (error wrapping
	// vnf.ErrNotFound, which the evaluator treats as no labels).
	Labels(ctx context.Context, name string) (map[string]string, error)
}

// Environment is what the evaluator needs from outside: configuration, the VNF inventory, and a view of the
// cluster (owners, target pods, PVCs, namespaces). Objects and Namespaces may be nil offline.
type Environment struct {
	Config     *config.Config
	Inventory  vnf.Inventory
	Objects    vnf.Objects
	Namespaces Namespaces
	// Images verifies signatures and vulnerability reports (checks image-signature and image-vulnerabilities);
	// nil turns both checks off.
	Images ImageIntegrity
	Logger *slog.Logger
	// LookupBudget bounds all the cluster lookups of one request together (0: DefaultLookupBudget).
	LookupBudget time.Duration
}

// DefaultLookupBudget is the time all the cluster lookups of one request may take together: well below the
// webhook's default timeout (5 s), so that a slow API server ends in a decision — the lookup-free checks' denials and
// an internal error — and never in the API server's own webhook timeout, which admits the request unjudged where
// the webhook's failurePolicy is Ignore.
const DefaultLookupBudget = 3 * time.Second

// ImageIntegrity answers what the pod spec cannot: who signed an image, and what its scan found (M1047).
// Implementations talk to registries and read reports; they cache, and they bound every call in time.
type ImageIntegrity interface {
	// Signatures reports whether images of the provider's instances must be signed (keys are configured).
	Signatures() bool
	// VerifySignature checks that image carries a valid signature by one of provider's keys and returns its digest.
	// The error says why not: no signature, another key, a digest mismatch, no keys for the provider, or a
	// registry that cannot be reached.
	VerifySignature(ctx context.Context, image, provider string) (digest string, err error)
	// Vulnerabilities reports whether the vulnerability gate is on.
	Vulnerabilities() bool
	// CheckVulnerabilities judges an image (reference and digest) against the gate: "" when it passes, else why
	// not, naming the worst vulnerabilities.
	CheckVulnerabilities(ctx context.Context, image, digest string) (deny string, err error)
}

// Evaluator runs the registered checks over requests.
type Evaluator struct {
	env      Environment
	checks   []Check
	modes    []config.Mode
	resolver vnf.Resolver
	logger   *slog.Logger
}

// New builds an evaluator with every registered check, in the modes the configuration sets. A mode configured for
// a check that does not exist is an error naming it.
func New(env Environment) (*Evaluator, error) {
	if env.Config == nil {
		env.Config = config.Default()
	}
	if env.Inventory == nil {
		return nil, errors.New("policy: no inventory source")
	}
	for id := range env.Config.Checks {
		if _, ok := registry[id]; !ok {
			return nil, fmt.Errorf("config: checks.%s: no such check; the checks are %s", id, strings.Join(CheckIDs(), ", "))
		}
	}
	if env.LookupBudget <= 0 {
		env.LookupBudget = DefaultLookupBudget
	}
	e := &Evaluator{env: env, resolver: vnf.Resolver{LabelKey: env.Config.InstanceLabel, Objects: env.Objects}, logger: env.Logger}
	if e.logger == nil {
		e.logger = slog.Default()
	}
	for _, id := range CheckIDs() {
		c := registry[id]()
		if init, ok := c.(interface{ init(*config.Config) error }); ok {
			if err := init.init(env.Config); err != nil {
				return nil, fmt.Errorf("check %s: %w", id, err)
			}
		}
		e.checks = append(e.checks, c)
		e.modes = append(e.modes, env.Config.ModeOf(id))
	}
	return e, nil
}

// Checks returns the evaluator's checks.
func (e *Evaluator) Checks() []Check { return e.checks }

// Config returns the configuration the evaluator runs with.
func (e *Evaluator) Config() *config.Config { return e.env.Config }

// Evaluate judges one request. It never panics: a check that fails is an internal error, which denies in protected
// namespaces and allows elsewhere (as configured), and is reported in the decision.
//
// A failed lookup (namespace labels, target pod, scaled workload, owner chain) switches off only the checks that
// declare they need it (NeedsLookups); it is one internal error naming them. Every other check runs, and its
// denials stand: a Peirates pod is denied by host-takeover and reverse-shell however slow the API server is.
func (e *Evaluator) Evaluate(ctx context.Context, req *Request) *Decision {
	a := &Attributes{Request: req, Config: e.env.Config, Snapshot: e.env.Inventory.Snapshot(), Objects: e.env.Objects, Images: e.env.Images}
	d := &Decision{Request: req, Allowed: true}
	failed := e.prepare(ctx, a)
	d.Protected, d.Binding = a.Protected, a.Binding
	if a.Profile != nil {
		d.Profile = a.Profile.Name
	}
	var found []Violation
	for i, c := range e.checks {
		if need := needsOf(c); need.Has(a.Unknown) {
			for _, f := range failed {
				if need.Has(f.lookup) {
					f.notRun = append(f.notRun, c.ID())
				}
			}
			continue
		}
		before := len(found)
		var err error
		found, err = runCheck(ctx, c, a, found)
		if err != nil {
			e.internalError(d, a, c.ID(), err)
			continue
		}
		for _, v := range found[before:] {
			switch e.modes[i] {
			case config.Warn:
				d.Warnings = append(d.Warnings, v)
			case config.Audit:
				d.Audits = append(d.Audits, v)
			default:
				d.Denials = append(d.Denials, v)
				d.Allowed = false
			}
		}
	}
	for _, f := range failed {
		e.internalError(d, a, "lookup", f)
	}
	d.Exceptions, d.BreakGlass, d.Overrides = a.notes, a.breakGlass, a.overrides
	applyNodeAgentException(d, a)
	return d
}

// lookupError is a lookup that failed, with the checks that were not run for want of it.
type lookupError struct {
	lookup Lookup
	err    error
	notRun []string
}

func (l *lookupError) Error() string {
	if len(l.notRun) == 0 {
		return l.err.Error()
	}
	return l.err.Error() + " (not judged for want of the " + l.lookup.String() + ": " + strings.Join(l.notRun, ", ") + ")"
}

func (l *lookupError) Unwrap() error { return l.err }

// runCheck calls a check, turning a panic into an error so that bad input never takes the server down.
func runCheck(ctx context.Context, c Check, a *Attributes, out []Violation) (res []Violation, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = out, fmt.Errorf("check %s panicked: %v\n%s", c.ID(), r, debug.Stack())
		}
	}()
	return c.Evaluate(ctx, a, out)
}

func (e *Evaluator) internalError(d *Decision, a *Attributes, where string, err error) {
	closed := e.failClosed(a)
	d.Errors = append(d.Errors, fmt.Errorf("%s: %w", where, err))
	if closed {
		d.Allowed = false
	}
	e.logger.Error("policy check failed", "check", where, "error", err, "failClosed", closed,
		"namespace", a.Request.Namespace, "name", a.Request.Name, "uid", a.Request.UID)
}

// failClosed says whether an internal error denies the request. When the namespace's labels could not be read and
// the configuration does not name it, nobody knows whether it is protected: the stricter of the two failure
// policies applies, because failing open in a namespace that is in fact protected would let a rogue VNF in (the
// checks that need the labels did not run). The cost is bounded: the namespace informer holds every namespace
// that exists for more than a moment, so only a namespace created just now, during an API server failure, is
// refused — and the webhook's own failurePolicy still keeps a vnfguard outage from blocking other namespaces.
func (e *Evaluator) failClosed(a *Attributes) bool {
	cfg := e.env.Config
	if a.Unknown.Has(LookupNamespace) {
		return cfg.FailClosed(true) || cfg.FailClosed(false)
	}
	return cfg.FailClosed(a.Protected)
}

// prepare fills the attributes shared by every check. A lookup that fails leaves its attributes empty, is recorded
// in a.Unknown and returned; the others are still made.
func (e *Evaluator) prepare(ctx context.Context, a *Attributes) []*lookupError {
	a.budget.begin(ctx, e.env.LookupBudget)
	defer a.budget.stop()
	ctx = &a.budget
	req := a.Request
	cfg := e.env.Config
	var failed []*lookupError
	fail := func(l Lookup, err error) {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (this request's lookups ran past their %s budget: the API server is slow or unavailable)", err, e.env.LookupBudget)
		}
		a.Unknown |= l
		failed = append(failed, &lookupError{lookup: l, err: err})
	}
	if ns := req.ClassNamespace(); ns != "" {
		// The configuration's names decide without a lookup; the labels are read only when a selector could match.
		a.Protected = cfg.IsProtected(ns, nil)
		if e.env.Namespaces != nil && !a.Protected && cfg.ProtectionDependsOnLabels(ns) {
			l, err := e.env.Namespaces.Labels(ctx, ns)
			switch {
			case err == nil || errors.Is(err, vnf.ErrNotFound):
				a.Protected = cfg.IsProtected(ns, l)
			default:
				fail(LookupNamespace, fmt.Errorf("read the labels of namespace %s to tell whether it is protected: %w", ns, describe(err)))
			}
		}
	}
	if cfg.Identities.VNFM.Matches(&req.User) {
		a.Identity |= VNFM
	}
	if cfg.Identities.BreakGlass.Matches(&req.User) {
		a.Identity |= BreakGlass
	}
	if cfg.Identities.Controllers.Matches(&req.User) {
		a.Identity |= Controller
	}
	if cfg.Identities.Administrators.Matches(&req.User) {
		a.Identity |= Administrator
	}

	if view, ok := podViewOf(req.Object); ok {
		a.workload = view
		a.Workload = &a.workload
		a.SpecChanged = true
		if req.Operation == Update {
			if old, ok := podViewOf(req.OldObject); ok {
				a.SpecChanged = !reflect.DeepEqual(old.Spec, view.Spec)
			}
		}
	}

	// The object whose VNF instance matters: the object itself, the target pod, or the scaled workload.
	var subject metav1.Object
	subjectKind := req.Kind.Kind
	switch {
	case req.IsNodeProxy():
		// A node's kubelet API: no pod is looked up (check kubelet-session reads the path alone).
	case req.Operation == Connect || req.SubResource == "ephemeralcontainers":
		pod, err := e.targetPod(ctx, req)
		if err != nil {
			fail(LookupBinding, err)
			return failed
		}
		if pod != nil {
			a.Target, subject, subjectKind = pod, pod, "Pod"
		}
	case req.SubResource == "scale":
		kind := kindOfResource(req.Resource.Resource)
		if e.env.Objects != nil && kind != "" {
			owner, err := e.env.Objects.Get(ctx, kind, req.Namespace, req.Name)
			if err != nil && !errors.Is(err, vnf.ErrNotFound) {
				fail(LookupBinding, fmt.Errorf("look up %s %s/%s, whose scale is changed: %w", kind, req.Namespace, req.Name, describe(err)))
				return failed
			}
			if owner != nil {
				subject, subjectKind = owner, kind
			}
		}
	default:
		if m, ok := req.Object.(metav1.Object); ok {
			subject = m
		} else if m, ok := req.OldObject.(metav1.Object); ok {
			subject = m
		}
	}
	if subject != nil {
		b, err := e.resolver.Resolve(ctx, a.Snapshot, subjectKind, subject)
		if err != nil {
			fail(LookupBinding, fmt.Errorf("find the VNF instance of %s %s/%s: %w", subjectKind, req.Namespace, subject.GetName(), describe(err)))
			return failed
		}
		a.Binding = b
		if b.Instance != nil {
			a.Profile = cfg.ProfileFor(b.Instance.VnfProductName)
		}
	}
	return failed
}

// describe keeps a lookup error's message from ending empty after a colon: an error that carries no text (an API
// status without a message, say), or wraps one, is completed with the type of the innermost error.
func describe(err error) error {
	if msg := strings.TrimSpace(err.Error()); msg != "" && !strings.HasSuffix(msg, ":") {
		return err
	}
	return &silentError{err: err}
}

type silentError struct{ err error }

func (s *silentError) Error() string {
	inner := s.err
	for next := errors.Unwrap(inner); next != nil; next = errors.Unwrap(inner) {
		inner = next
	}
	msg := strings.TrimSuffix(strings.TrimSpace(s.err.Error()), ":")
	why := fmt.Sprintf("the lookup failed with an error that gives no reason (%T)", inner)
	if msg == "" {
		return why
	}
	return msg + ": " + why
}

func (s *silentError) Unwrap() error { return s.err }

// targetPod fetches the pod a CONNECT or ephemeral-containers request reaches.
func (e *Evaluator) targetPod(ctx context.Context, req *Request) (*corev1.Pod, error) {
	if pod, ok := req.Object.(*corev1.Pod); ok {
		return pod, nil
	}
	if e.env.Objects == nil {
		return nil, nil
	}
	obj, err := e.env.Objects.Get(ctx, "Pod", req.Namespace, req.Name)
	if errors.Is(err, vnf.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up target pod %s/%s: %w", req.Namespace, req.Name, describe(err))
	}
	if pod, ok := obj.(*corev1.Pod); ok {
		return pod, nil
	}
	// A metadata-only view: enough for the lifecycle checks.
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: obj.GetName(), Namespace: obj.GetNamespace(),
		Labels: obj.GetLabels(), OwnerReferences: obj.GetOwnerReferences(), DeletionTimestamp: obj.GetDeletionTimestamp()}}, nil
}

// podViewOf returns the pod spec an object would run: a Pod's spec or a workload's pod template; false for
// objects that run none.
func podViewOf(obj runtime.Object) (PodView, bool) {
	switch o := obj.(type) {
	case *corev1.Pod:
		return PodView{Meta: &o.ObjectMeta, Spec: &o.Spec, Path: "spec"}, true
	case *appsv1.Deployment:
		return PodView{Meta: &o.Spec.Template.ObjectMeta, Spec: &o.Spec.Template.Spec, Path: "spec.template.spec"}, true
	case *appsv1.StatefulSet:
		return PodView{Meta: &o.Spec.Template.ObjectMeta, Spec: &o.Spec.Template.Spec, Path: "spec.template.spec"}, true
	case *appsv1.DaemonSet:
		return PodView{Meta: &o.Spec.Template.ObjectMeta, Spec: &o.Spec.Template.Spec, Path: "spec.template.spec"}, true
	case *appsv1.ReplicaSet:
		return PodView{Meta: &o.Spec.Template.ObjectMeta, Spec: &o.Spec.Template.Spec, Path: "spec.template.spec"}, true
	case *corev1.ReplicationController:
		if o.Spec.Template == nil {
			// The API server requires a template; judged as one without containers, never as "no pod".
			o.Spec.Template = &corev1.PodTemplateSpec{}
		}
		return PodView{Meta: &o.Spec.Template.ObjectMeta, Spec: &o.Spec.Template.Spec, Path: "spec.template.spec"}, true
	case *batchv1.Job:
		return PodView{Meta: &o.Spec.Template.ObjectMeta, Spec: &o.Spec.Template.Spec, Path: "spec.template.spec"}, true
	case *batchv1.CronJob:
		t := &o.Spec.JobTemplate.Spec.Template
		return PodView{Meta: &t.ObjectMeta, Spec: &t.Spec, Path: "spec.jobTemplate.spec.template.spec"}, true
	}
	return PodView{}, false
}

// kindOfResource maps the workload resources that have a scale subresource to their kinds.
func kindOfResource(resource string) string {
	switch resource {
	case "deployments":
		return "Deployment"
	case "statefulsets":
		return "StatefulSet"
	case "replicasets":
		return "ReplicaSet"
	case "replicationcontrollers":
		return "ReplicationController"
	}
	return ""
}

// IsWorkloadKind reports whether kind is one the instantiation check governs.
func IsWorkloadKind(kind string) bool {
	switch kind {
	case "Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob":
		return true
	}
	return false
}
