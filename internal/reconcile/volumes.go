package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

// VolumeLabel is a PersistentVolume bound to the claim of a VNF instance that does not carry the instance label
// itself.
//
// It exists for the data a VNFM leaves behind: Tacker labels the objects of its definition files (a PVC among
// them) but not the volume a provisioner makes for the claim, and it deletes the claim at TERMINATE. A volume whose
// reclaim policy is Retain then keeps the instance's data while nothing ties it to the instance any more: its
// claimRef names a claim that is gone. Labelled while its claim is live, the volume stays the instance's after
// that, for admission (lifecycle-data refuses to re-bind it, and to take the label off) and for reconciliation
// (reconcile-residual) alike, on every replica and after every restart.
type VolumeLabel struct {
	Volume     string // the PersistentVolume's name
	InstanceID string
	Claim      string // namespace/name of the claim it is bound to
}

// VolumeLabels returns the volumes to label, sorted by name: each PersistentVolume that is Bound to a live claim in
// a protected namespace, when the claim belongs to an instance the current inventory knows and the volume carries
// no instance label (one that carries a label, whatever its value, is left as it is: admission judges who may set
// it).
func VolumeLabels(snap *vnf.Snapshot, state *State, opts Options, now time.Time) []VolumeLabel {
	if snap == nil || !snap.Loaded || state == nil {
		return nil
	}
	e := newEvaluator(snap, nil, state, opts, now)
	var out []VolumeLabel
	for _, o := range state.objects {
		if o.Kind != KindPersistentVolume || o.Phase != "Bound" || o.ClaimName == "" || e.gone(o) || !state.Protected(o.ClaimNamespace) {
			continue
		}
		if _, labelled := o.Labels[e.resolver.LabelKey]; labelled {
			continue
		}
		claim, ok := state.Get(KindPersistentVolumeClaim, o.ClaimNamespace, o.ClaimName)
		if !ok || e.gone(claim) {
			continue
		}
		if ow := e.bind(KindPersistentVolumeClaim, &claim.ObjectMeta); ow.inst != nil && !ow.deleted {
			out = append(out, VolumeLabel{Volume: o.Name, InstanceID: ow.id, Claim: o.ClaimNamespace + "/" + o.ClaimName})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Volume < out[j].Volume })
	return out
}

// labelVolumes puts the instance label on the volumes VolumeLabels names, with a merge patch of that one label.
func (r *Reconciler) labelVolumes(ctx context.Context, labels []VolumeLabel) {
	for _, l := range labels {
		patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]string{r.opts.InstanceLabel: l.InstanceID}}})
		if err != nil {
			continue // a string map always marshals
		}
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err = r.dyn.Resource(persistentVolumes).Patch(pctx, l.Volume, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "vnfguard-reconcile"})
		cancel()
		if err != nil {
			r.logger.Warn("reconcile: could not label a VNF instance's volume; the next pass tries again",
				"persistentVolume", l.Volume, "instance", l.InstanceID, "claim", l.Claim, "error", fmt.Errorf("patch: %w", err))
			continue
		}
		r.logger.Info("reconcile: labelled a VNF instance's volume, so that it stays the instance's when its claim is gone",
			"persistentVolume", l.Volume, "instance", l.InstanceID, "claim", l.Claim, "label", r.opts.InstanceLabel)
	}
}
