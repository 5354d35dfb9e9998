package policy

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

// The volume world: each instance of the test world has a retained volume bound to its claim (PV "pv-upf" to
// vnf-5gc/upf-data, ...); a terminated UDR (udr-1) listed claim data-udr-0 as its storage resource and the claim
// is gone, its volume "pv-udr" retained; "pv-amf-free" is the AMF's volume, labelled with the instance and
// released by an administrator (no claimRef). Mallory's claims in her own namespace name the volumes.
const sandboxNS = "lab-sandbox"

func volume(name string, labels map[string]string, claim *corev1.ObjectReference) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec:       corev1.PersistentVolumeSpec{ClaimRef: claim, PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain},
	}
}

func claimRef(ns, name, uid string) *corev1.ObjectReference {
	return &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: ns, Name: name, UID: types.UID(uid)}
}

func sandboxClaim(name, volumeName string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: sandboxNS}, Spec: corev1.PersistentVolumeClaimSpec{VolumeName: volumeName}}
}

func volumeEnv(t *testing.T) *testEnv {
	e := newTestEnv(t, "")
	snap := testSnapshot()
	udr := instance("udr-1", "UDR", "udr-vnfd", vnf.NotInstantiated, vnf.Stopped)
	udr.InstantiatedVnfInfo.VirtualStorageResourceInfo = []vnf.StorageResourceInfo{{ID: "s1", StorageResource: vnf.ResourceHandle{ResourceID: "data-udr-0"}}}
	e.inv = vnf.Static{Snap: vnf.NewSnapshot("test", "v2", time.Now(), append(snap.Instances(), udr))}
	for _, id := range []string{"upf", "smf", "amf"} {
		e.objs["PersistentVolumeClaim/"+protectedNS+"/"+id+"-data"].(*corev1.PersistentVolumeClaim).UID = types.UID(id + "-uid")
		e.objs.add("PersistentVolume", volume("pv-"+id, nil, claimRef(protectedNS, id+"-data", id+"-uid")))
	}
	e.objs.add("PersistentVolume", volume("pv-udr", nil, claimRef(protectedNS, "data-udr-0", "udr-uid")))
	e.objs.add("PersistentVolume", volume("pv-amf-free", map[string]string{vnf.DefaultInstanceLabel: "amf-1"}, nil))
	e.objs.add("PersistentVolume", volume("pv-nobody", nil, nil))
	for _, pv := range []string{"pv-amf", "pv-upf", "pv-udr"} {
		e.objs.add("PersistentVolumeClaim", sandboxClaim("loot-"+strings.TrimPrefix(pv, "pv-"), pv))
	}
	return e
}

func claimRequest(ns string, pvc *corev1.PersistentVolumeClaim) *Request {
	pvc.Namespace = ns
	return &Request{UID: "uid-pvc", Operation: Create, Kind: schema.GroupVersionKind{Version: "v1", Kind: "PersistentVolumeClaim"},
		Resource: schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumeclaims"}, Namespace: ns, Name: pvc.Name, User: attacker, Object: pvc}
}

func volumeUpdate(old *corev1.PersistentVolume, edit func(*corev1.PersistentVolume)) *Request {
	pv := old.DeepCopy()
	edit(pv)
	return &Request{UID: "uid-pv", Operation: Update, Kind: schema.GroupVersionKind{Version: "v1", Kind: "PersistentVolume"},
		Resource: schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumes"}, Name: pv.Name, User: attacker, Object: pv, OldObject: old}
}

func mountingPod(ns string, vol corev1.VolumeSource) *Request {
	spec := cnfPodSpec()
	spec.Volumes = []corev1.Volume{{Name: "d", VolumeSource: vol}}
	return podRequest(attacker, ns, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "dump"}, Spec: spec})
}

func claimVolume(name string) corev1.VolumeSource {
	return corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: name}}
}

