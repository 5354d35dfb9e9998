package cluster

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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

// liveVolume fetches a PersistentVolume or PersistentVolumeClaim from the API server after a cache miss, stripped
// like the cached ones.
func (v *View) liveVolume(ctx context.Context, kind, namespace, name string) (metav1.Object, error) {
	ctx, cancel := context.WithTimeout(ctx, v.lookupTimeout)
	defer cancel()
	var (
		obj any
		err error
	)
	if kind == vnf.KindPersistentVolume {
		obj, err = v.typed.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{})
	} else {
		obj, err = v.typed.CoreV1().PersistentVolumeClaims(namespace).Get(ctx, name, metav1.GetOptions{})
	}
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("%s %s: %w", kind, qualified(namespace, name), vnf.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("cluster view: get %s %s from the API server after a cache miss: %w", kind, qualified(namespace, name), err)
	}
	stripped, _ := stripVolume(obj)
	v.logger.Debug("cluster view: cache miss served by the API server", "kind", kind, "namespace", namespace, "name", name)
	return stripped.(metav1.Object), nil
}

// typedClient is what the view reads volumes with; a kubernetes.Interface (a fake one in tests).
type typedClient = kubernetes.Interface
