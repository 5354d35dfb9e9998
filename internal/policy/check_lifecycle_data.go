package policy

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

/*
Check lifecycle-data keeps the data of STOPPED and terminated VNFs out of reach (FGT1609.501; ETSI SEC025 asks that
a terminated VNF's resources be released and its data sanitised, and a StatefulSet's PVCs outlive it by default):

  - a new pod, or a workload's pod template, that mounts a PersistentVolumeClaim belonging to a VNF instance that
    is STOPPED or NOT_INSTANTIATED, or that claims an instance the inventory no longer knows;
  - a VolumeSnapshot (snapshot.storage.k8s.io) of such a PVC.

Allowed: PVCs of running instances and of no instance; an instance with an LCM operation in progress (the VNFM
starting or healing it mounts its own volumes); updates that leave the pod spec unchanged.
*/
type lifecycleDataCheck struct{}

func init() { register(func() Check { return lifecycleDataCheck{} }) }

func (lifecycleDataCheck) ID() string            { return "lifecycle-data" }
func (lifecycleDataCheck) Technique() string     { return finding.AccessingTerminatedVNF }
func (lifecycleDataCheck) Mitigations() []string { return []string{finding.MitigationUserAccounts} }

func (c lifecycleDataCheck) Evaluate(ctx context.Context, a *Attributes, out []Violation) ([]Violation, error) {
	req := a.Request
	if req.Kind.Kind == "VolumeSnapshot" && req.Operation == Create {
		u, ok := req.Object.(*unstructured.Unstructured)
		if !ok {
			return out, nil
		}
		claim, _, _ := unstructured.NestedString(u.Object, "spec", "source", "persistentVolumeClaimName")
		if claim == "" {
			return out, nil
		}
		msg, err := c.dormantClaim(ctx, a, claim)
		if err != nil || msg == "" {
			return out, err
		}
		return append(out, violation(c, "spec.source.persistentVolumeClaimName", "snapshot of "+msg)), nil
	}
	w := a.Workload
	if w == nil || !a.SpecChanged || a.Objects == nil {
		return out, nil
	}
	for i := range w.Spec.Volumes {
		pvc := w.Spec.Volumes[i].PersistentVolumeClaim
		if pvc == nil {
			continue
		}
		msg, err := c.dormantClaim(ctx, a, pvc.ClaimName)
		if err != nil {
			return out, err
		}
		if msg != "" {
			out = append(out, violation(c, w.Path+".volumes["+strconv.Itoa(i)+"].persistentVolumeClaim.claimName", "mounts "+msg))
		}
	}
	return out, nil
}

// dormantClaim describes the PVC when it belongs to a dormant instance, and returns "" otherwise.
func (c lifecycleDataCheck) dormantClaim(ctx context.Context, a *Attributes, claim string) (string, error) {
	if a.Objects == nil {
		return "", nil
	}
	ns := a.Request.Namespace
	obj, err := a.Objects.Get(ctx, "PersistentVolumeClaim", ns, claim)
	if errors.Is(err, vnf.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("look up PersistentVolumeClaim %s/%s: %w", ns, claim, err)
	}
	r := vnf.Resolver{LabelKey: a.Config.InstanceLabel}
	b, err := r.Resolve(ctx, a.Snapshot, "PersistentVolumeClaim", obj)
	if err != nil {
		return "", err
	}
	switch {
	case b.Bound() && !b.Known():
		return "PersistentVolumeClaim " + claim + " of VNF instance " + b.InstanceID + ", which the inventory no longer knows (terminated and deleted)", nil
	case b.Known() && b.Instance.Dormant() && !b.Instance.OperationInProgress():
		return "PersistentVolumeClaim " + claim + " of VNF instance " + b.Instance.ID + ", which the NFVO says is " + b.Instance.State(), nil
	}
	return "", nil
}
