package policy

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

/*
Check lifecycle-data keeps the data of STOPPED and terminated VNFs out of reach (FGT1609.501; ETSI SEC025 asks that
a terminated VNF's resources be released and its data sanitised, and a StatefulSet's PVCs outlive it by default).
A volume holds an instance's data when vnf.VolumeSubjects says so (the volume, or the claim its claimRef names, is
the instance's), the definition reconciliation reports residual volumes with. It denies, in every namespace:

  - a new pod, or a workload's pod template, that mounts a PersistentVolumeClaim belonging to a VNF instance that
    is STOPPED or NOT_INSTANTIATED, or that claims an instance the inventory no longer knows; or a claim (of any
    namespace) whose spec.volumeName is such an instance's PersistentVolume; or a generic ephemeral volume whose
    claim template names such a volume;
  - a VolumeSnapshot (snapshot.storage.k8s.io) of such a PVC;
  - a new PersistentVolumeClaim whose spec.volumeName is such an instance's PersistentVolume (a static binding that
    hands the volume to the new claim once its claimRef lets it);
  - an update of such a PersistentVolume that re-points or clears its spec.claimRef (vnf.ClaimRef.Repoints), which
    is what lets another claim bind it;
  - an update of any PersistentVolume that removes or changes its instance label (the label keeps a retained
    volume its instance's once the claim is gone: reconciliation puts it on volumes bound to an instance's claim),
    or that sets it to anything but the instance of the volume's live claim.

Allowed: volumes and PVCs of running instances and of no instance; a new claim that the volume's claimRef already
names (static pre-binding, or the instance's own claim made again: mounting it is judged as any mount); an instance with an LCM operation in progress
(the VNFM starting or healing it mounts its own volumes); updates that leave the pod spec or the claimRef as they
were; the PersistentVolume controller filling in the UID of a pre-bound claim. Deleting the volume once its data
is sanitised is how an operator releases it.
*/
type lifecycleDataCheck struct{}

func init() { register(func() Check { return lifecycleDataCheck{} }) }

func (lifecycleDataCheck) ID() string            { return "lifecycle-data" }
func (lifecycleDataCheck) Technique() string     { return finding.AccessingTerminatedVNF }
func (lifecycleDataCheck) Mitigations() []string { return []string{finding.MitigationUserAccounts} }

func (c lifecycleDataCheck) Evaluate(ctx context.Context, a *Attributes, out []Violation) ([]Violation, error) {
	req := a.Request
	switch {
	case req.Kind.Kind == "VolumeSnapshot" && req.Operation == Create:
		return c.snapshot(ctx, a, out)
	case req.Kind.Group == "" && req.Kind.Kind == vnf.KindPersistentVolumeClaim && req.Operation == Create:
		return c.claim(ctx, a, out)
	case req.Kind.Group == "" && req.Kind.Kind == vnf.KindPersistentVolume && req.Operation == Update:
		out, err := c.instanceLabelEdit(ctx, a, out)
		if err != nil {
			return out, err
		}
		return c.claimRefEdit(ctx, a, out)
	}
	w := a.Workload
	if w == nil || !a.SpecChanged || a.Objects == nil {
		return out, nil
	}
	for i := range w.Spec.Volumes {
		v := &w.Spec.Volumes[i]
		field := w.Path + ".volumes[" + strconv.Itoa(i) + "]"
		var msg string
		var err error
		switch {
		case v.PersistentVolumeClaim != nil:
			field += ".persistentVolumeClaim.claimName"
			msg, err = c.dormantClaim(ctx, a, req.Namespace, v.PersistentVolumeClaim.ClaimName)
		case v.Ephemeral != nil && v.Ephemeral.VolumeClaimTemplate != nil && v.Ephemeral.VolumeClaimTemplate.Spec.VolumeName != "":
			field += ".ephemeral.volumeClaimTemplate.spec.volumeName"
			msg, err = c.dormantVolume(ctx, a, v.Ephemeral.VolumeClaimTemplate.Spec.VolumeName)
		default:
			continue
		}
		if err != nil {
			return out, err
		}
		if msg != "" {
			out = append(out, violation(c, field, "mounts "+msg))
		}
	}
	return out, nil
}

func (c lifecycleDataCheck) snapshot(ctx context.Context, a *Attributes, out []Violation) ([]Violation, error) {
	u, ok := a.Request.Object.(*unstructured.Unstructured)
	if !ok {
		return out, nil
	}
	claim, _, _ := unstructured.NestedString(u.Object, "spec", "source", "persistentVolumeClaimName")
	if claim == "" {
		return out, nil
	}
	msg, err := c.dormantClaim(ctx, a, a.Request.Namespace, claim)
	if err != nil || msg == "" {
		return out, err
	}
	return append(out, violation(c, "spec.source.persistentVolumeClaimName", "snapshot of "+msg)), nil
}

