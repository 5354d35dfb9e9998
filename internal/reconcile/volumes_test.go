package reconcile

import (
	"slices"
	"testing"
	"time"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

// TestVolumeLabels: a volume Bound to a live claim of an instance the inventory knows gets the instance label;
// volumes already labelled, Released, bound to a claim of no instance, of a deleted claim, or of an unprotected
// namespace do not.
func TestVolumeLabels(t *testing.T) {
	const ns = "vnf-cnf"
	bound := func(claim string) func(*Object) {
		return func(o *Object) {
			o.ReclaimPolicy, o.ClaimNamespace, o.ClaimName, o.Phase = "Retain", ns, claim, "Bound"
		}
	}
	snap := vnf.NewSnapshot("test", "v1", t0, []*vnf.Instance{
		instance("cnf-1", "EdgeCNF", ns, "INSTANTIATED"),
		instance("udr-1", "UDR", ns, "INSTANTIATED", pvcs("data-udr-0")),
	})
	state := NewState([]string{ns}, []Object{
		object(KindPersistentVolumeClaim, ns, "cnf-data", label("cnf-1")),            // Tacker labels the claims of its files
		object(KindPersistentVolumeClaim, ns, "data-udr-0"),                          // listed as the instance's storage
		object(KindPersistentVolumeClaim, ns, "scratch"),                             // no instance's
		object(KindPersistentVolumeClaim, ns, "going", label("cnf-1"), deleting(t0)), // being deleted
		object(KindPersistentVolume, "", "pv-cnf", bound("cnf-data")),
		object(KindPersistentVolume, "", "pv-udr", bound("data-udr-0")),
		object(KindPersistentVolume, "", "pv-scratch", bound("scratch")),
		object(KindPersistentVolume, "", "pv-going", bound("going")),
		object(KindPersistentVolume, "", "pv-gone", bound("deleted-claim")),
		object(KindPersistentVolume, "", "pv-released", pv("Retain", ns, "cnf-data")),
		object(KindPersistentVolume, "", "pv-labelled", bound("cnf-data"), label("someone")),
		object(KindPersistentVolume, "", "pv-elsewhere", func(o *Object) {
			o.ReclaimPolicy, o.ClaimNamespace, o.ClaimName, o.Phase = "Retain", "default", "cnf-data", "Bound"
		}),
	})
	opts := DefaultOptions()
	got := VolumeLabels(snap, state, opts, t0)
	want := []VolumeLabel{{Volume: "pv-cnf", InstanceID: "cnf-1", Claim: ns + "/cnf-data"}, {Volume: "pv-udr", InstanceID: "udr-1", Claim: ns + "/data-udr-0"}}
	if !slices.Equal(got, want) {
		t.Fatalf("volumes to label:\n got %+v\nwant %+v", got, want)
	}

	// Labelled, the volume stays the instance's after TERMINATE deleted its claim: residual data once terminated.
	terminated := vnf.NewSnapshot("test", "v2", t0.Add(time.Minute), []*vnf.Instance{instance("cnf-1", "EdgeCNF", ns, "NOT_INSTANTIATED")})
	after := NewState([]string{ns}, []Object{object(KindPersistentVolume, "", "pv-cnf", pv("Retain", ns, "cnf-data"), label("cnf-1"))})
	fs := Evaluate(terminated, nil, after, opts, t0.Add(time.Minute))
	if len(fs) != 1 || fs[0].Rule != RuleResidual || fs[0].Object.Name != "pv-cnf" || fs[0].VNFInstance != "cnf-1" {
		t.Fatalf("the labelled volume after TERMINATE: %v; want one residual finding on pv-cnf of cnf-1", summary(fs))
	}
	// Without the label it belongs to nobody once the claim is gone: what labelling is for.
	unlabelled := NewState([]string{ns}, []Object{object(KindPersistentVolume, "", "pv-cnf", pv("Retain", ns, "cnf-data"))})
	if fs := Evaluate(terminated, nil, unlabelled, opts, t0.Add(time.Minute)); len(fs) != 0 {
		t.Fatalf("an unlabelled volume of a deleted claim: %v; want nothing (nothing ties it to the instance)", summary(fs))
	}
	if got := VolumeLabels(nil, state, opts, t0); got != nil {
		t.Fatalf("without an inventory: %v; want nothing labelled", got)
	}
}
