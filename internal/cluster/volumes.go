package cluster

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

// specKinds are the kinds whose spec the policy reads besides their metadata: the volume a claim names
// (spec.volumeName) and the claim a volume is bound to (spec.claimRef). Check lifecycle-data follows them from a
// pod or a new claim in any namespace to a dormant VNF's volume, which metadata alone cannot do. Their informers
// are typed, and keep only the fields vnf.VolumeSubjects and the check read (stripVolume), so that they cost
// little more than metadata.
var specKinds = map[string]bool{vnf.KindPersistentVolume: true, vnf.KindPersistentVolumeClaim: true}

// volumeInformer is the typed, stripped informer of a spec kind.
func volumeInformer(factory informers.SharedInformerFactory, kind string) cache.SharedIndexInformer {
	var inf cache.SharedIndexInformer
	if kind == vnf.KindPersistentVolume {
		inf = factory.Core().V1().PersistentVolumes().Informer()
	} else {
		inf = factory.Core().V1().PersistentVolumeClaims().Informer()
	}
	// SetTransform fails only once the informer has started; it has not.
	_ = inf.SetTransform(stripVolume)
	return inf
}

// stripVolume keeps of a PersistentVolume or PersistentVolumeClaim what the view serves: the metadata the
// resolver walks, and the binding fields.
func stripVolume(obj any) (any, error) {
	keep := func(m metav1.ObjectMeta) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
			Labels: m.Labels, OwnerReferences: m.OwnerReferences, CreationTimestamp: m.CreationTimestamp, DeletionTimestamp: m.DeletionTimestamp}
	}
	switch o := obj.(type) {
	case *corev1.PersistentVolume:
		return &corev1.PersistentVolume{TypeMeta: o.TypeMeta, ObjectMeta: keep(o.ObjectMeta),
			Spec:   corev1.PersistentVolumeSpec{ClaimRef: o.Spec.ClaimRef, PersistentVolumeReclaimPolicy: o.Spec.PersistentVolumeReclaimPolicy},
			Status: corev1.PersistentVolumeStatus{Phase: o.Status.Phase}}, nil
	case *corev1.PersistentVolumeClaim:
		return &corev1.PersistentVolumeClaim{TypeMeta: o.TypeMeta, ObjectMeta: keep(o.ObjectMeta),
			Spec: corev1.PersistentVolumeClaimSpec{VolumeName: o.Spec.VolumeName}}, nil
	}
	return obj, nil // a tombstone (cache.DeletedFinalStateUnknown) passes through
}

// getVolume is View.get for a PersistentVolume or PersistentVolumeClaim: a GET of the typed object, stripped like
// the cached ones. View.live calls it, so that a volume costs what any other cache miss costs: its answer is reused,
// concurrent misses share one GET, and the GET takes one of the live-lookup slots.
func (v *View) getVolume(ctx context.Context, kind, namespace, name string) (metav1.Object, error) {
	var (
		obj any
		err error
	)
	if kind == vnf.KindPersistentVolume {
		obj, err = v.liveTyped.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{})
	} else {
		obj, err = v.liveTyped.CoreV1().PersistentVolumeClaims(namespace).Get(ctx, name, metav1.GetOptions{})
	}
	if err != nil {
		return nil, err
	}
	stripped, _ := stripVolume(obj)
	return stripped.(metav1.Object), nil
}

// typedClient is what the view reads volumes with; a kubernetes.Interface (a fake one in tests).
type typedClient = kubernetes.Interface
