package posture

import (
	"context"
	"errors"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/vnfguard/vnfguard/internal/manifest"
)

// Inputs are the objects a scan judges, live or exported, and where they came from.
type Inputs struct {
	// Target names what was scanned: "cluster https://…" or "files: a, b".
	Target  string
	Objects []manifest.Object
}

// FromFiles reads exported manifests (files or directories, YAML or JSON, Lists included). Namespaced objects
// without a namespace land in defaultNamespace, as with kubectl apply.
func FromFiles(paths []string, defaultNamespace string) (*Inputs, error) {
	if len(paths) == 0 {
		return nil, errors.New("posture: no manifests given")
	}
	objects, err := manifest.ReadFiles(paths)
	if err != nil {
		return nil, err
	}
	if len(objects) == 0 {
		// A scan of nothing would report a clean cluster.
		return nil, fmt.Errorf("posture: %s: no Kubernetes object in the input: nothing to scan", strings.Join(paths, ", "))
	}
	if defaultNamespace == "" {
		defaultNamespace = manifest.DefaultNamespace
	}
	for _, obj := range objects {
		if m, ok := obj.Object.(metav1.Object); ok && manifest.Namespaced(obj.GVK) && m.GetNamespace() == "" {
			m.SetNamespace(defaultNamespace)
		}
	}
	return &Inputs{Target: "files: " + strings.Join(paths, ", "), Objects: objects}, nil
}

// FromCluster lists, with the client's identity, every kind a scan judges. A kind the identity may not list is an
// error naming it: a scan that silently skipped the RBAC objects would report a clean cluster.
func FromCluster(ctx context.Context, cfg *rest.Config) (*Inputs, error) {
	cs, err := kubernetes.NewForConfig(rest.CopyConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("posture: client for %s: %w", cfg.Host, err)
	}
	in := &Inputs{Target: "cluster " + cfg.Host}
	all := metav1.ListOptions{}
	lists := []struct {
		gvk  schema.GroupVersionKind
		list func() (runtime.Object, error)
	}{
		{corev1.SchemeGroupVersion.WithKind("Namespace"), func() (runtime.Object, error) { return cs.CoreV1().Namespaces().List(ctx, all) }},
		{corev1.SchemeGroupVersion.WithKind("Pod"), func() (runtime.Object, error) { return cs.CoreV1().Pods("").List(ctx, all) }},
		{corev1.SchemeGroupVersion.WithKind("Service"), func() (runtime.Object, error) { return cs.CoreV1().Services("").List(ctx, all) }},
		{corev1.SchemeGroupVersion.WithKind("ServiceAccount"), func() (runtime.Object, error) { return cs.CoreV1().ServiceAccounts("").List(ctx, all) }},
		{appsv1.SchemeGroupVersion.WithKind("Deployment"), func() (runtime.Object, error) { return cs.AppsV1().Deployments("").List(ctx, all) }},
		{appsv1.SchemeGroupVersion.WithKind("StatefulSet"), func() (runtime.Object, error) { return cs.AppsV1().StatefulSets("").List(ctx, all) }},
		{appsv1.SchemeGroupVersion.WithKind("DaemonSet"), func() (runtime.Object, error) { return cs.AppsV1().DaemonSets("").List(ctx, all) }},
		{appsv1.SchemeGroupVersion.WithKind("ReplicaSet"), func() (runtime.Object, error) { return cs.AppsV1().ReplicaSets("").List(ctx, all) }},
		{corev1.SchemeGroupVersion.WithKind("ReplicationController"), func() (runtime.Object, error) {
			return cs.CoreV1().ReplicationControllers("").List(ctx, all)
		}},
		{batchv1.SchemeGroupVersion.WithKind("Job"), func() (runtime.Object, error) { return cs.BatchV1().Jobs("").List(ctx, all) }},
		{batchv1.SchemeGroupVersion.WithKind("CronJob"), func() (runtime.Object, error) { return cs.BatchV1().CronJobs("").List(ctx, all) }},
		{networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy"), func() (runtime.Object, error) {
			return cs.NetworkingV1().NetworkPolicies("").List(ctx, all)
		}},
		{rbacv1.SchemeGroupVersion.WithKind("Role"), func() (runtime.Object, error) { return cs.RbacV1().Roles("").List(ctx, all) }},
		{rbacv1.SchemeGroupVersion.WithKind("ClusterRole"), func() (runtime.Object, error) { return cs.RbacV1().ClusterRoles().List(ctx, all) }},
		{rbacv1.SchemeGroupVersion.WithKind("RoleBinding"), func() (runtime.Object, error) { return cs.RbacV1().RoleBindings("").List(ctx, all) }},
		{rbacv1.SchemeGroupVersion.WithKind("ClusterRoleBinding"), func() (runtime.Object, error) {
			return cs.RbacV1().ClusterRoleBindings().List(ctx, all)
		}},
	}
	for _, l := range lists {
		list, err := l.list()
		if err != nil {
			return nil, fmt.Errorf("posture: list %s in %s: %w", l.gvk.Kind, cfg.Host, err)
		}
		items, err := itemsOf(list)
		if err != nil {
			return nil, fmt.Errorf("posture: %s list: %w", l.gvk.Kind, err)
		}
		for _, obj := range items {
			obj.GetObjectKind().SetGroupVersionKind(l.gvk) // list items come without their kind
			in.Objects = append(in.Objects, manifest.Object{Object: obj, GVK: l.gvk, File: "cluster"})
		}
	}
	return in, nil
}

// itemsOf returns pointers to a typed list's items.
func itemsOf(list runtime.Object) ([]runtime.Object, error) {
	var out []runtime.Object
	switch l := list.(type) {
	case *corev1.NamespaceList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *corev1.PodList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *corev1.ServiceList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *corev1.ServiceAccountList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *appsv1.DeploymentList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *appsv1.StatefulSetList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *appsv1.DaemonSetList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *appsv1.ReplicaSetList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *corev1.ReplicationControllerList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *batchv1.JobList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *batchv1.CronJobList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *networkingv1.NetworkPolicyList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *rbacv1.RoleList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *rbacv1.ClusterRoleList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *rbacv1.RoleBindingList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *rbacv1.ClusterRoleBindingList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	default:
		return nil, fmt.Errorf("unexpected list type %T", list)
	}
	return out, nil
}

// of returns the inputs' objects of one Go type, in input order.
func of[T runtime.Object](in *Inputs) []T {
	var out []T
	for _, o := range in.Objects {
		if t, ok := o.Object.(T); ok {
			out = append(out, t)
		}
	}
	return out
}
