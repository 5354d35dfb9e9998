package cluster

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
	clienttesting "k8s.io/client-go/testing"

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
	v := volumeView(t, typed)
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

// volumeView is a view with empty informer caches whose volumes come from the typed fake.
func volumeView(t *testing.T, typed *kubefake.Clientset) *View {
	t.Helper()
	scheme := metadatafake.NewTestScheme()
	if err := metav1.AddMetaToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	client := metadatafake.NewSimpleMetadataClient(scheme)
	return newStoppedView(client, client, typed, nil, slog.New(slog.DiscardHandler))
}

// volumeGets counts the GETs of volumes and claims the typed fake has answered.
func volumeGets(typed *kubefake.Clientset) int {
	n := 0
	for _, a := range typed.Actions() {
		if a.GetVerb() == "get" {
			n++
		}
	}
	return n
}

// TestVolumeMissesShareTheLiveCache: a PersistentVolume or claim the cache does not hold is looked up the way any
// other cache miss is: the answer, found or not, is reused for the answer TTL, a failed GET's error for the error
// TTL, and the error of a failed GET is never "not found" (which would switch the check off).
func TestVolumeMissesShareTheLiveCache(t *testing.T) {
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-udr"},
		Spec: corev1.PersistentVolumeSpec{ClaimRef: &corev1.ObjectReference{Namespace: "vnf-udr", Name: "data-udr-0"}}}
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "loot", Namespace: "lab-sandbox"}, Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv-udr"}}
	ctx := context.Background()

	t.Run("answers", func(t *testing.T) {
		typed := kubefake.NewClientset(pv, pvc)
		v := volumeView(t, typed)
		for range 5 {
			if got, err := v.Get(ctx, vnf.KindPersistentVolume, "", "pv-udr"); err != nil || got.(*corev1.PersistentVolume).Spec.ClaimRef.Name != "data-udr-0" {
				t.Fatalf("Get(pv-udr) = %v, %v", got, err)
			}
			if got, err := v.Get(ctx, vnf.KindPersistentVolumeClaim, "lab-sandbox", "loot"); err != nil || got.(*corev1.PersistentVolumeClaim).Spec.VolumeName != "pv-udr" {
				t.Fatalf("Get(lab-sandbox/loot) = %v, %v", got, err)
			}
			if _, err := v.Get(ctx, vnf.KindPersistentVolume, "", "absent"); !errors.Is(err, vnf.ErrNotFound) {
				t.Fatalf("Get(absent) = %v; want vnf.ErrNotFound", err)
			}
		}
		if n := volumeGets(typed); n != 3 {
			t.Errorf("%d GETs for 3 volumes asked 5 times each; want 3 (answers, found or not, are cached)", n)
		}
	})

	t.Run("failures", func(t *testing.T) {
		typed := kubefake.NewClientset(pv)
		typed.PrependReactor("get", "persistentvolumes", func(clienttesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewServiceUnavailable("etcd leader changed")
		})
		v := volumeView(t, typed)
		for range 3 {
			_, err := v.Get(ctx, vnf.KindPersistentVolume, "", "pv-udr")
			var lerr *LookupError
			if err == nil || errors.Is(err, vnf.ErrNotFound) || !errors.As(err, &lerr) || !apierrors.IsServiceUnavailable(err) {
				t.Fatalf("Get(pv-udr) with the API server failing = %v; want a LookupError wrapping the 503, not 'not found'", err)
			}
			if !strings.Contains(err.Error(), "PersistentVolume pv-udr") || !strings.Contains(err.Error(), "unavailable or overloaded") {
				t.Errorf("error %q does not say what failed and why", err)
			}
		}
		if n := volumeGets(typed); n != 1 {
			t.Errorf("%d GETs for 3 failed lookups within the error TTL; want 1", n)
		}
	})
}
