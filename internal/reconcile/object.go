package reconcile

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// The kinds reconciliation looks at.
const (
	KindPod                   = "Pod"
	KindReplicaSet            = "ReplicaSet"
	KindReplicationController = "ReplicationController"
	KindDeployment            = "Deployment"
	KindStatefulSet           = "StatefulSet"
	KindDaemonSet             = "DaemonSet"
	KindJob                   = "Job"
	KindCronJob               = "CronJob"
	KindPersistentVolumeClaim = "PersistentVolumeClaim"
	KindPersistentVolume      = "PersistentVolume"
	KindSecret                = "Secret"
	KindConfigMap             = "ConfigMap"
	KindService               = "Service"
	KindVolumeSnapshot        = "VolumeSnapshot"
)

// apiVersions gives each kind's apiVersion for finding object references.
var apiVersions = map[string]string{
	KindPod: "v1", KindPersistentVolumeClaim: "v1", KindPersistentVolume: "v1", KindSecret: "v1", KindConfigMap: "v1",
	KindService: "v1", KindReplicationController: "v1", KindReplicaSet: "apps/v1", KindDeployment: "apps/v1", KindStatefulSet: "apps/v1",
	KindDaemonSet: "apps/v1", KindJob: "batch/v1", KindCronJob: "batch/v1",
	KindVolumeSnapshot: "snapshot.storage.k8s.io/v1",
}

// workloadKinds can be rogue: they run code.
var workloadKinds = map[string]bool{
	KindPod: true, KindReplicaSet: true, KindReplicationController: true, KindDeployment: true, KindStatefulSet: true, KindDaemonSet: true,
	KindJob: true, KindCronJob: true,
}

// dataKinds can be residual: they hold data, credentials, configuration or an endpoint of an instance.
var dataKinds = map[string]bool{
	KindPersistentVolumeClaim: true, KindPersistentVolume: true, KindSecret: true, KindConfigMap: true,
	KindService: true, KindVolumeSnapshot: true,
}

// Object is the light record reconciliation keeps of one cluster object. Of the embedded ObjectMeta only Name,
// Namespace, UID, Labels, OwnerReferences, CreationTimestamp and DeletionTimestamp are used (and kept by the
// converters); embedding it lets vnf.Resolver walk the objects without a copy.
type Object struct {
	Kind string
	metav1.ObjectMeta

	// PersistentVolume: spec.persistentVolumeReclaimPolicy, spec.claimRef and status.phase.
	ReclaimPolicy  string
	ClaimNamespace string
	ClaimName      string
	Phase          string
	// VolumeSnapshot: spec.source.persistentVolumeClaimName (in the snapshot's namespace).
	SourcePVC string
}

// Ref is the object as a finding's object reference.
func (o *Object) Ref() finding.ObjectRef {
	return finding.ObjectRef{APIVersion: apiVersions[o.Kind], Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}
}

// FromMeta records an object from its metadata (a metadata informer's PartialObjectMetadata, a typed object).
func FromMeta(kind string, m metav1.Object) Object {
	o := Object{Kind: kind}
	o.Name, o.Namespace, o.UID = m.GetName(), m.GetNamespace(), m.GetUID()
	o.Labels = m.GetLabels()
	o.OwnerReferences = m.GetOwnerReferences()
	o.CreationTimestamp = m.GetCreationTimestamp()
	o.DeletionTimestamp = m.GetDeletionTimestamp()
	return o
}

// FromUnstructured records any object (a dynamic informer's, or a manifest), with the PersistentVolume and
// VolumeSnapshot fields reconciliation uses. Fields of the wrong type are left empty rather than failing: the
// record is only as good as the object, and the API server has validated it.
func FromUnstructured(u *unstructured.Unstructured) Object {
	o := FromMeta(u.GetKind(), u)
	switch o.Kind {
	case KindPersistentVolume:
		o.ReclaimPolicy, _, _ = unstructured.NestedString(u.Object, "spec", "persistentVolumeReclaimPolicy")
		o.ClaimNamespace, _, _ = unstructured.NestedString(u.Object, "spec", "claimRef", "namespace")
		o.ClaimName, _, _ = unstructured.NestedString(u.Object, "spec", "claimRef", "name")
		o.Phase, _, _ = unstructured.NestedString(u.Object, "status", "phase")
	case KindVolumeSnapshot:
		o.SourcePVC, _, _ = unstructured.NestedString(u.Object, "spec", "source", "persistentVolumeClaimName")
	}
	return o
}

// FromPersistentVolume records a typed PersistentVolume (the cluster view's, see cluster.Informers) with the fields
// FromUnstructured reads of one.
func FromPersistentVolume(pv *corev1.PersistentVolume) Object {
	o := FromMeta(KindPersistentVolume, pv)
	o.ReclaimPolicy, o.Phase = string(pv.Spec.PersistentVolumeReclaimPolicy), string(pv.Status.Phase)
	if ref := pv.Spec.ClaimRef; ref != nil {
		o.ClaimNamespace, o.ClaimName = ref.Namespace, ref.Name
	}
	return o
}

type objectKey struct{ kind, namespace, name string }

// State is the cluster as reconciliation sees it: the protected namespaces and the objects, indexed by kind,
// namespace and name. Build it with NewState; it is not modified afterwards, so one State may be evaluated from
// several goroutines.
type State struct {
	protected map[string]bool
	objects   []*Object // in the caller's order: Evaluate's output does not depend on it
	byKey     map[objectKey]*Object
}

// NewState indexes the objects. Namespaced objects outside the protected namespaces are dropped; PVs (cluster
// scoped) are kept and judged by the namespace of their claim; an object given twice (same kind, namespace and
// name) is kept once, as its later record. The objects are moved into the State: the caller must not use them
// afterwards.
func NewState(protected []string, objects []Object) *State {
	s := &State{
		protected: make(map[string]bool, len(protected)),
		byKey:     make(map[objectKey]*Object, len(objects)),
	}
	for _, ns := range protected {
		s.protected[ns] = true
	}
	s.objects = make([]*Object, 0, len(objects))
	for i := range objects {
		o := &objects[i]
		if o.Namespace != "" && !s.protected[o.Namespace] {
			continue
		}
		key := objectKey{o.Kind, o.Namespace, o.Name}
		if prev, ok := s.byKey[key]; ok {
			*prev = *o // the same object twice (a relist racing an update): the later record wins, once
			continue
		}
		s.objects = append(s.objects, o)
		s.byKey[key] = o
	}
	return s
}

// Protected reports whether the namespace is one reconciliation watches.
func (s *State) Protected(namespace string) bool { return s.protected[namespace] }

// Get returns the object of the given kind, namespace and name.
func (s *State) Get(kind, namespace, name string) (*Object, bool) {
	o, ok := s.byKey[objectKey{kind, namespace, name}]
	return o, ok
}

// Len is the number of objects kept.
func (s *State) Len() int { return len(s.objects) }

// errNotWatched is the one error every missed lookup returns: an owner of a kind not watched, or deleted. It is
// a value, not built per call, because a rogue pod whose owner is gone misses on every pass.
var errNotWatched = fmt.Errorf("reconcile: owner not among the watched objects: %w", vnf.ErrNotFound)

// resolverObjects adapts a State to vnf.Objects for vnf.Resolver.
type resolverObjects struct{ s *State }

func (o resolverObjects) Get(_ context.Context, kind, namespace, name string) (metav1.Object, error) {
	if obj, ok := o.s.byKey[objectKey{kind, namespace, name}]; ok {
		return &obj.ObjectMeta, nil
	}
	return nil, errNotWatched
}