func TestLifecycleDataVolumes(t *testing.T) {
	e := volumeEnv(t)
	pv := func(name string) *corev1.PersistentVolume {
		return e.objs["PersistentVolume//"+name].(*corev1.PersistentVolume)
	}
	tests := []struct {
		name string
		req  *Request
		// field and message of the lifecycle-data denial; "" field: no lifecycle-data violation.
		field   string
		message []string
	}{
		{name: "claim naming a terminated VNF's volume, bound through its claim's label",
			req:   claimRequest(sandboxNS, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "loot"}, Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv-amf"}}),
			field: "spec.volumeName", message: []string{"claims PersistentVolume pv-amf (bound to its claim vnf-5gc/amf-data) of VNF instance amf-1, which the NFVO says is NOT_INSTANTIATED"}},
		{name: "claim naming a STOPPED VNF's volume",
			req:   claimRequest(sandboxNS, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "loot"}, Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv-smf"}}),
			field: "spec.volumeName", message: []string{"smf-1", "STOPPED"}},
		{name: "claim naming a volume whose claim is gone, bound by the claim's name as the instance's storage resource",
			req:   claimRequest("default", &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "loot"}, Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv-udr"}}),
			field: "spec.volumeName", message: []string{"pv-udr", "udr-1", "NOT_INSTANTIATED"}},
		{name: "claim naming a released volume labelled with the instance",
			req:   claimRequest(protectedNS, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "loot"}, Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv-amf-free"}}),
			field: "spec.volumeName", message: []string{"PersistentVolume pv-amf-free of VNF instance amf-1"}},
		{name: "the claim a terminated VNF's volume is bound to, made again",
			req: claimRequest(protectedNS, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data-udr-0"}, Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv-udr"}})},
		{name: "claim naming a running VNF's volume",
			req: claimRequest(sandboxNS, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "loot"}, Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv-upf"}})},
		{name: "claim naming a volume of no instance",
			req: claimRequest(sandboxNS, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "mine"}, Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv-nobody"}})},
		{name: "claim naming a volume that does not exist",
			req: claimRequest(sandboxNS, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "mine"}, Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv-absent"}})},
		{name: "claim without a volume name (dynamic provisioning)",
			req: claimRequest(sandboxNS, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "mine"}})},

		{name: "pod in another namespace mounting a claim whose volume is a terminated VNF's",
			req:   mountingPod(sandboxNS, claimVolume("loot-amf")),
			field: "spec.volumes[0].persistentVolumeClaim.claimName", message: []string{"mounts PersistentVolumeClaim lab-sandbox/loot-amf, whose volume is PersistentVolume pv-amf", "amf-1"}},
		{name: "pod mounting a claim whose volume's own claim is gone",
			req:   mountingPod(sandboxNS, claimVolume("loot-udr")),
			field: "spec.volumes[0].persistentVolumeClaim.claimName", message: []string{"udr-1"}},
		{name: "pod mounting a claim whose volume is a running VNF's",
			req: mountingPod(sandboxNS, claimVolume("loot-upf"))},
		{name: "pod with a generic ephemeral volume naming a terminated VNF's volume",
			req: mountingPod(sandboxNS, corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{
				Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv-amf"}}}}),
			field: "spec.volumes[0].ephemeral.volumeClaimTemplate.spec.volumeName", message: []string{"pv-amf", "amf-1"}},
		{name: "snapshot of a claim whose volume is a terminated VNF's",
			req: &Request{UID: "uid-snap", Operation: Create, Kind: schema.GroupVersionKind{Group: "snapshot.storage.k8s.io", Version: "v1", Kind: "VolumeSnapshot"},
				Namespace: sandboxNS, Name: "snap", User: attacker, Object: &unstructured.Unstructured{Object: map[string]any{
					"spec": map[string]any{"source": map[string]any{"persistentVolumeClaimName": "loot-amf"}}}}},
			field: "spec.source.persistentVolumeClaimName", message: []string{"snapshot of PersistentVolumeClaim lab-sandbox/loot-amf", "amf-1"}},

		{name: "claimRef re-pointed to another claim",
			req:   volumeUpdate(pv("pv-amf"), func(p *corev1.PersistentVolume) { p.Spec.ClaimRef = claimRef(sandboxNS, "loot", "") }),
			field: "spec.claimRef", message: []string{"re-points spec.claimRef (vnf-5gc/amf-data → lab-sandbox/loot) of PersistentVolume pv-amf", "amf-1"}},
		{name: "claimRef cleared",
			req:   volumeUpdate(pv("pv-udr"), func(p *corev1.PersistentVolume) { p.Spec.ClaimRef = nil }),
			field: "spec.claimRef", message: []string{"clears spec.claimRef (was vnf-5gc/data-udr-0) of PersistentVolume pv-udr", "udr-1"}},
		{name: "claimRef UID cleared, so that a new claim of the same name binds",
			req:   volumeUpdate(pv("pv-smf"), func(p *corev1.PersistentVolume) { p.Spec.ClaimRef.UID = "" }),
			field: "spec.claimRef", message: []string{"smf-1"}},
		{name: "claim set on a released volume labelled with the instance",
			req:   volumeUpdate(pv("pv-amf-free"), func(p *corev1.PersistentVolume) { p.Spec.ClaimRef = claimRef(sandboxNS, "loot", "") }),
			field: "spec.claimRef", message: []string{"re-points spec.claimRef (no claim → lab-sandbox/loot) of PersistentVolume pv-amf-free"}},
		{name: "claimRef UID filled in (the controller completing a pre-bound claim)",
			req: volumeUpdate(volume("pv-amf", nil, claimRef(protectedNS, "amf-data", "")), func(p *corev1.PersistentVolume) { p.Spec.ClaimRef.UID = "amf-uid" })},
		{name: "labels of a terminated VNF's volume changed, claimRef kept",
			req: volumeUpdate(pv("pv-amf"), func(p *corev1.PersistentVolume) { p.Labels = map[string]string{"tier": "cold"} })},
		{name: "claimRef of a running VNF's volume re-pointed",
			req: volumeUpdate(pv("pv-upf"), func(p *corev1.PersistentVolume) { p.Spec.ClaimRef = claimRef(sandboxNS, "loot", "") })},

		{name: "instance label taken off a terminated VNF's released volume",
			req:   volumeUpdate(pv("pv-amf-free"), func(p *corev1.PersistentVolume) { p.Labels = nil }),
			field: "metadata.labels[" + vnf.DefaultInstanceLabel + "]", message: []string{"removes the instance label " + vnf.DefaultInstanceLabel + "=amf-1 of PersistentVolume pv-amf-free", "delete it"}},
		{name: "instance label of a running VNF's volume changed",
			req: volumeUpdate(volume("pv-upf", map[string]string{vnf.DefaultInstanceLabel: "upf-1"}, claimRef(protectedNS, "upf-data", "upf-uid")),
				func(p *corev1.PersistentVolume) { p.Labels[vnf.DefaultInstanceLabel] = "smf-1" }),
			field: "metadata.labels[" + vnf.DefaultInstanceLabel + "]", message: []string{`changes (to "smf-1") the instance label ` + vnf.DefaultInstanceLabel + "=upf-1"}},
		{name: "instance label set to the instance of the volume's claim (what reconciliation does)",
			req: volumeUpdate(pv("pv-upf"), func(p *corev1.PersistentVolume) { p.Labels = map[string]string{vnf.DefaultInstanceLabel: "upf-1"} })},
		{name: "instance label set to another instance than the claim's",
			req:   volumeUpdate(pv("pv-upf"), func(p *corev1.PersistentVolume) { p.Labels = map[string]string{vnf.DefaultInstanceLabel: "smf-1"} }),
			field: "metadata.labels[" + vnf.DefaultInstanceLabel + "]", message: []string{"sets the instance label " + vnf.DefaultInstanceLabel + "=smf-1 on PersistentVolume pv-upf, but its claim vnf-5gc/upf-data belongs to VNF instance upf-1"}},
		{name: "instance label set on a volume bound to no claim",
			req:   volumeUpdate(pv("pv-nobody"), func(p *corev1.PersistentVolume) { p.Labels = map[string]string{vnf.DefaultInstanceLabel: "upf-1"} }),
			field: "metadata.labels[" + vnf.DefaultInstanceLabel + "]", message: []string{"pv-nobody, which is bound to no claim"}},
		{name: "instance label set on a volume whose claim is gone",
			req:   volumeUpdate(pv("pv-udr"), func(p *corev1.PersistentVolume) { p.Labels = map[string]string{vnf.DefaultInstanceLabel: "udr-1"} }),
			field: "metadata.labels[" + vnf.DefaultInstanceLabel + "]", message: []string{"whose claim vnf-5gc/data-udr-0 does not exist"}},
	}
	ev := e.evaluator(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := ev.Evaluate(context.Background(), tt.req)
			if len(d.Errors) > 0 {
				t.Fatalf("errors: %v", d.Errors)
			}
			var got *Violation
			for i := range d.Denials {
				if d.Denials[i].Check == "lifecycle-data" {
					got = &d.Denials[i]
				}
			}
			if tt.field == "" {
				if got != nil {
					t.Fatalf("denied: %s: %s", got.Field, got.Message)
				}
				return
			}
			if got == nil {
				t.Fatalf("no lifecycle-data denial; decision: %s", d.Message())
			}
			if got.Field != tt.field {
				t.Errorf("field %s, want %s", got.Field, tt.field)
			}
			for _, m := range tt.message {
				if !strings.Contains(got.Message, m) {
					t.Errorf("message %q does not contain %q", got.Message, m)
				}
			}
			if got.Technique != "FGT1609.501" || d.Allowed {
				t.Errorf("technique %s, allowed %v", got.Technique, d.Allowed)
			}
		})
	}
}

