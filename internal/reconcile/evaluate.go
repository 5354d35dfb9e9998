package reconcile

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// Source is the Source of every reconciliation finding.
const Source = "reconcile"

// The rules.
const (
	RuleRogue    = "reconcile-rogue"
	RuleZombie   = "reconcile-zombie"
	RuleResidual = "reconcile-residual"
	RuleDrift    = "reconcile-drift"
)

// The Action of a finding when it opens and when it resolves.
const (
	ActionReported = "reported"
	ActionResolved = "resolved"
)

// Defaults of Options.
const (
	// DefaultFor is how long a condition must hold before it becomes a finding: long enough for a pod to finish
	// terminating after a STOP or a TERMINATE (30 s is the default terminationGracePeriodSeconds), and for the
	// VNFM's inventory to catch up with a pod a controller has just replaced.
	DefaultFor = 30 * time.Second
	// DefaultDeletionGrace is how long an object that is being deleted is ignored: a pod's deletionTimestamp is
	// the end of its grace period, and a finalizer normally clears within seconds. An object still there after
	// that is stuck, and is judged like any other.
	DefaultDeletionGrace = time.Minute
)

// Options tune reconciliation. The zero value is taken literally (no For, no deletion grace) except for an
// empty InstanceLabel; use DefaultOptions and change what differs.
type Options struct {
	// InstanceLabel is the label that binds an object to an instance (config.Config.InstanceLabel); empty:
	// vnf.DefaultInstanceLabel.
	InstanceLabel string
	// For is how long a condition must hold before the Tracker opens a finding (like a Prometheus alert's for:).
	// Evaluate ignores it.
	For time.Duration
	// DeletionGrace: objects whose deletionTimestamp is younger than this (or in the future, as a terminating
	// pod's is) are treated as gone.
	DeletionGrace time.Duration
	// Claims, when set, binds objects that an instance once listed as resources and lists no more (see Claims);
	// the caller has it Learn each snapshot. Nil: the inventory and its history only.
	Claims *Claims
	// Cluster names the cluster (config clusterName) in every finding and its ID: the tracker then compares like
	// with like when the open findings come back from a store other clusters share.
	Cluster string
}

// DefaultOptions are the options of a running vnfguard.
func DefaultOptions() Options {
	return Options{InstanceLabel: vnf.DefaultInstanceLabel, For: DefaultFor, DeletionGrace: DefaultDeletionGrace}
}

// Evaluate compares the inventory snapshot with the cluster state and returns the conditions that hold now, sorted
// by rule, namespace, kind, name and ID. hist, when not nil, tells an instance the inventory knew and has deleted
// since (its objects are zombies and residual data) from one it never knew (its objects are rogue): the
// inventory in force when the object was created, and the oldest one remembered, are consulted. An inventory that
// has never loaded gives no findings: everything would be rogue.
func Evaluate(snap *vnf.Snapshot, hist vnf.Historian, state *State, opts Options, now time.Time) []finding.Finding {
	if snap == nil || !snap.Loaded || state == nil {
		return nil
	}
	e := newEvaluator(snap, hist, state, opts, now)
	e.workloads()
	e.data()
	e.drift()
	e.vnfm()
	finding.InCluster(e.out, opts.Cluster)
	sortFindings(e.out)
	return e.out
}

// newEvaluator binds objects with opts' instance label (vnf.DefaultInstanceLabel when empty) over state.
func newEvaluator(snap *vnf.Snapshot, hist vnf.Historian, state *State, opts Options, now time.Time) *evaluator {
	label := opts.InstanceLabel
	if label == "" {
		label = vnf.DefaultInstanceLabel
	}
	return &evaluator{snap: snap, hist: hist, state: state, opts: opts, now: now,
		resolver: vnf.Resolver{LabelKey: label, Objects: resolverObjects{state}}}
}

type evaluator struct {
	snap     *vnf.Snapshot
	hist     vnf.Historian
	state    *State
	opts     Options
	now      time.Time
	resolver vnf.Resolver
	out      []finding.Finding
}

// owner is the instance an object belongs to, as far as reconciliation is concerned.
type owner struct {
	id      string        // the instance claimed or claiming; "" when bound to nothing
	inst    *vnf.Instance // nil when no inventory, current or remembered, knows id
	deleted bool          // inst comes from a past snapshot: the current inventory no longer has it
	via     vnf.Binding   // how the binding was found, rendered by how() only for findings
}

