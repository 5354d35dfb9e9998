package policy

import (
	"encoding/json/jsontext"
	jsonv2 "encoding/json/v2"
	"errors"
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

// CheckOperation returns an error naming op unless it is one of the operations a Request can carry.
func CheckOperation(op string) error {
	switch op {
	case Create, Update, Delete, Connect:
		return nil
	}
	return fmt.Errorf("request.operation %q is not one of CREATE, UPDATE, DELETE, CONNECT", op)
}

// Complete fills in what an admission request leaves to its object: the name of a CREATE whose object has only a
// generateName (or whose client left the name to the body), and for CONNECT the kind of the target, a pod (the
// request's kind is the kind of the connect options). The decoder calls it once the objects are decoded.
func (r *Request) Complete() {
	if r.Name == "" {
		if m, ok := r.Object.(metav1.Object); ok {
			r.Name = m.GetName()
			if r.Name == "" {
				r.Name = m.GetGenerateName()
			}
		}
	}
	if r.Operation == Connect && r.Object != nil {
		// For CONNECT, request.kind is the options kind (PodExecOptions, NodeProxyOptions); the target is the pod
		// or node request.name.
		r.Kind = schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
		if r.IsNodeProxy() {
			r.Kind.Kind = "Node"
		}
	}
}

// IsNodeProxy reports a request on nodes/proxy: the API server proxying it to the node's kubelet API.
func (r *Request) IsNodeProxy() bool {
	return r.Resource.Group == "" && r.Resource.Resource == "nodes" && r.SubResource == "proxy"
}

// DecodeOptions are the encoding/json/v2 options every object a request carries is decoded with, and the
// AdmissionReview around it. They are v2's defaults, named here because each is a decision: the webhook must read
// exactly the object the API server admitted, and the API server reads JSON with sigs.k8s.io/json.
//   - Names match case-sensitively, as Kubernetes' decoder matches them: with encoding/json's case-insensitive
//     matching, a "Spec" or "hostpid" the API server ignored would be judged as the field it is not.
//   - A duplicate name is an error: the API server never sends one (it serialises objects it decoded), and which of
//     two values a decoder keeps is where parser differentials hide.
//   - Invalid UTF-8 is an error: the API server's encoder never emits it (it writes U+FFFD instead).
//   - Unknown names are ignored, as the API server's non-strict decoding ignores them: a newer API server's fields
//     must not make vnfguard refuse every request.
var DecodeOptions = jsonv2.JoinOptions(
	jsonv2.MatchCaseInsensitiveNames(false),
	jsontext.AllowDuplicateNames(false),
	jsontext.AllowInvalidUTF8(false),
	jsonv2.RejectUnknownMembers(false),
)

// DecodeObject decodes raw JSON, one value, into the typed object for kind; nil raw or JSON null gives nil. A kind
// the policy judges, given in an API version it does not decode (batch/v1beta1 CronJob, extensions/v1beta1
// Deployment), is an error wrapping ErrUnsupportedVersion: judged as an empty object it would be allowed.
func DecodeObject(kind schema.GroupVersionKind, raw []byte) (runtime.Object, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	obj, err := newObject(kind)
	if err != nil {
		return nil, err
	}
	if err := jsonv2.Unmarshal(raw, obj, DecodeOptions); err != nil {
		return nil, fmt.Errorf("decode %s: %w", kind.Kind, err)
	}
	return obj, nil
}

// DecodeObjectFrom decodes the next JSON value of dec into the typed object for kind, as DecodeObject does, straight
// from the stream: the admission webhook decodes a review's objects this way, without setting their text apart.
func DecodeObjectFrom(dec *jsontext.Decoder, kind schema.GroupVersionKind) (runtime.Object, error) {
	if dec.PeekKind() == 'n' {
		_, err := dec.ReadToken()
		return nil, err
	}
	obj, err := newObject(kind)
	if err != nil {
		return nil, err
	}
	if err := jsonv2.UnmarshalDecode(dec, obj, DecodeOptions); err != nil {
		return nil, fmt.Errorf("decode %s: %w", kind.Kind, err)
	}
	return obj, nil
}

// ErrUnsupportedVersion is the error for an object of a kind the policy judges in an API version it does not
// decode.
var ErrUnsupportedVersion = errors.New("API version not judged by vnfguard")

// decoded are the kinds the policy decodes into typed objects, each in the one version the API server sends
// (a webhook registered with matchPolicy Equivalent receives every request converted to it).
var decoded = map[schema.GroupVersionKind]func() runtime.Object{
	corev1.SchemeGroupVersion.WithKind("Pod"):                   func() runtime.Object { return &corev1.Pod{} },
	corev1.SchemeGroupVersion.WithKind("PodExecOptions"):        func() runtime.Object { return &corev1.PodExecOptions{} },
	corev1.SchemeGroupVersion.WithKind("PodAttachOptions"):      func() runtime.Object { return &corev1.PodAttachOptions{} },
	corev1.SchemeGroupVersion.WithKind("PodPortForwardOptions"): func() runtime.Object { return &corev1.PodPortForwardOptions{} },
	corev1.SchemeGroupVersion.WithKind("NodeProxyOptions"):      func() runtime.Object { return &corev1.NodeProxyOptions{} },
	corev1.SchemeGroupVersion.WithKind("Namespace"):             func() runtime.Object { return &corev1.Namespace{} },
	corev1.SchemeGroupVersion.WithKind("PersistentVolumeClaim"): func() runtime.Object { return &corev1.PersistentVolumeClaim{} },
	corev1.SchemeGroupVersion.WithKind("PersistentVolume"):      func() runtime.Object { return &corev1.PersistentVolume{} },
	corev1.SchemeGroupVersion.WithKind("ReplicationController"): func() runtime.Object { return &corev1.ReplicationController{} },
	appsv1.SchemeGroupVersion.WithKind("Deployment"):            func() runtime.Object { return &appsv1.Deployment{} },
	appsv1.SchemeGroupVersion.WithKind("StatefulSet"):           func() runtime.Object { return &appsv1.StatefulSet{} },
	appsv1.SchemeGroupVersion.WithKind("DaemonSet"):             func() runtime.Object { return &appsv1.DaemonSet{} },
	appsv1.SchemeGroupVersion.WithKind("ReplicaSet"):            func() runtime.Object { return &appsv1.ReplicaSet{} },
	batchv1.SchemeGroupVersion.WithKind("Job"):                  func() runtime.Object { return &batchv1.Job{} },
	batchv1.SchemeGroupVersion.WithKind("CronJob"):              func() runtime.Object { return &batchv1.CronJob{} },
	autoscalingv1.SchemeGroupVersion.WithKind("Scale"):          func() runtime.Object { return &autoscalingv1.Scale{} },
}

// legacyGroups are the groups that once served the workload kinds and serve them no longer: extensions/v1beta1
// and apps/v1beta1, v1beta2 until Kubernetes 1.16, batch/v1beta1 CronJob until 1.25. Their kinds are the
// ones of apps and batch.
var legacyGroups = map[string]string{"extensions": "apps"}

// removedIn says in which Kubernetes version the API server stopped serving a legacy workload version.
var removedIn = map[string]string{
	"extensions/v1beta1": "1.16", "apps/v1beta1": "1.16", "apps/v1beta2": "1.16",
	"batch/v1beta1": "1.25", "batch/v2alpha1": "1.21",
}

func newObject(kind schema.GroupVersionKind) (runtime.Object, error) {
	if err := CheckVersion(kind); err != nil {
		return nil, err
	}
	if n, ok := decoded[kind]; ok {
		return n(), nil
	}
	return &unstructured.Unstructured{}, nil
}

// CheckVersion returns an error wrapping ErrUnsupportedVersion, naming the version and the one to use, when kind
// is a kind the policy decodes (Pod, Deployment, CronJob, ...) given in another API version or a legacy group;
// nil otherwise. vnfguard decodes each kind in the version a current API server sends and no other: a verdict on
// a manifest in a version no supported API server accepts (the BishopFox badPods CronJobs are batch/v1beta1)
// would be about an object that can never exist, and decoding the old shapes into the new types would misread
// the fields that differ (defaulted selectors, rollbackTo, templateGeneration).
func CheckVersion(kind schema.GroupVersionKind) error {
	if _, ok := decoded[kind]; ok {
		return nil
	}
	group := kind.Group
	if g, ok := legacyGroups[group]; ok {
		group = g
	}
	for known := range decoded {
		if known.Group != group || known.Kind != kind.Kind {
			continue
		}
		removed := ""
		if v, ok := removedIn[kind.GroupVersion().String()]; ok {
			removed = fmt.Sprintf(" (Kubernetes stopped serving %s in %s)", kind.GroupVersion(), v)
		}
		return fmt.Errorf("%s %s: %w: vnfguard judges %s only as %s%s; convert the manifest to %s",
			kind.Kind, kind.GroupVersion(), ErrUnsupportedVersion, kind.Kind, known.GroupVersion(), removed, known.GroupVersion())
	}
	return nil
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