// brokenVolumes answers every lookup of one kind with an error, or with metadata only.
type brokenVolumes struct {
	objects
	kind     string
	metaOnly bool
}

func (f brokenVolumes) Get(ctx context.Context, kind, namespace, name string) (metav1.Object, error) {
	if kind != f.kind {
		return f.objects.Get(ctx, kind, namespace, name)
	}
	if !f.metaOnly {
		return nil, errors.New("the API server answered 503")
	}
	obj, err := f.objects.Get(ctx, kind, namespace, name)
	if err != nil {
		return nil, err
	}
	return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: obj.GetName(), Namespace: obj.GetNamespace(), UID: obj.GetUID(), Labels: obj.GetLabels()}}, nil
}

// TestLifecycleDataVolumesUnjudged: a volume the check cannot see is an error, never an allowance: it denies in
// the protected class (a volume bound to a protected namespace's claim is in it) and is reported elsewhere.
func TestLifecycleDataVolumesUnjudged(t *testing.T) {
	e := volumeEnv(t)
	pvAMF := e.objs["PersistentVolume//pv-amf"].(*corev1.PersistentVolume)
	for _, tt := range []struct {
		name          string
		objects       vnf.Objects
		req           *Request
		wantError     string
		wantProtected bool
	}{
		{"volume lookup fails", brokenVolumes{objects: e.objs, kind: "PersistentVolume"},
			claimRequest(sandboxNS, sandboxClaim("loot", "pv-amf")), "look up PersistentVolume pv-amf: the API server answered 503", false},
		{"volume without its spec", brokenVolumes{objects: e.objs, kind: "PersistentVolume", metaOnly: true},
			claimRequest(sandboxNS, sandboxClaim("loot", "pv-amf")), "without spec.claimRef", false},
		{"claim without its spec", brokenVolumes{objects: e.objs, kind: "PersistentVolumeClaim", metaOnly: true},
			mountingPod(sandboxNS, claimVolume("loot-amf")), "without spec.volumeName", false},
		{"claim of a re-pointed volume cannot be looked up", brokenVolumes{objects: e.objs, kind: "PersistentVolumeClaim"},
			volumeUpdate(pvAMF, func(p *corev1.PersistentVolume) { p.Spec.ClaimRef = nil }), "the API server answered 503", true},
		{"claim of a volume being labelled cannot be looked up", brokenVolumes{objects: e.objs, kind: "PersistentVolumeClaim"},
			volumeUpdate(pvAMF, func(p *corev1.PersistentVolume) { p.Labels = map[string]string{vnf.DefaultInstanceLabel: "amf-1"} }), "the API server answered 503", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := New(Environment{Config: e.cfg, Inventory: e.inv, Objects: tt.objects})
			if err != nil {
				t.Fatal(err)
			}
			d := ev.Evaluate(context.Background(), tt.req)
			if len(d.Errors) == 0 || !strings.Contains(d.Errors[0].Error(), tt.wantError) {
				t.Fatalf("errors %v, want one containing %q", d.Errors, tt.wantError)
			}
			if d.Protected != tt.wantProtected || d.Allowed == tt.wantProtected {
				t.Errorf("protected %v allowed %v; want protected %v and fail-closed there", d.Protected, d.Allowed, tt.wantProtected)
			}
		})
	}
}