// rank orders bindings for a group: to an instance known now or before (2), a claim to an unknown one (1), none.
func (o owner) rank() int {
	switch {
	case o.inst != nil:
		return 2
	case o.id != "":
		return 1
	}
	return 0
}

// dormant: the instance's pods must not run (STOPPED, NOT_INSTANTIATED, or deleted from the inventory).
func (o owner) dormant() bool { return o.inst != nil && (o.deleted || o.inst.Dormant()) }

// terminated: the instance's data has no reason to exist any more.
func (o owner) terminated() bool {
	return o.inst != nil && (o.deleted || o.inst.InstantiationState != vnf.Instantiated)
}

// busy: the VNFM is carrying out an operation on the instance; its objects are in flux and not judged.
func (o owner) busy() bool { return o.inst != nil && !o.deleted && o.inst.OperationInProgress() }

func (o owner) describe() string {
	if o.deleted {
		return o.inst.Describe() + ", since deleted from the inventory"
	}
	return o.inst.Describe()
}

func (o owner) state() string {
	if o.deleted {
		return "DELETED"
	}
	return o.inst.State()
}

func (o owner) product() string {
	if o.inst == nil {
		return ""
	}
	return o.inst.VnfProductName
}

// bind resolves the object against the current inventory and, when that knows no instance for it, against the
// remembered ones: an instance found there and absent now was deleted since.
func (e *evaluator) bind(kind string, meta *metav1.ObjectMeta) owner {
	b := e.resolve(e.snap, kind, meta)
	if b.Known() {
		return owner{id: b.InstanceID, inst: b.Instance, via: b}
	}
	pasts := e.pasts(meta.CreationTimestamp.Time)
	for _, past := range pasts {
		pb := e.resolve(past, kind, meta)
		if !pb.Known() {
			continue
		}
		if _, still := e.snap.Instance(pb.InstanceID); !still {
			return owner{id: pb.InstanceID, inst: pb.Instance, deleted: true, via: pb}
		}
	}
	if b.Bound() {
		return owner{id: b.InstanceID, via: b}
	}
	// Listed once as a resource of an instance, and not any more (a terminated instance's PVC).
	if id, ok := e.opts.Claims.Lookup(meta.Namespace, meta.Name); ok {
		via := vnf.Binding{InstanceID: id, Via: vnf.ViaResource, HolderKind: kind, HolderName: meta.Name}
		if inst, ok := e.snap.Instance(id); ok {
			via.Instance = inst
			return owner{id: id, inst: inst, via: via}
		}
		for _, past := range pasts {
			if inst, ok := past.Instance(id); ok {
				via.Instance = inst
				return owner{id: id, inst: inst, deleted: true, via: via}
			}
		}
	}
	return owner{id: b.InstanceID, via: b}
}

func (e *evaluator) resolve(snap *vnf.Snapshot, kind string, meta *metav1.ObjectMeta) vnf.Binding {
	// The State's lookups fail only with vnf.ErrNotFound, which ends the walk: Resolve cannot fail here.
	b, _ := e.resolver.Resolve(context.Background(), snap, kind, meta)
	return b
}

// how says how the binding was found, for evidence.
func (o owner) how() string {
	b := o.via
	switch b.Via {
	case vnf.ViaLabel:
		return "instance label on " + b.HolderKind + " " + b.HolderName
	case vnf.ViaResource:
		return "named as a resource of the instance: " + b.HolderKind + " " + b.HolderName
	}
	return ""
}

// pasts are the remembered snapshots worth asking about an object created at t: the one in force then and the
// oldest one remembered, without the current one and without repeats.
func (e *evaluator) pasts(created time.Time) []*vnf.Snapshot {
	if e.hist == nil {
		return nil
	}
	var out []*vnf.Snapshot
	for _, s := range []*vnf.Snapshot{e.hist.SnapshotAt(created), e.hist.SnapshotAt(time.Time{})} {
		if s == nil || s == e.snap || !s.Loaded || (len(out) > 0 && out[0] == s) {
			continue
		}
		out = append(out, s)
	}
	return out
}

// gone reports whether the object is being deleted and still within the grace period: it is treated as absent.
func (e *evaluator) gone(o *Object) bool {
	return o.DeletionTimestamp != nil && e.now.Sub(o.DeletionTimestamp.Time) < e.opts.DeletionGrace
}