// claim judges a new PersistentVolumeClaim that names its volume. The claim the volume is already bound to
// (its claimRef names it: static pre-binding, or the instance's own claim made again) takes nothing from anyone.
func (c lifecycleDataCheck) claim(ctx context.Context, a *Attributes, out []Violation) ([]Violation, error) {
	pvc, ok := a.Request.Object.(*corev1.PersistentVolumeClaim)
	if !ok || pvc.Spec.VolumeName == "" {
		return out, nil
	}
	pv, err := c.volume(ctx, a, pvc.Spec.VolumeName)
	if err != nil || pv == nil {
		return out, err
	}
	if ref := claimRefOf(pv); ref.Namespace == a.Request.Namespace && ref.Name == pvc.Name {
		return out, nil
	}
	msg, err := c.describeVolume(ctx, a, pv)
	if err != nil || msg == "" {
		return out, err
	}
	return append(out, violation(c, "spec.volumeName", "claims "+msg)), nil
}

// claimRefEdit judges an update of a PersistentVolume that hands it to another claim. The volume is judged as it
// was (its old labels and claim): the update is what would take it away from the instance.
func (c lifecycleDataCheck) claimRefEdit(ctx context.Context, a *Attributes, out []Violation) ([]Violation, error) {
	pv, ok := a.Request.Object.(*corev1.PersistentVolume)
	old, okOld := a.Request.OldObject.(*corev1.PersistentVolume)
	if !ok || !okOld || !claimRefOf(old).Repoints(claimRefOf(pv)) {
		return out, nil
	}
	msg, err := c.describeVolume(ctx, a, old)
	if err != nil || msg == "" {
		return out, err
	}
	verb := "re-points spec.claimRef (" + claimRefOf(old).String() + " → " + claimRefOf(pv).String() + ") of "
	if !claimRefOf(pv).Set() {
		verb = "clears spec.claimRef (was " + claimRefOf(old).String() + ") of "
	}
	return append(out, violation(c, "spec.claimRef", verb+msg)), nil
}

// instanceLabelEdit judges an update of a PersistentVolume's instance label. The label is what keeps a retained
// volume its instance's once the claim is gone (reconciliation puts it on volumes bound to an instance's claim,
// reconcile.VolumeLabels): taking it off or changing it would free the volume for the next step, a claimRef edit.
// Nobody may do that (no lookup is needed to refuse it); the volume is released by deleting it. Setting the label
// is allowed only to the instance the volume's live claim belongs to, which is what reconciliation does; a label
// naming another instance, or set on a volume without such a claim, is refused.
func (c lifecycleDataCheck) instanceLabelEdit(ctx context.Context, a *Attributes, out []Violation) ([]Violation, error) {
	pv, ok := a.Request.Object.(*corev1.PersistentVolume)
	old, okOld := a.Request.OldObject.(*corev1.PersistentVolume)
	if !ok || !okOld {
		return out, nil
	}
	key := a.Config.InstanceLabel
	was, had := old.Labels[key]
	now, has := pv.Labels[key]
	field := "metadata.labels[" + key + "]"
	switch {
	case had && (!has || now != was):
		verb := "removes"
		if has {
			verb = "changes (to " + strconv.Quote(now) + ")"
		}
		return append(out, violation(c, field, verb+" the instance label "+key+"="+was+" of PersistentVolume "+pv.Name+
			": the label keeps a retained volume its VNF instance's once its claim is gone; to release the volume, sanitise its data and delete it")), nil
	case had || !has:
		return out, nil
	}
	claim := claimRefOf(pv)
	if !claim.Set() || a.Objects == nil {
		return append(out, violation(c, field, "sets the instance label "+key+"="+now+" on PersistentVolume "+pv.Name+
			", which is bound to no claim that could show it is that instance's")), nil
	}
	obj, b, err := claimBinding(ctx, a, claim.Namespace, claim.Name)
	if err != nil {
		return out, fmt.Errorf("the claim of PersistentVolume %s: %w", pv.Name, err)
	}
	if obj == nil {
		return append(out, violation(c, field, "sets the instance label "+key+"="+now+" on PersistentVolume "+pv.Name+
			", whose claim "+claim.String()+" does not exist: nothing shows the volume is that instance's")), nil
	}
	if b.InstanceID != now {
		return append(out, violation(c, field, "sets the instance label "+key+"="+now+" on PersistentVolume "+pv.Name+
			", but its claim "+claim.String()+" belongs to "+b.String())), nil
	}
	return out, nil
}

