package manifest

import (
	"context"
	"fmt"
	"maps"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

// DefaultNamespace is where a namespaced object without a namespace lands, as with kubectl.
const DefaultNamespace = "default"

// clusterScoped are the built-in and common kinds that live outside namespaces. Without an API server there is
// no discovery to ask, and an object's own namespace field cannot say it (it is empty either way).
var clusterScoped = map[string]bool{
	"Namespace": true, "Node": true, "PersistentVolume": true, "ComponentStatus": true,
	"ClusterRole": true, "ClusterRoleBinding": true,
	"StorageClass": true, "CSIDriver": true, "CSINode": true, "VolumeAttachment": true,
	"CustomResourceDefinition": true, "APIService": true,
	"ValidatingWebhookConfiguration": true, "MutatingWebhookConfiguration": true,
	"ValidatingAdmissionPolicy": true, "ValidatingAdmissionPolicyBinding": true,
	"MutatingAdmissionPolicy": true, "MutatingAdmissionPolicyBinding": true,
	"PriorityClass": true, "RuntimeClass": true, "IngressClass": true, "CertificateSigningRequest": true,
	"FlowSchema": true, "PriorityLevelConfiguration": true, "DeviceClass": true, "ResourceSlice": true,
	"VolumeSnapshotClass": true, "VolumeSnapshotContent": true, "ClusterIssuer": true,
	"StorageVersionMigration": true, "IPAddress": true, "ServiceCIDR": true,
}

// Namespaced reports whether objects of the kind live in a namespace: every kind but the known cluster-scoped ones.
func Namespaced(gvk schema.GroupVersionKind) bool { return !clusterScoped[gvk.Kind] }

// Cluster is an in-memory view of the objects read from manifests. It implements vnf.Objects (owner lookups) and
// the Namespaces interface of package policy (namespace labels). It is read-only after NewCluster and safe for
// concurrent use.
type Cluster struct {
	defaultNamespace string
	objects          map[objectKey]metav1.Object
	namespaces       map[string]map[string]string
}

type objectKey struct{ kind, namespace, name string }

var _ vnf.Objects = (*Cluster)(nil)

// NewCluster indexes the objects by kind, namespace and name. A namespaced object without a namespace is placed
// in defaultNamespace (kubectl's -n; "" means DefaultNamespace). A later object with the same kind, namespace and
// name replaces an earlier one, as a later `kubectl apply` would.
func NewCluster(objects []Object, defaultNamespace string) *Cluster {
	if defaultNamespace == "" {
		defaultNamespace = DefaultNamespace
	}
	c := &Cluster{
		defaultNamespace: defaultNamespace,
		objects:          make(map[objectKey]metav1.Object, len(objects)),
		namespaces:       map[string]map[string]string{},
	}
	for _, o := range objects {
		m, ok := o.Object.(metav1.Object)
		if !ok {
			continue
		}
		c.objects[objectKey{o.GVK.Kind, c.NamespaceOf(o), m.GetName()}] = m
		if o.GVK.Group == "" && o.GVK.Kind == "Namespace" {
			labels := maps.Clone(m.GetLabels())
			if labels == nil {
				labels = map[string]string{}
			}
			c.namespaces[m.GetName()] = labels
		}
	}
	return c
}

// NamespaceOf is the namespace the object is in: its own, the cluster's default namespace for a namespaced object
// that names none, and "" for a cluster-scoped one.
func (c *Cluster) NamespaceOf(o Object) string {
	if !Namespaced(o.GVK) {
		return ""
	}
	if ns := o.Meta().GetNamespace(); ns != "" {
		return ns
	}
	return c.defaultNamespace
}

// Get returns the object of the given kind (Pod, ReplicaSet, Deployment, ...), or an error wrapping
// vnf.ErrNotFound. The namespace is ignored for cluster-scoped kinds. The object is the one decoded from the
// manifest (*corev1.Pod, ...); callers must not modify it.
func (c *Cluster) Get(_ context.Context, kind, namespace, name string) (metav1.Object, error) {
	if clusterScoped[kind] {
		namespace = ""
	}
	if obj, ok := c.objects[objectKey{kind, namespace, name}]; ok {
		return obj, nil
	}
	where := name
	if namespace != "" {
		where = namespace + "/" + name
	}
	return nil, fmt.Errorf("%s %s is not in the manifests: %w", kind, where, vnf.ErrNotFound)
}

// Labels returns the labels of the Namespace object of that name (a copy), or an error wrapping vnf.ErrNotFound
// when the manifests hold no such Namespace.
func (c *Cluster) Labels(_ context.Context, name string) (map[string]string, error) {
	labels, ok := c.namespaces[name]
	if !ok {
		return nil, fmt.Errorf("namespace %s is not in the manifests: %w", name, vnf.ErrNotFound)
	}
	return maps.Clone(labels), nil
}