// topOf follows controller owners within the State to the top-level workload (a pod's Deployment through its
// ReplicaSet, a Job's CronJob); an owner that is not watched or not there ends the walk.
func (e *evaluator) topOf(o *Object) *Object {
	for depth := 0; depth < 5; depth++ {
		ref := controllerOf(o.OwnerReferences)
		if ref == nil || !workloadKinds[ref.Kind] {
			break
		}
		next, ok := e.state.Get(ref.Kind, o.Namespace, ref.Name)
		if !ok {
			break
		}
		o = next
	}
	return o
}

func controllerOf(refs []metav1.OwnerReference) *metav1.OwnerReference {
	for i := range refs {
		if refs[i].Controller != nil && *refs[i].Controller {
			return &refs[i]
		}
	}
	if len(refs) > 0 {
		return &refs[0]
	}
	return nil
}

// group is a top-level workload with everything under it.
type group struct {
	top      *Object
	topOwner owner
	// memberOwner is a bound member's binding, for a top-level object bound to nothing itself; member is that
	// member: the best bound (see rank), then the first by kind and name, so that the choice does not depend on
	// the order of the objects.
	memberOwner owner
	member      *Object
	pods        int
	members     int
}

// workloads finds rogue top-level workloads and zombie pods.
func (e *evaluator) workloads() {
	groups := map[*Object]*group{}
	var order []*group
	for _, o := range e.state.objects {
		if !workloadKinds[o.Kind] || e.gone(o) {
			continue
		}
		top := e.topOf(o)
		g := groups[top]
		if g == nil {
			g = &group{top: top}
			groups[top] = g
			order = append(order, g)
		}
		g.members++
		ow := e.bind(o.Kind, &o.ObjectMeta)
		if o == top {
			g.topOwner = ow
		} else if r := ow.rank(); r > 0 && (g.member == nil || r > g.memberOwner.rank() || (r == g.memberOwner.rank() && before(o, g.member))) {
			g.memberOwner, g.member = ow, o
		}
		if o.Kind == KindPod {
			g.pods++
			if ow.dormant() && !ow.busy() {
				e.zombie(o, top, ow)
			}
		}
	}
	for _, g := range order {
		if e.gone(g.top) {
			continue // its members are going with it
		}
		ow := g.topOwner
		if ow.id == "" {
			ow = g.memberOwner
		}
		if ow.inst != nil {
			continue // known (or known before): not rogue; its pods were judged as zombies above
		}
		e.rogue(g, ow)
	}
}

// before orders objects by kind, then name (a group's members share the namespace).
func before(a, b *Object) bool {
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	return a.Name < b.Name
}

func (e *evaluator) rogue(g *group, ow owner) {
	o := g.top
	ev := e.evidence(o)
	ev["pods"] = strconv.Itoa(g.pods)
	ev["objects"] = strconv.Itoa(g.members)
	var msg string
	if ow.id == "" {
		ev["reason"] = "no " + e.resolver.LabelKey + " label on it or any owner, and no instance names it or an owner as a resource"
		msg = o.Kind + " " + o.Namespace + "/" + o.Name + " in a protected namespace belongs to no VNF instance"
	} else {
		ev["reason"] = "claims VNF instance " + ow.id + " (" + ow.how() + "), which the inventory does not know and never knew"
		ev["claimedInstance"] = ow.id
		msg = o.Kind + " " + o.Namespace + "/" + o.Name + " in a protected namespace claims VNF instance " + ow.id + ", unknown to the inventory"
	}
	msg += " (" + strconv.Itoa(g.pods) + " pods): a workload no VNFM instantiated"
	e.add(RuleRogue, finding.MaliciousVNFInstantiation, finding.High, o.Ref(), ow, msg, ev,
		finding.MitigationAudit, finding.DetectionPodEvents, finding.DetectionContainerLifecycle)
}

func (e *evaluator) zombie(pod, top *Object, ow owner) {
	ev := e.evidence(pod)
	ev["instanceState"] = ow.state()
	ev["binding"] = ow.how()
	if top != pod {
		ev["owner"] = top.Kind + " " + top.Name
	}
	sev := finding.Critical
	ev["reason"] = "the instance is " + ow.state() + " but its pod is still present"
	if !ow.terminated() {
		sev = finding.High // STOPPED: it may start again, but must not run now
	}
	e.terminatedFor(ev, ow)
	msg := "Pod " + pod.Namespace + "/" + pod.Name + " is still present for VNF instance " + ow.describe()
	e.add(RuleZombie, finding.AccessingTerminatedVNF, sev, pod.Ref(), ow, msg, ev,
		finding.MitigationUserAccounts, finding.DetectionPodEvents, finding.DetectionContainerLifecycle)
}