// claimBinding looks up the PersistentVolumeClaim namespace/name and the VNF instance it belongs to; a nil object
// when it does not exist. a.Objects must be set.
func claimBinding(ctx context.Context, a *Attributes, namespace, name string) (metav1.Object, vnf.Binding, error) {
	obj, err := a.Objects.Get(ctx, vnf.KindPersistentVolumeClaim, namespace, name)
	if errors.Is(err, vnf.ErrNotFound) {
		return nil, vnf.Binding{}, nil
	}
	if err != nil {
		return nil, vnf.Binding{}, fmt.Errorf("look up PersistentVolumeClaim %s/%s: %w", namespace, name, err)
	}
	r := vnf.Resolver{LabelKey: a.Config.InstanceLabel, Objects: a.Objects}
	b, err := r.Resolve(ctx, a.Snapshot, vnf.KindPersistentVolumeClaim, obj)
	if err != nil {
		return nil, vnf.Binding{}, fmt.Errorf("VNF instance of PersistentVolumeClaim %s/%s: %w", namespace, name, err)
	}
	return obj, b, nil
}

// dormantClaim describes the PVC namespace/claim when it, or the volume it names, belongs to a dormant instance,
// and returns "" otherwise.
func (c lifecycleDataCheck) dormantClaim(ctx context.Context, a *Attributes, ns, claim string) (string, error) {
	if a.Objects == nil {
		return "", nil
	}
	obj, b, err := claimBinding(ctx, a, ns, claim)
	if err != nil || obj == nil {
		return "", err
	}
	if msg := dormantBinding(b); msg != "" {
		return "PersistentVolumeClaim " + claim + " of " + msg, nil
	}
	if b.Bound() {
		return "", nil // the claim is a running instance's: its volume is too
	}
	// A claim of no instance may still name an instance's volume: the claim an attacker made in her own namespace.
	pvc, ok := obj.(*corev1.PersistentVolumeClaim)
	if !ok {
		return "", fmt.Errorf("PersistentVolumeClaim %s/%s: the cluster view gave its metadata only, without spec.volumeName", ns, claim)
	}
	if pvc.Spec.VolumeName == "" {
		return "", nil
	}
	msg, err := c.dormantVolume(ctx, a, pvc.Spec.VolumeName)
	if err != nil || msg == "" {
		return "", err
	}
	return "PersistentVolumeClaim " + ns + "/" + claim + ", whose volume is " + msg, nil
}

// dormantVolume describes the PersistentVolume name when it belongs to a dormant instance, and returns ""
// otherwise (a volume that does not exist holds no data).
func (c lifecycleDataCheck) dormantVolume(ctx context.Context, a *Attributes, name string) (string, error) {
	pv, err := c.volume(ctx, a, name)
	if err != nil || pv == nil {
		return "", err
	}
	return c.describeVolume(ctx, a, pv)
}

// volume looks the PersistentVolume up; nil when it does not exist (or there is no cluster view).
func (lifecycleDataCheck) volume(ctx context.Context, a *Attributes, name string) (*corev1.PersistentVolume, error) {
	if a.Objects == nil {
		return nil, nil
	}
	obj, err := a.Objects.Get(ctx, vnf.KindPersistentVolume, "", name)
	if errors.Is(err, vnf.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up PersistentVolume %s: %w", name, err)
	}
	pv, ok := obj.(*corev1.PersistentVolume)
	if !ok {
		return nil, fmt.Errorf("PersistentVolume %s: the cluster view gave its metadata only, without spec.claimRef", name)
	}
	return pv, nil
}

// describeVolume describes the volume when it belongs to a dormant instance, and returns "" otherwise.
func (c lifecycleDataCheck) describeVolume(ctx context.Context, a *Attributes, pv *corev1.PersistentVolume) (string, error) {
	r := vnf.Resolver{LabelKey: a.Config.InstanceLabel, Objects: a.Objects}
	b, err := r.ResolveVolume(ctx, a.Snapshot, pv, claimRefOf(pv))
	if err != nil {
		return "", fmt.Errorf("VNF instance of PersistentVolume %s: %w", pv.Name, err)
	}
	msg := dormantBinding(b)
	if msg == "" {
		return "", nil
	}
	via := ""
	if b.HolderKind == vnf.KindPersistentVolumeClaim {
		via = " (bound to its claim " + claimRefOf(pv).String() + ")"
	}
	return "PersistentVolume " + pv.Name + via + " of " + msg, nil
}

// dormantBinding describes the binding's instance when its data must not be reached: STOPPED, NOT_INSTANTIATED
// and idle, or unknown to the inventory (terminated and deleted). It returns "" otherwise.
func dormantBinding(b vnf.Binding) string {
	switch {
	case b.Bound() && !b.Known():
		return "VNF instance " + b.InstanceID + ", which the inventory no longer knows (terminated and deleted)"
	case b.Known() && b.Instance.Dormant() && !b.Instance.OperationInProgress():
		return "VNF instance " + b.Instance.ID + ", which the NFVO says is " + b.Instance.State()
	}
	return ""
}

// claimRefOf reads a volume's spec.claimRef.
func claimRefOf(pv *corev1.PersistentVolume) vnf.ClaimRef {
	ref := pv.Spec.ClaimRef
	if ref == nil {
		return vnf.ClaimRef{}
	}
	return vnf.ClaimRef{Namespace: ref.Namespace, Name: ref.Name, UID: string(ref.UID)}
}
