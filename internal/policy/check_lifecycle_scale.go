package policy

import (
	"context"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check lifecycle-scale stops anyone but the VNFM from bringing a STOPPED or terminated VNF back to life by scaling
its workloads up (FGT1609.501: the revived pods would serve the dormant VNF's data). It governs UPDATE of
Deployments, StatefulSets, ReplicaSets and ReplicationControllers and of their scale subresource, in every namespace.

Restricted: raising spec.replicas of a workload that belongs to a VNF instance the NFVO says is STOPPED or
NOT_INSTANTIATED (or that the inventory no longer knows), by any identity that is not a VNFM.

Allowed: scaling down; scaling running instances (the vnf-instantiation check governs who may change workloads in
protected namespaces); the VNFM starting an instance.
*/
type lifecycleScaleCheck struct{}

func init() { register(func() Check { return lifecycleScaleCheck{} }) }

func (lifecycleScaleCheck) ID() string            { return "lifecycle-scale" }
func (lifecycleScaleCheck) Technique() string     { return finding.AccessingTerminatedVNF }
func (lifecycleScaleCheck) Mitigations() []string { return []string{finding.MitigationUserAccounts} }

// Needs names the lookups the check reads: the instance of the scaled workload.
func (lifecycleScaleCheck) Needs() Lookup { return LookupBinding }

func (c lifecycleScaleCheck) Evaluate(_ context.Context, a *Attributes, out []Violation) ([]Violation, error) {
	req := a.Request
	if req.Operation != Update || a.Identity.Has(VNFM) || (req.SubResource != "" && req.SubResource != "scale") {
		return out, nil
	}
	newReplicas, okNew := replicasOf(req.Object)
	oldReplicas, okOld := replicasOf(req.OldObject)
	if !okNew || !okOld || newReplicas <= oldReplicas {
		return out, nil
	}
	b := a.Binding
	var state string
	switch {
	case b.Bound() && !b.Known():
		state = "no longer in the inventory (terminated and deleted)"
	case b.Known() && b.Instance.Dormant():
		state = b.Instance.State()
	default:
		return out, nil
	}
	return append(out, violation(c, "spec.replicas",
		"scaling from "+strconv.Itoa(int(oldReplicas))+" to "+strconv.Itoa(int(newReplicas))+" replicas by "+req.User.Username+
			" would revive VNF instance "+b.InstanceID+", which is "+state+"; only the VNFM may start it")), nil
}

// replicasOf reads spec.replicas of a scalable workload or a Scale (nil replicas means 1, as the API defaults).
func replicasOf(obj runtime.Object) (int32, bool) {
	var r *int32
	switch o := obj.(type) {
	case *appsv1.Deployment:
		r = o.Spec.Replicas
	case *appsv1.StatefulSet:
		r = o.Spec.Replicas
	case *appsv1.ReplicaSet:
		r = o.Spec.Replicas
	case *corev1.ReplicationController:
		r = o.Spec.Replicas
	case *autoscalingv1.Scale:
		return o.Spec.Replicas, true
	default:
		return 0, false
	}
	if r == nil {
		return 1, true
	}
	return *r, true
}