// data finds residual data of terminated instances.
func (e *evaluator) data() {
	for _, o := range e.state.objects {
		if !dataKinds[o.Kind] || e.gone(o) {
			continue
		}
		var ow owner
		switch o.Kind {
		case KindPersistentVolume:
			// Only Retain outlives its claim; a Delete PV goes with the PVC (and is reported through it).
			if o.ReclaimPolicy != "Retain" {
				continue
			}
			ow = e.bindVolume(o)
		case KindVolumeSnapshot:
			if ow = e.bind(o.Kind, &o.ObjectMeta); ow.inst == nil && o.SourcePVC != "" {
				ow = e.bindClaim(o.Namespace, o.SourcePVC, o.CreationTimestamp)
			}
		default:
			ow = e.bind(o.Kind, &o.ObjectMeta)
		}
		if !ow.terminated() || ow.busy() {
			continue // a STOPPED instance's data is legitimate: it will start again
		}
		e.residual(o, ow)
	}
}

// bindVolume binds a PV through vnf.VolumeSubjects, the definition admission shares: the volume itself, then its
// claim. Through its claim only when the claim's namespace is protected: the PV is cluster-scoped, and the
// instances of other namespaces are not reconciliation's to judge.
func (e *evaluator) bindVolume(o *Object) owner {
	var claim vnf.ClaimRef
	if o.ClaimName != "" && e.state.Protected(o.ClaimNamespace) {
		claim = vnf.ClaimRef{Namespace: o.ClaimNamespace, Name: o.ClaimName}
	}
	// The State's lookups fail only with vnf.ErrNotFound: VolumeSubjects cannot fail here.
	subjects, _ := vnf.VolumeSubjects(context.Background(), resolverObjects{e.state}, &o.ObjectMeta, claim)
	var ow owner
	for _, s := range subjects {
		meta, ok := s.Object.(*metav1.ObjectMeta)
		if !ok {
			continue
		}
		if ow = e.bind(s.Kind, meta); ow.inst != nil {
			break
		}
	}
	return ow
}

// bindClaim binds a VolumeSnapshot through its PVC: the PVC itself when it still exists, else its name.
func (e *evaluator) bindClaim(namespace, name string, created metav1.Time) owner {
	if pvc, ok := e.state.Get(KindPersistentVolumeClaim, namespace, name); ok {
		return e.bind(KindPersistentVolumeClaim, &pvc.ObjectMeta)
	}
	return e.bind(KindPersistentVolumeClaim, &metav1.ObjectMeta{Namespace: namespace, Name: name, CreationTimestamp: created})
}

func (e *evaluator) residual(o *Object, ow owner) {
	ev := e.evidence(o)
	ev["instanceState"] = ow.state()
	ev["binding"] = ow.how()
	ev["reason"] = "the instance is terminated but its " + o.Kind + " was not released (ETSI SEC025: release resources and sanitise data)"
	if o.Kind == KindPersistentVolume {
		ev["reclaimPolicy"] = o.ReclaimPolicy
		if o.ClaimName != "" {
			ev["claim"] = o.ClaimNamespace + "/" + o.ClaimName
		}
		if o.Phase != "" {
			ev["phase"] = o.Phase
		}
	}
	if o.SourcePVC != "" {
		ev["sourcePVC"] = o.SourcePVC
	}
	e.terminatedFor(ev, ow)
	sev := finding.High // data or credentials
	if o.Kind == KindConfigMap || o.Kind == KindService {
		sev = finding.Medium
	}
	msg := o.Kind + " " + qualified(o.Namespace, o.Name) + " of terminated VNF instance " + ow.describe() +
		" is still present (age " + ev["age"] + "): release it and sanitise its data"
	e.add(RuleResidual, finding.AccessingTerminatedVNF, sev, o.Ref(), ow, msg, ev, finding.MitigationUserAccounts)
}

