package vnf

import (
	"context"
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DefaultInstanceLabel is the label OpenStack Tacker sets on the top-level objects it creates for an instance.
const DefaultInstanceLabel = "tacker_vnf_instance_id"

// maxOwnerDepth bounds the walk up ownerReferences (Pod → ReplicaSet → Deployment needs two steps; CronJob →
// Job → Pod two as well). A deeper or cyclic chain stops there.
const maxOwnerDepth = 5

// ErrNotFound is what Objects.Get returns for an object that does not exist.
var ErrNotFound = errors.New("not found")

// Objects is the cluster view the resolver walks owner references in: an informer cache, the live API, or the
// manifests given to `vnfguard policy test`.
type Objects interface {
	// Get returns the metadata of the object of the given kind (Pod, ReplicaSet, Deployment, StatefulSet,
	// DaemonSet, Job, CronJob, PersistentVolumeClaim, PersistentVolume, Secret, ConfigMap), or an error wrapping
	// ErrNotFound. A cluster-scoped kind is asked for with an empty namespace. PersistentVolumeClaims and
	// PersistentVolumes are typed (*corev1.PersistentVolumeClaim, *corev1.PersistentVolume) at least with
	// spec.volumeName and spec.claimRef where the view has them: the volume checks need those fields.
	Get(ctx context.Context, kind, namespace, name string) (metav1.Object, error)
}

// How a binding was found.
const (
	ViaLabel    = "label"
	ViaResource = "resource"
)

// Binding is the answer to "which VNF instance does this object belong to".
type Binding struct {
	// InstanceID is the instance the object claims or is claimed by; empty when it belongs to none.
	InstanceID string
	// Instance is that instance in the inventory; nil when the inventory does not know InstanceID (a claim to
	// an instance the NFVO never created or has deleted).
	Instance *Instance
	// Via says how: ViaLabel (HolderKind/HolderName carries the instance label) or ViaResource (the instance
	// names HolderName as a compute or storage resource).
	Via        string
	HolderKind string
	HolderName string
}

// Bound reports whether the object belongs to some instance, known or not.
func (b Binding) Bound() bool { return b.InstanceID != "" }

// Known reports whether the object belongs to an instance the inventory knows.
func (b Binding) Known() bool { return b.Instance != nil }

func (b Binding) String() string {
	if !b.Bound() {
		return "no VNF instance"
	}
	how := "its label " + "on " + b.HolderKind + " " + b.HolderName
	if b.Via == ViaResource {
		how = "the instance's resource " + b.HolderKind + " " + b.HolderName
	}
	if b.Instance == nil {
		return "VNF instance " + b.InstanceID + " (unknown to the inventory; via " + how + ")"
	}
	return "VNF instance " + b.Instance.Describe() + " via " + how
}

// Resolver finds the VNF instance of an object: by the instance label on the object or an owner up its
// ownerReferences chain, or by the object or an owner being named as a resource of an instance.
type Resolver struct {
	LabelKey string
	Objects  Objects // may be nil: then only the object itself is looked at
}

// Resolve walks from obj (of the given kind) up its controller owners. An owner that cannot be found ends the
// walk; any other lookup error is returned, so that callers can fail closed.
func (r *Resolver) Resolve(ctx context.Context, snap *Snapshot, kind string, obj metav1.Object) (Binding, error) {
	labelKey := r.LabelKey
	if labelKey == "" {
		labelKey = DefaultInstanceLabel
	}
	namespace := obj.GetNamespace()
	for depth := 0; obj != nil; depth++ {
		if id, ok := obj.GetLabels()[labelKey]; ok && id != "" {
			inst, _ := snap.Instance(id)
			return Binding{InstanceID: id, Instance: inst, Via: ViaLabel, HolderKind: kind, HolderName: obj.GetName()}, nil
		}
		if name := obj.GetName(); name != "" {
			if inst, ok := snap.ByResource(namespace, name); ok {
				return Binding{InstanceID: inst.ID, Instance: inst, Via: ViaResource, HolderKind: kind, HolderName: name}, nil
			}
		}
		if depth == maxOwnerDepth || r.Objects == nil {
			break
		}
		owner := controllerOf(obj)
		if owner == nil {
			break
		}
		next, err := r.Objects.Get(ctx, owner.Kind, namespace, owner.Name)
		if errors.Is(err, ErrNotFound) {
			break
		}
		if err != nil {
			return Binding{}, fmt.Errorf("look up owner %s %s/%s of %s %s: %w", owner.Kind, namespace, owner.Name, kind, obj.GetName(), err)
		}
		kind, obj = owner.Kind, next
	}
	return Binding{}, nil
}

// controllerOf returns the controlling owner reference, or the first one when none is marked controller.
func controllerOf(obj metav1.Object) *metav1.OwnerReference {
	refs := obj.GetOwnerReferences()
	for i := range refs {
		if refs[i].Controller != nil && *refs[i].Controller {
			return &refs[i]
		}
	}
	if len(refs) > 0 {
		return &refs[0]
	}
	return nil
}
