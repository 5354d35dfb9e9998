package detect

// maxRememberedWrites bounds the workload writes the engine remembers for ownerWriteSeen(); beyond it the oldest
// are forgotten, and the pods of a forgotten owner are judged at their own create again: more findings, never
// fewer.
const maxRememberedWrites = 50000

// workloadWrites remembers which workloads (Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs, CronJobs,
// ReplicationControllers) the engine saw written. A pod a controller creates is judged through its owner's write,
// which names the identity that asked for it; but when that write never reached the engine (an audit policy that
// leaves workloads out, a batch the API server dropped, an owner written before vnfguard ran) skipping the pod
// would let its shape pass unjudged. ownerWriteSeen() tells the two apart.
type workloadWrites struct {
	seen *boundedMap[objectKey, struct{}]
}

func newWorkloadWrites() *workloadWrites {
	return &workloadWrites{seen: newBoundedMap[objectKey, struct{}](maxRememberedWrites)}
}

// observe records the object of a successful workload create, update or patch.
func (w *workloadWrites) observe(a *activation) {
	if !isWorkloadWrite(a.ev) {
		return
	}
	kind := kindOf[a.ev.ObjectRef.Resource]
	name, namespace := a.ev.ObjectRef.Name, a.ev.ObjectRef.Namespace
	if name == "" {
		md, ok := a.objectMeta()
		if !ok {
			return
		}
		name = md.Name
	}
	if name == "" {
		return
	}
	w.seen.put(objectKey{kind, namespace, name}, struct{}{})
}

// ownerWriteSeen reports whether the controller that owns the event's object (its ownerReference with controller:
// true) was seen written by this engine. False for an object without a controlling owner.
func (a *activation) ownerWriteSeen() bool {
	md, ok := a.objectMeta()
	if !ok {
		return false
	}
	for _, ref := range md.OwnerReferences {
		if ref.Controller == nil || !*ref.Controller {
			continue
		}
		_, seen := a.e.writes.seen.get(objectKey{ref.Kind, md.Namespace, ref.Name})
		return seen
	}
	return false
}
