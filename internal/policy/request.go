package policy

import (
	"encoding/json"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	authnv1 "k8s.io/api/authentication/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The operations a Request can carry (admission/v1's).
const (
	Create  = string(admissionv1.Create)
	Update  = string(admissionv1.Update)
	Delete  = string(admissionv1.Delete)
	Connect = string(admissionv1.Connect)
)

// Request is what the policy judges: one admission request with its objects decoded into typed Kubernetes objects.
type Request struct {
	UID         string
	Operation   string
	Kind        schema.GroupVersionKind
	Resource    schema.GroupVersionResource
	SubResource string
	Namespace   string
	Name        string
	User        authnv1.UserInfo
	// Object and OldObject are typed (*corev1.Pod, *appsv1.Deployment, *autoscalingv1.Scale, ...) for the kinds the
	// policy knows, *unstructured.Unstructured for others (VolumeSnapshot), and nil when absent. For CONNECT,
	// Object holds the connect options (PodExecOptions, ...).
	Object    runtime.Object
	OldObject runtime.Object
	DryRun    bool
}

// FromAdmission decodes an admission/v1 request. The error says which object failed to decode and why.
func FromAdmission(ar *admissionv1.AdmissionRequest) (*Request, error) {
	if ar == nil {
		return nil, fmt.Errorf("admission review has no request")
	}
	req := &Request{
		UID:         string(ar.UID),
		Operation:   string(ar.Operation),
		Kind:        schema.GroupVersionKind(ar.Kind),
		Resource:    schema.GroupVersionResource(ar.Resource),
		SubResource: ar.SubResource,
		Namespace:   ar.Namespace,
		Name:        ar.Name,
		User:        ar.UserInfo,
		DryRun:      ar.DryRun != nil && *ar.DryRun,
	}
	switch req.Operation {
	case Create, Update, Delete, Connect:
	default:
		return nil, fmt.Errorf("request.operation %q is not one of CREATE, UPDATE, DELETE, CONNECT", ar.Operation)
	}
	var err error
	if req.Object, err = DecodeObject(req.Kind, ar.Object.Raw); err != nil {
		return nil, fmt.Errorf("request.object (%s %s/%s): %w", req.Kind.Kind, req.Namespace, req.Name, err)
	}
	if req.OldObject, err = DecodeObject(req.Kind, ar.OldObject.Raw); err != nil {
		return nil, fmt.Errorf("request.oldObject (%s %s/%s): %w", req.Kind.Kind, req.Namespace, req.Name, err)
	}
	if req.Name == "" {
		// CREATE requests carry no name when the object has only a generateName (or the client left it to the body).
		if m, ok := req.Object.(metav1.Object); ok {
			req.Name = m.GetName()
			if req.Name == "" {
				req.Name = m.GetGenerateName()
			}
		}
	}
	if req.Operation == Connect && req.Object != nil {
		// For CONNECT, request.kind is the options kind (PodExecOptions); the target is the pod request.name.
		req.Kind = schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
	}
	return req, nil
}

// DecodeObject decodes raw JSON into the typed object for kind; nil raw gives nil.
func DecodeObject(kind schema.GroupVersionKind, raw []byte) (runtime.Object, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	obj := newObject(kind)
	if err := json.Unmarshal(raw, obj); err != nil {
		return nil, fmt.Errorf("decode %s: %w", kind.Kind, err)
	}
	return obj, nil
}

func newObject(kind schema.GroupVersionKind) runtime.Object {
	switch kind.Group + "/" + kind.Kind {
	case "/Pod":
		return &corev1.Pod{}
	case "/PodExecOptions":
		return &corev1.PodExecOptions{}
	case "/PodAttachOptions":
		return &corev1.PodAttachOptions{}
	case "/PodPortForwardOptions":
		return &corev1.PodPortForwardOptions{}
	case "/PersistentVolumeClaim":
		return &corev1.PersistentVolumeClaim{}
	case "/PersistentVolume":
		return &corev1.PersistentVolume{}
	case "apps/Deployment":
		return &appsv1.Deployment{}
	case "apps/StatefulSet":
		return &appsv1.StatefulSet{}
	case "apps/DaemonSet":
		return &appsv1.DaemonSet{}
	case "apps/ReplicaSet":
		return &appsv1.ReplicaSet{}
	case "batch/Job":
		return &batchv1.Job{}
	case "batch/CronJob":
		return &batchv1.CronJob{}
	case "autoscaling/Scale":
		return &autoscalingv1.Scale{}
	}
	return &unstructured.Unstructured{}
}

// ClassNamespace is the namespace whose class (protected or not) the request belongs to: its own, or for a
// PersistentVolume (cluster-scoped) the namespace of the claim it was bound to, as reconciliation judges volumes.
func (r *Request) ClassNamespace() string {
	if r.Namespace != "" {
		return r.Namespace
	}
	for _, obj := range []runtime.Object{r.OldObject, r.Object} {
		if pv, ok := obj.(*corev1.PersistentVolume); ok && pv.Spec.ClaimRef != nil && pv.Spec.ClaimRef.Namespace != "" {
			return pv.Spec.ClaimRef.Namespace
		}
	}
	return ""
}