// TestLifecycleDataLabelRemovalNeedsNoLookup: taking the instance label off a volume is refused from the request
// alone: with every lookup failing, the refusal stands (and is not turned into a lookup error).
func TestLifecycleDataLabelRemovalNeedsNoLookup(t *testing.T) {
	e := volumeEnv(t)
	labelled := volume("pv-upf", map[string]string{vnf.DefaultInstanceLabel: "upf-1"}, claimRef(protectedNS, "upf-data", "upf-uid"))
	for _, kind := range []string{"PersistentVolumeClaim", "PersistentVolume", "Pod"} {
		ev, err := New(Environment{Config: e.cfg, Inventory: e.inv, Objects: brokenVolumes{objects: e.objs, kind: kind}})
		if err != nil {
			t.Fatal(err)
		}
		d := ev.Evaluate(context.Background(), volumeUpdate(labelled, func(p *corev1.PersistentVolume) { delete(p.Labels, vnf.DefaultInstanceLabel) }))
		found := false
		for _, v := range d.Denials {
			found = found || (v.Check == "lifecycle-data" && strings.Contains(v.Message, "removes the instance label"))
		}
		if d.Allowed || !found {
			t.Errorf("lookups of %s failing: allowed %v, denials %v; want the label's removal refused", kind, d.Allowed, d.Denials)
		}
	}
}
