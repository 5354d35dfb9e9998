package vnf

import (
	"context"
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The kinds of the volume binding.
const (
	KindPersistentVolume      = "PersistentVolume"
	KindPersistentVolumeClaim = "PersistentVolumeClaim"
)

// ClaimRef is the claim a PersistentVolume is bound (or pre-bound) to: its spec.claimRef's namespace, name and
// UID. The zero value is a volume bound to no claim.
type ClaimRef struct {
	Namespace, Name, UID string
}

// Set reports whether the volume names a claim.
func (c ClaimRef) Set() bool { return c.Name != "" }

func (c ClaimRef) String() string {
	if !c.Set() {
		return "no claim"
	}
	return c.Namespace + "/" + c.Name
}

// Repoints reports whether changing a volume's claimRef from c to next hands the volume to another claim: a
// claim is set where none was, cleared, replaced by another namespace/name, or its UID is cleared or replaced
// (a Released volume whose UID is cleared binds to any new claim of that name). Filling in the UID of a
// pre-bound claim, as the PersistentVolume controller does when it completes a binding, is not a hand-over.
func (c ClaimRef) Repoints(next ClaimRef) bool {
	if c.Namespace != next.Namespace || c.Name != next.Name {
		return true
	}
	return c.UID != "" && next.UID != c.UID
}

// Subject is an object through which a volume is bound to a VNF instance.
type Subject struct {
	Kind   string
	Object metav1.Object
}

// VolumeSubjects lists, in the order they decide, the objects whose VNF instance is a PersistentVolume's: the
// volume itself (its labels and owners, or its name as a storage resource), then the claim its claimRef names —
// the PVC while it exists (objects may be nil), else a stand-in with only the claim's namespace and name, because
// a retained volume outlives its claim and the inventory names the claim, not the volume, as the instance's
// storage resource (Tacker: virtualStorageResourceInfo[].storageResource.resourceId is the PVC's name).
//
// It is the one definition of "this volume holds that instance's data", shared by admission (check
// lifecycle-data: a new claim, a pod or a claimRef edit reaching it) and reconciliation (residual volumes of
// terminated instances). A lookup error other than ErrNotFound is returned, so that callers can fail closed.
func VolumeSubjects(ctx context.Context, objects Objects, pv metav1.Object, claim ClaimRef) ([]Subject, error) {
	out := []Subject{{Kind: KindPersistentVolume, Object: pv}}
	if !claim.Set() {
		return out, nil
	}
	if objects != nil {
		pvc, err := objects.Get(ctx, KindPersistentVolumeClaim, claim.Namespace, claim.Name)
		switch {
		case err == nil:
			// Only the claim the volume was bound to: a claim of the same name made since (its UID differs) is
			// someone else's, and binds the volume to nothing.
			if claim.UID == "" || string(pvc.GetUID()) == claim.UID || pvc.GetUID() == "" {
				return append(out, Subject{Kind: KindPersistentVolumeClaim, Object: pvc}), nil
			}
		case !errors.Is(err, ErrNotFound):
			return nil, fmt.Errorf("look up PersistentVolumeClaim %s, the claim of PersistentVolume %s: %w", claim, pv.GetName(), err)
		}
	}
	stand := &metav1.ObjectMeta{Namespace: claim.Namespace, Name: claim.Name, CreationTimestamp: pv.GetCreationTimestamp()}
	return append(out, Subject{Kind: KindPersistentVolumeClaim, Object: stand}), nil
}

// ResolveVolume finds the VNF instance of a PersistentVolume through VolumeSubjects: the first subject bound to
// an instance decides.
func (r *Resolver) ResolveVolume(ctx context.Context, snap *Snapshot, pv metav1.Object, claim ClaimRef) (Binding, error) {
	subjects, err := VolumeSubjects(ctx, r.Objects, pv, claim)
	if err != nil {
		return Binding{}, err
	}
	for _, s := range subjects {
		b, err := r.Resolve(ctx, snap, s.Kind, s.Object)
		if err != nil {
			return Binding{}, err
		}
		if b.Bound() {
			return b, nil
		}
	}
	return Binding{}, nil
}
