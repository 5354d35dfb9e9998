package reconcile

import (
	"context"
	"maps"
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vnfguard/vnfguard/internal/apipolicy"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// workloadParamKinds are the owners whose controllers create pods: a dormant instance's are named in the
// parameters, so that the API server refuses the zombies their controllers would make.
var workloadParamKinds = map[string]bool{
	KindReplicaSet: true, KindReplicationController: true, KindStatefulSet: true, KindDaemonSet: true,
	KindJob: true, KindDeployment: true, KindCronJob: true,
}

// LifecycleParams projects the VNF lifecycle into the data of the VNFLifecycle object apipolicy.ParamsName of every
// protected namespace (namespace → data), for the API server's own policies (internal/apipolicy). Bindings are resolved against
// the current inventory as admission resolves them (label or instance resource, up the owner chain), so that the
// policies and the webhook's checks judge from the same facts:
//
//   - apipolicy.KeyPod: pods that may not be entered (check lifecycle-access): of an instance that is dormant,
//     TERMINATING or unknown to the inventory, or being deleted;
//   - apipolicy.KeyClaim: claims of an instance that is dormant with no operation in progress, or unknown (check
//     lifecycle-data);
//   - apipolicy.KeyOwner: workloads of such instances (check vnf-instantiation's zombies);
//   - apipolicy.KeyInstance: every instance the inventory knows, RUNNABLE or its state (check vnf-instantiation).
//
// Nil when the inventory has not loaded: the policies then refuse what needs the parameters.
func LifecycleParams(snap *vnf.Snapshot, state *State, opts Options, now time.Time) map[string]map[string]string {
	if snap == nil || !snap.Loaded || state == nil {
		return nil
	}
	e := newEvaluator(snap, nil, state, opts, now)
	instances := map[string]string{}
	for _, inst := range snap.Instances() {
		v := inst.State()
		if inst.Running() || inst.OperationInProgress() {
			v = apipolicy.Runnable
		}
		instances[apipolicy.KeyInstance+inst.ID] = v
	}
	instances[apipolicy.KeyInventory] = snap.Version
	out := map[string]map[string]string{}
	namespaces := make([]string, 0, len(state.protected))
	for ns, p := range state.protected {
		if p {
			namespaces = append(namespaces, ns)
		}
	}
	sort.Strings(namespaces)
	for _, ns := range namespaces {
		data := make(map[string]string, len(instances))
		for k, v := range instances {
			data[k] = v
		}
		out[ns] = data
	}
	for _, o := range state.objects {
		data, ok := out[o.Namespace]
		if !ok {
			continue
		}
		b := e.resolve(snap, o.Kind, &o.ObjectMeta)
		switch {
		case o.Kind == KindPod:
			if v := enterable(b); v != "" {
				data[apipolicy.KeyPod+o.Name] = v
			} else if o.DeletionTimestamp != nil {
				data[apipolicy.KeyPod+o.Name] = apipolicy.Value(apipolicy.Deleting, b.InstanceID)
			}
		case o.Kind == KindPersistentVolumeClaim:
			if v := dormantData(b); v != "" {
				data[apipolicy.KeyClaim+o.Name] = v
			}
		case workloadParamKinds[o.Kind]:
			if v := dormantData(b); v != "" {
				data[apipolicy.OwnerKey(o.Kind, o.Name)] = v
			}
		}
	}
	return out
}

// enterable is the parameter of a pod that may not be entered, as check lifecycle-access judges its binding: ""
// for a pod that may be.
func enterable(b vnf.Binding) string {
	switch {
	case b.Bound() && !b.Known():
		return apipolicy.Value(apipolicy.Unknown, b.InstanceID)
	case b.Known() && b.Instance.Dormant():
		return apipolicy.Value(b.Instance.State(), b.InstanceID)
	case b.Known() && b.Instance.Terminating():
		return apipolicy.Value(apipolicy.Terminating, b.InstanceID)
	}
	return ""
}

// dormantData is the parameter of a claim or workload of an instance whose data may not be mounted and whose
// pods may not be made, as checks lifecycle-data and vnf-instantiation judge its binding: dormant with no LCM
// operation in progress, or unknown.
func dormantData(b vnf.Binding) string {
	switch {
	case b.Bound() && !b.Known():
		return apipolicy.Value(apipolicy.Unknown, b.InstanceID)
	case b.Known() && b.Instance.Dormant() && !b.Instance.OperationInProgress():
		return apipolicy.Value(b.Instance.State(), b.InstanceID)
	}
	return ""
}

// paramsWriter applies the lifecycle parameters, each namespace's only when they changed or the ConfigMap is not
// the one it wrote last (deleted, or changed by someone else).
type paramsWriter struct {
	written map[string]writtenParams // by namespace
}

type writtenParams struct {
	data            map[string]string
	resourceVersion string
}

// writeParams applies each protected namespace's parameters with server-side apply (field manager
// vnfguard-lifecycle): keys it no longer sends are removed. A failure is logged and retried at the next pass; until
// then the API server judges from the parameters it has (or refuses what needs them, when there are none).
func (r *Reconciler) writeParams(ctx context.Context, params map[string]map[string]string) {
	if r.params.written == nil {
		r.params.written = map[string]writtenParams{}
	}
	for ns, data := range params {
		last, wrote := r.params.written[ns]
		if wrote && maps.Equal(last.data, data) && r.paramsIntact(ctx, ns, last.resourceVersion) {
			continue
		}
		obj := apipolicy.ParamsObject(ns, data)
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		applied, err := r.dyn.Resource(apipolicy.ParamsGVR).Namespace(ns).Apply(actx, apipolicy.ParamsName, obj, metav1.ApplyOptions{FieldManager: "vnfguard-lifecycle", Force: true})
		cancel()
		if err != nil {
			r.logger.Warn("reconcile: could not write the VNF lifecycle parameters of the API server's policies; the next pass tries again",
				"namespace", ns, "object", apipolicy.ParamsKind+" "+apipolicy.ParamsName, "error", err)
			delete(r.params.written, ns)
			continue
		}
		r.params.written[ns] = writtenParams{data: data, resourceVersion: applied.GetResourceVersion()}
		r.logger.Debug("reconcile: wrote the VNF lifecycle parameters", "namespace", ns, "keys", len(data))
	}
}

// paramsIntact reports whether the namespace's parameters are still the object vnfguard wrote last (same
// resourceVersion). A GET per namespace and pass: someone deleting or editing them (an administrator; the policies
// refuse everyone else) gets them written again at the next pass.
func (r *Reconciler) paramsIntact(ctx context.Context, ns, resourceVersion string) bool {
	gctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cur, err := r.dyn.Resource(apipolicy.ParamsGVR).Namespace(ns).Get(gctx, apipolicy.ParamsName, metav1.GetOptions{})
	return err == nil && cur.GetResourceVersion() == resourceVersion
}
