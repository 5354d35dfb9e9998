package apipolicy

import (
	_ "embed"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ParamsName is the name of the VNFLifecycle object, in every protected namespace, that projects the VNF lifecycle for the
// policies that read it. Reconciliation writes it (reconcile.LifecycleParams); only vnfguard's service account and
// its administrators may change it (twin params-guard).
const ParamsName = "vnfguard-lifecycle"

// The keys of the lifecycle parameters (the object's data). Kubernetes names and VNF instance IDs (UUIDs) keep to
// [-._a-zA-Z0-9], as ConfigMap keys would have to.
const (
	// KeyPod + pod name: the pod may not be entered (exec, attach, port-forward, ephemeral containers). The value is
	// State + " " + instance ID.
	KeyPod = "pod."
	// KeyClaim + claim name: the PersistentVolumeClaim holds a dormant instance's data and may not be mounted or
	// snapshotted. The value is State + " " + instance ID.
	KeyClaim = "pvc."
	// KeyOwner + lower-case kind + "." + name: a workload of a dormant instance, whose controller may create no pod
	// (a zombie). The value is State + " " + instance ID.
	KeyOwner = "owner."
	// KeyInstance + instance ID: every instance the inventory knows, with Runnable when something may be
	// instantiated for it (started, or an LCM operation in progress), else its state.
	KeyInstance = "vnf."
	// KeyInventory holds the version of the inventory the parameters were projected from: whoever waits for the
	// API server to judge by a new inventory waits for it here.
	KeyInventory = "inventory.version"
)

// The states of a value: the instance's (STOPPED, NOT_INSTANTIATED), or one of these.
const (
	// Runnable: an instance that is started or has an LCM operation in progress.
	Runnable = "RUNNABLE"
	// Unknown: an instance the inventory no longer knows (terminated and deleted from it).
	Unknown = "UNKNOWN"
	// Terminating: an instance whose TERMINATE is under way.
	Terminating = "TERMINATING"
	// Deleting: a pod that is being deleted (it still holds the VNF's data).
	Deleting = "DELETING"
)

// Value is a parameter's value: the state, and the instance it is about.
func Value(state, instanceID string) string {
	if instanceID == "" {
		return state
	}
	return state + " " + instanceID
}

// OwnerKey is the key of a workload: KeyOwner + lower-case kind + "." + name.
func OwnerKey(kind, name string) string { return KeyOwner + strings.ToLower(kind) + "." + name }

// The parameter kind: a resource of vnfguard's own (CRD), so that vnfguard needs get on it only, where a ConfigMap
// parameter would need get on every ConfigMap of the cluster.
const (
	ParamsGroup    = "vnfguard.io"
	ParamsVersion  = "v1alpha1"
	ParamsKind     = "VNFLifecycle"
	ParamsResource = "vnflifecycles"
	// ParamsCRD is the name of the parameter kind's CustomResourceDefinition (CRD).
	ParamsCRD = ParamsResource + "." + ParamsGroup
)

// CRD is the CustomResourceDefinition of the parameter kind, in YAML (the Helm chart ships a copy in its crds/).
//
//go:embed crd.yaml
var CRD []byte

// ParamsGVR is the resource of the lifecycle parameters.
var ParamsGVR = schema.GroupVersionResource{Group: ParamsGroup, Version: ParamsVersion, Resource: ParamsResource}

// ParamsObject is the namespace's lifecycle parameters object with data, labelled as vnfguard's: what
// reconciliation applies, and what the tests and benchmarks that stand in for it create.
func ParamsObject(namespace string, data map[string]string) *unstructured.Unstructured {
	values := make(map[string]any, len(data))
	for k, v := range data {
		values[k] = v
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": ParamsGroup + "/" + ParamsVersion, "kind": ParamsKind,
		"metadata": map[string]any{
			"name": ParamsName, "namespace": namespace,
			"labels": map[string]any{ManagedByLabel: ManagedBy},
		},
		"data": values,
	}}
}
