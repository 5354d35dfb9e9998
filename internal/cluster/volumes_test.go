package cluster

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

// TestVolumesCarryTheirBinding: the view serves PersistentVolumes (cluster-scoped) and claims with the fields that
// bind them — claimRef and volumeName — from the cache and from the API server after a miss, stripped of the rest.
func TestVolumesCarryTheirBinding(t *testing.T) {
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv-udr", Annotations: map[string]string{"big": "dropped"}},
		Spec: corev1.PersistentVolumeSpec{ClaimRef: &corev1.ObjectReference{Namespace: "vnf-udr", Name: "data-udr-0", UID: "u1"},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/data"}}},
	}
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "loot", Namespace: "lab-sandbox"}, Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv-udr"}}
	typed := kubefake.NewClientset(pv, pvc)
	scheme := metadatafake.NewTestScheme()
	if err := metav1.AddMetaToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	client := metadatafake.NewSimpleMetadataClient(scheme)
	v := &View{client: client, factory: metadatainformer.NewSharedInformerFactory(client, 0), typed: typed, typedFactory: informers.NewSharedInformerFactory(typed, 0),
		informers: map[string]cache.SharedIndexInformer{}, logger: slog.New(slog.DiscardHandler), lookupTimeout: DefaultLookupTimeout}
	for kind := range specKinds {
		v.informers[kind] = volumeInformer(v.typedFactory, kind)
	}
	ctx := context.Background()

	// A cache miss goes to the API server.
	got, err := v.Get(ctx, vnf.KindPersistentVolume, "", "pv-udr")
	if err != nil {
		t.Fatal(err)
	}
	gotPV, ok := got.(*corev1.PersistentVolume)
	if !ok || gotPV.Spec.ClaimRef == nil || gotPV.Spec.ClaimRef.Name != "data-udr-0" || gotPV.Spec.HostPath != nil || gotPV.Annotations != nil {
		t.Errorf("live PersistentVolume = %#v, want claimRef kept and the rest stripped", got)
	}
	// The cache, as the informer fills it (through the transform).
	stripped, _ := stripVolume(pvc)
	if err := v.informers[vnf.KindPersistentVolumeClaim].GetIndexer().Add(stripped); err != nil {
		t.Fatal(err)
	}
	typed.ClearActions()
	got, err = v.Get(ctx, vnf.KindPersistentVolumeClaim, "lab-sandbox", "loot")
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := got.(*corev1.PersistentVolumeClaim); !ok || c.Spec.VolumeName != "pv-udr" || len(typed.Actions()) != 0 {
		t.Errorf("cached claim = %#v (%d API calls), want its volumeName from the cache", got, len(typed.Actions()))
	}
	if _, err := v.Get(ctx, vnf.KindPersistentVolume, "", "absent"); !errors.Is(err, vnf.ErrNotFound) {
		t.Errorf("absent volume: %v, want vnf.ErrNotFound", err)
	}
}
