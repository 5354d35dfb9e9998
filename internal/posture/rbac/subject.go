package rbac

import (
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/apiserver/pkg/authentication/user"
)

// Identity names a subject as findings do: "User alice", "Group system:authenticated", "ServiceAccount ns/name".
func Identity(s rbacv1.Subject) string {
	if s.Kind == rbacv1.ServiceAccountKind {
		return s.Kind + " " + s.Namespace + "/" + s.Name
	}
	return s.Kind + " " + s.Name
}

// normalizeSubject defaults a ServiceAccount subject's namespace to the binding's, as the authorizer does, and
// writes a User named system:serviceaccount:ns:name as the ServiceAccount it is.
func normalizeSubject(s rbacv1.Subject, bindingNS string) rbacv1.Subject {
	switch s.Kind {
	case rbacv1.ServiceAccountKind:
		if s.Namespace == "" {
			s.Namespace = bindingNS
		}
		s.APIGroup = ""
	case rbacv1.UserKind:
		if ns, name, err := serviceaccount.SplitUsername(s.Name); err == nil {
			return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}
		}
	}
	return s
}

// class is how exposed a subject is, which sets the severity of what it holds.
type class int

const (
	classOrdinary          class = iota
	classAdmin                   // system:masters, cluster-admin holders: expected, reported low
	classNamespaceAccounts       // every account of one namespace, or a default ServiceAccount
	classEveryone                // system:authenticated, system:serviceaccounts: anyone with any credential
	classAnonymous               // system:anonymous, system:unauthenticated: anyone who can reach the API
	classComponent               // Kubernetes' own components: skipped
)

func (c class) String() string {
	return [...]string{"ordinary", "administrator", "namespace-wide or default service account", "every authenticated identity", "anonymous", "kubernetes component"}[c]
}

// systemUsers are the identities Kubernetes' own components authenticate as (their certificates' common names).
var systemUsers = map[string]bool{
	user.KubeControllerManager: true, user.KubeScheduler: true, user.KubeProxy: true, user.APIServerUser: true,
	"system:volume-scheduler": true, "kube-apiserver-kubelet-client": true, "system:kube-apiserver": true,
}

// classify places a (normalized) subject bound through roleName by b.
func classify(s rbacv1.Subject, b *binding) class {
	switch s.Kind {
	case rbacv1.UserKind:
		switch {
		case s.Name == user.Anonymous:
			return classAnonymous
		case systemUsers[s.Name] || strings.HasPrefix(s.Name, "system:node:"):
			return classComponent
		}
	case rbacv1.GroupKind:
		switch {
		case s.Name == user.AllUnauthenticated:
			return classAnonymous
		case s.Name == user.AllAuthenticated || s.Name == serviceaccount.AllServiceAccountsGroup:
			return classEveryone
		case strings.HasPrefix(s.Name, serviceaccount.ServiceAccountGroupPrefix):
			return classNamespaceAccounts
		case s.Name == user.NodesGroup:
			return classComponent
		case s.Name == user.SystemPrivilegedGroup:
			return classAdmin
		}
	case rbacv1.ServiceAccountKind:
		if s.Namespace == "kube-system" && strings.HasPrefix(b.roleRef.Name, "system:") {
			return classComponent
		}
		if s.Name == "default" {
			return classNamespaceAccounts
		}
		return classOrdinary
	}
	if b.namespace == "" && b.roleRef.Kind == "ClusterRole" && b.roleRef.Name == "cluster-admin" {
		return classAdmin
	}
	return classOrdinary
}