// drift finds the Pods and PVCs that INSTANTIATED instances declare and that do not exist.
func (e *evaluator) drift() {
	for _, inst := range e.snap.Instances() {
		info := inst.InstantiatedVnfInfo
		if inst.InstantiationState != vnf.Instantiated || info == nil || inst.OperationInProgress() {
			continue
		}
		// An instance without a namespace, or in one not watched, cannot be checked: absence would mean nothing.
		if inst.Namespace == "" || !e.state.Protected(inst.Namespace) {
			continue
		}
		ow := owner{id: inst.ID, inst: inst}
		if inst.Running() {
			for _, r := range info.VnfcResourceInfo {
				if id := r.ComputeResource.ResourceID; id != "" {
					if _, ok := e.state.Get(KindPod, inst.Namespace, id); !ok {
						e.missing(KindPod, id, "vnfcResourceInfo "+r.ID, r.ComputeResource.VimLevelResourceType, ow)
					}
				}
			}
		}
		for _, list := range [][]vnf.StorageResourceInfo{info.VirtualStorageResourceInfo, info.VnfVirtualStorageResourceInfo} {
			for _, r := range list {
				if id := r.StorageResource.ResourceID; id != "" {
					if _, ok := e.state.Get(KindPersistentVolumeClaim, inst.Namespace, id); !ok {
						e.missing(KindPersistentVolumeClaim, id, "virtualStorageResourceInfo "+r.ID, r.StorageResource.VimLevelResourceType, ow)
					}
				}
			}
		}
	}
}

func (e *evaluator) missing(kind, name, declaredAs, vimType string, ow owner) {
	ns := ow.inst.Namespace
	ev := map[string]string{
		"declaredAs":    declaredAs,
		"instanceState": ow.state(),
		"reason":        "the instance declares " + kind + " " + name + " but no such object exists in namespace " + ns,
	}
	if vimType != "" {
		ev["vimLevelResourceType"] = vimType
	}
	// How long the inventory has said so: the declaration is at least that old.
	ev["inventoryAge"] = age(e.now.Sub(e.snap.LoadedAt))
	ref := finding.ObjectRef{APIVersion: apiVersions[kind], Kind: kind, Namespace: ns, Name: name}
	msg := "VNF instance " + ow.describe() + " declares " + kind + " " + ns + "/" + name + " (" + declaredAs + "), which does not exist"
	e.add(RuleDrift, finding.MaliciousVNFInstantiation, finding.Medium, ref, ow, msg, ev,
		finding.MitigationAudit, finding.DetectionPodEvents, finding.DetectionContainerLifecycle)
}

// evidence starts an object's evidence with its age and, when it is being deleted, since when.
func (e *evaluator) evidence(o *Object) map[string]string {
	ev := make(map[string]string, 8) // the most any rule writes: no regrowth
	if !o.CreationTimestamp.IsZero() {
		ev["created"] = o.CreationTimestamp.UTC().Format(time.RFC3339)
		ev["age"] = age(e.now.Sub(o.CreationTimestamp.Time))
	}
	if o.DeletionTimestamp != nil {
		ev["deletionTimestamp"] = o.DeletionTimestamp.UTC().Format(time.RFC3339)
	}
	if o.UID != "" {
		ev["uid"] = string(o.UID)
	}
	return ev
}

func (e *evaluator) terminatedFor(ev map[string]string, ow owner) {
	if ow.inst != nil && ow.inst.TerminatedAt != nil {
		ev["terminatedAt"] = ow.inst.TerminatedAt.UTC().Format(time.RFC3339)
		ev["terminatedFor"] = age(e.now.Sub(*ow.inst.TerminatedAt))
	}
}

func (e *evaluator) add(rule, technique string, sev finding.Severity, ref finding.ObjectRef, ow owner, msg string, ev map[string]string, mitigations ...string) {
	e.out = append(e.out, finding.Finding{
		ID:          finding.Key(rule, ref, ow.id),
		Time:        e.now,
		Source:      Source,
		Rule:        rule,
		Technique:   technique,
		Mitigations: mitigations,
		Severity:    sev,
		Action:      ActionReported,
		Message:     msg,
		VNFInstance: ow.id,
		VNFProduct:  ow.product(),
		Object:      ref,
		Evidence:    ev,
	})
}

// age renders a duration to the second; a negative one (clock skew) as 0s.
func age(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return d.Round(time.Second).String()
}

func qualified(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

func sortFindings(fs []finding.Finding) {
	slices.SortFunc(fs, func(a, b finding.Finding) int {
		return cmp.Or(cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Object.Namespace, b.Object.Namespace),
			cmp.Compare(a.Object.Kind, b.Object.Kind), cmp.Compare(a.Object.Name, b.Object.Name), cmp.Compare(a.ID, b.ID))
	})
}
