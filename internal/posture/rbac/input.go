package rbac

import (
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Input is what an analysis reads: the RBAC objects, the pods and service accounts (for mounted tokens), and which
// namespaces are protected. Live lists and exported manifests fill it alike (see FromObjects).
type Input struct {
	Roles               []rbacv1.Role
	ClusterRoles        []rbacv1.ClusterRole
	RoleBindings        []rbacv1.RoleBinding
	ClusterRoleBindings []rbacv1.ClusterRoleBinding
	Pods                []corev1.Pod
	ServiceAccounts     []corev1.ServiceAccount
	// Namespaces names namespaces that exist besides those the objects above live in, so that a cluster-wide
	// grant's message can list every protected namespace. Optional.
	Namespaces []string
	// Protected says whether a namespace is one of the VNF namespaces. Nil: every namespace is in scope, and
	// messages do not call any of them protected.
	Protected func(namespace string) bool
}

// FromObjects sorts typed objects (as read by manifest.ReadFiles or listed from a cluster) into an Input; objects
// of other kinds are ignored. The objects are copied.
func FromObjects(objects []runtime.Object, protected func(namespace string) bool) Input {
	in := Input{Protected: protected}
	for _, o := range objects {
		switch v := o.(type) {
		case *rbacv1.Role:
			in.Roles = append(in.Roles, *v)
		case *rbacv1.ClusterRole:
			in.ClusterRoles = append(in.ClusterRoles, *v)
		case *rbacv1.RoleBinding:
			in.RoleBindings = append(in.RoleBindings, *v)
		case *rbacv1.ClusterRoleBinding:
			in.ClusterRoleBindings = append(in.ClusterRoleBindings, *v)
		case *corev1.Pod:
			in.Pods = append(in.Pods, *v)
		case *corev1.ServiceAccount:
			in.ServiceAccounts = append(in.ServiceAccounts, *v)
		case *corev1.Namespace:
			in.Namespaces = append(in.Namespaces, v.Name)
		}
	}
	return in
}
