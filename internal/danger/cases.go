package danger

import (
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// CapabilityCase is one row of the shared capability table: a pod spec, the capabilities its VNF product's
// profile allows (nil: the pod belongs to no instance with a profile), and whether it adds a dangerous capability.
type CapabilityCase struct {
	Name      string
	Spec      corev1.PodSpec
	Allow     []string
	Dangerous bool
}

// capPod is a pod whose one container (in list) adds caps, and optionally drops some.
func capPod(list string, add []string, drop ...string) corev1.PodSpec {
	sc := &corev1.SecurityContext{Capabilities: &corev1.Capabilities{}}
	for _, a := range add {
		sc.Capabilities.Add = append(sc.Capabilities.Add, corev1.Capability(a))
	}
	for _, d := range drop {
		sc.Capabilities.Drop = append(sc.Capabilities.Drop, corev1.Capability(d))
	}
	app := corev1.Container{Name: "app", Image: "registry.example/app"}
	spec := corev1.PodSpec{Containers: []corev1.Container{app}}
	c := corev1.Container{Name: "c", Image: "registry.example/app", SecurityContext: sc}
	switch list {
	case "initContainers":
		spec.InitContainers = []corev1.Container{c}
	default:
		spec.Containers = append(spec.Containers, c)
	}
	return spec
}

// CapabilityCases is the table admission (check dangerous-capability), detection (dangerousCapabilities()) and
// posture (posture-dangerous-capability) must all agree on.
var CapabilityCases = []CapabilityCase{
	{Name: "SYS_ADMIN", Spec: capPod("containers", []string{"SYS_ADMIN"}), Dangerous: true},
	{Name: "CAP_SYS_ADMIN prefixed", Spec: capPod("containers", []string{"CAP_SYS_ADMIN"}), Dangerous: true},
	{Name: "sys_admin lower case", Spec: capPod("containers", []string{"sys_admin"}), Dangerous: true},
	{Name: "SYS_ADMIN after drop ALL", Spec: capPod("containers", []string{"SYS_ADMIN"}, "ALL"), Dangerous: true},
	{Name: "SYS_ADMIN even where a profile lists it", Spec: capPod("containers", []string{"SYS_ADMIN"}), Allow: []string{"SYS_ADMIN"}, Dangerous: true},
	{Name: "SYS_PTRACE", Spec: capPod("containers", []string{"SYS_PTRACE"}), Dangerous: true},
	{Name: "SYS_MODULE in an init container", Spec: capPod("initContainers", []string{"SYS_MODULE"}), Dangerous: true},
	{Name: "BPF", Spec: capPod("containers", []string{"BPF"}), Dangerous: true},
	{Name: "PERFMON", Spec: capPod("containers", []string{"PERFMON"}), Dangerous: true},
	{Name: "SYS_RAWIO", Spec: capPod("containers", []string{"SYS_RAWIO"}), Dangerous: true},
	{Name: "DAC_READ_SEARCH", Spec: capPod("containers", []string{"DAC_READ_SEARCH"}), Dangerous: true},
	{Name: "ALL", Spec: capPod("containers", []string{"ALL"}), Dangerous: true},
	{Name: "cap_all", Spec: capPod("containers", []string{"cap_all"}), Dangerous: true},
	{Name: "NET_ADMIN without a profile", Spec: capPod("containers", []string{"NET_ADMIN"}), Dangerous: true},
	{Name: "NET_ADMIN with a profile that allows it", Spec: capPod("containers", []string{"NET_ADMIN"}), Allow: []string{"NET_ADMIN", "IPC_LOCK"}, Dangerous: false},
	{Name: "CAP_NET_ADMIN with a profile that allows NET_ADMIN", Spec: capPod("containers", []string{"CAP_NET_ADMIN"}), Allow: []string{"NET_ADMIN"}, Dangerous: false},
	{Name: "NET_ADMIN with a profile that allows other capabilities", Spec: capPod("containers", []string{"NET_ADMIN"}), Allow: []string{"IPC_LOCK"}, Dangerous: true},
	{Name: "SYS_TIME without a profile", Spec: capPod("containers", []string{"SYS_TIME"}), Dangerous: true},
	{Name: "NET_BIND_SERVICE", Spec: capPod("containers", []string{"NET_BIND_SERVICE"}), Dangerous: false},
	{Name: "IPC_LOCK and SYS_NICE", Spec: capPod("containers", []string{"IPC_LOCK", "SYS_NICE"}), Dangerous: false},
	{Name: "NET_RAW", Spec: capPod("containers", []string{"NET_RAW"}), Dangerous: false},
	{Name: "drop ALL only", Spec: capPod("containers", nil, "ALL"), Dangerous: false},
	{Name: "SYS_ADMIN dropped, not added", Spec: capPod("containers", nil, "SYS_ADMIN"), Dangerous: false},
	{Name: "no capabilities", Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/app"}}}, Dangerous: false},
}

// RootUserCase is one row of the shared root-user table: a pod spec, whether its VNF profile allows running as
// root (allowRunAsRoot), and whether it runs a container as user 0.
type RootUserCase struct {
	Name      string
	Spec      corev1.PodSpec
	AllowRoot bool
	Root      bool
}

func uid(n int64) *int64 { return &n }
func yes() *bool         { b := true; return &b }
func no() *bool          { b := false; return &b }

// rootPod is a pod with pod-level settings psc and one container with settings csc.
func rootPod(psc *corev1.PodSecurityContext, csc *corev1.SecurityContext) corev1.PodSpec {
	return corev1.PodSpec{SecurityContext: psc, Containers: []corev1.Container{{Name: "c", Image: "registry.example/app", SecurityContext: csc}}}
}

// RootUserCases is the table admission (check root-user), detection (runsAsRoot()) and posture (posture-root-user)
// must all agree on.
var RootUserCases = []RootUserCase{
	{Name: "runAsUser 0 on the pod", Spec: rootPod(&corev1.PodSecurityContext{RunAsUser: uid(0)}, nil), Root: true},
	{Name: "runAsUser 0 on the container", Spec: rootPod(nil, &corev1.SecurityContext{RunAsUser: uid(0)}), Root: true},
	{Name: "pod 1000, container 0: the container wins", Spec: rootPod(&corev1.PodSecurityContext{RunAsUser: uid(1000)}, &corev1.SecurityContext{RunAsUser: uid(0)}), Root: true},
	{Name: "pod 0, container 1000: the container wins", Spec: rootPod(&corev1.PodSecurityContext{RunAsUser: uid(0)}, &corev1.SecurityContext{RunAsUser: uid(1000)}), Root: false},
	{Name: "pod 0 and runAsNonRoot false", Spec: rootPod(&corev1.PodSecurityContext{RunAsUser: uid(0), RunAsNonRoot: no()}, nil), Root: true},
	{Name: "runAsUser 0 with runAsNonRoot true never starts", Spec: rootPod(&corev1.PodSecurityContext{RunAsUser: uid(0), RunAsNonRoot: yes()}, nil), Root: false},
	{Name: "pod runAsNonRoot true, container runAsNonRoot false and uid 0", Spec: rootPod(&corev1.PodSecurityContext{RunAsNonRoot: yes()}, &corev1.SecurityContext{RunAsUser: uid(0), RunAsNonRoot: no()}), Root: true},
	{Name: "runAsUser 0 where the profile allows root", Spec: rootPod(&corev1.PodSecurityContext{RunAsUser: uid(0)}, nil), AllowRoot: true, Root: false},
	{Name: "no user set (the image decides)", Spec: rootPod(nil, nil), Root: false},
	{Name: "runAsUser 1000", Spec: rootPod(&corev1.PodSecurityContext{RunAsUser: uid(1000)}, nil), Root: false},
}

// GrantCase is one row of the shared RBAC grant table: a role's rules and whether they grant something dangerous.
type GrantCase struct {
	Name      string
	Rules     []rbacv1.PolicyRule
	Dangerous bool
}

func rule(groups, resources, verbs []string, names ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: groups, Resources: resources, Verbs: verbs, ResourceNames: names}
}

var (
	core = []string{""}
	apps = []string{"apps"}
)

// GrantCases is the table detection (dangerousGrants()) and posture (the rbac-* findings) must agree on.
var GrantCases = []GrantCase{
	{Name: "create pods/exec", Rules: []rbacv1.PolicyRule{rule(core, []string{"pods/exec"}, []string{"create"})}, Dangerous: true},
	{Name: "get pods/exec (WebSocket exec)", Rules: []rbacv1.PolicyRule{rule(core, []string{"pods/exec"}, []string{"get"})}, Dangerous: true},
	{Name: "pods/exec in the apps group grants nothing", Rules: []rbacv1.PolicyRule{rule(apps, []string{"pods/exec"}, []string{"create", "get"})}, Dangerous: false},
	{Name: "*/exec covers pods/exec", Rules: []rbacv1.PolicyRule{rule(core, []string{"*/exec"}, []string{"get"})}, Dangerous: true},
	{Name: "pods/* is no RBAC wildcard", Rules: []rbacv1.PolicyRule{rule(core, []string{"pods/*"}, []string{"get"})}, Dangerous: false},
	{Name: "get and list secrets", Rules: []rbacv1.PolicyRule{rule(core, []string{"secrets"}, []string{"get", "list"})}, Dangerous: true},
	{Name: "get one named secret", Rules: []rbacv1.PolicyRule{rule(core, []string{"secrets"}, []string{"get"}, "upf-tls")}, Dangerous: true},
	{Name: "escalate clusterroles", Rules: []rbacv1.PolicyRule{rule([]string{"rbac.authorization.k8s.io"}, []string{"clusterroles"}, []string{"escalate"})}, Dangerous: true},
	{Name: "bind roles", Rules: []rbacv1.PolicyRule{rule([]string{"rbac.authorization.k8s.io"}, []string{"roles"}, []string{"bind"})}, Dangerous: true},
	{Name: "bind in the core group grants nothing", Rules: []rbacv1.PolicyRule{rule(core, []string{"roles", "clusterroles"}, []string{"bind", "escalate"})}, Dangerous: false},
	{Name: "impersonate users", Rules: []rbacv1.PolicyRule{rule(core, []string{"users"}, []string{"impersonate"})}, Dangerous: true},
	{Name: "create replicasets", Rules: []rbacv1.PolicyRule{rule(apps, []string{"replicasets"}, []string{"create"})}, Dangerous: true},
	{Name: "create deployments in the core group grants nothing", Rules: []rbacv1.PolicyRule{rule(core, []string{"deployments"}, []string{"create"})}, Dangerous: false},
	{Name: "create cronjobs", Rules: []rbacv1.PolicyRule{rule([]string{"batch"}, []string{"cronjobs"}, []string{"create"})}, Dangerous: true},
	{Name: "create pods by name grants no create", Rules: []rbacv1.PolicyRule{rule(core, []string{"pods"}, []string{"create"}, "p")}, Dangerous: false},
	{Name: "get nodes/proxy", Rules: []rbacv1.PolicyRule{rule(core, []string{"nodes/proxy"}, []string{"get"})}, Dangerous: true},
	{Name: "create serviceaccounts/token", Rules: []rbacv1.PolicyRule{rule(core, []string{"serviceaccounts/token"}, []string{"create"})}, Dangerous: true},
	{Name: "patch pods/ephemeralcontainers", Rules: []rbacv1.PolicyRule{rule(core, []string{"pods/ephemeralcontainers"}, []string{"patch"})}, Dangerous: true},
	{Name: "create rolebindings", Rules: []rbacv1.PolicyRule{rule([]string{"rbac.authorization.k8s.io"}, []string{"rolebindings"}, []string{"create"})}, Dangerous: true},
	{Name: "wildcard verbs and resources", Rules: []rbacv1.PolicyRule{rule([]string{"*"}, []string{"*"}, []string{"*"})}, Dangerous: true},
	{Name: "wildcard verbs on configmaps", Rules: []rbacv1.PolicyRule{rule(core, []string{"configmaps"}, []string{"*"})}, Dangerous: true},
	{Name: "any group, read pods and configmaps", Rules: []rbacv1.PolicyRule{rule([]string{"*"}, []string{"pods", "configmaps"}, []string{"get", "list", "watch"})}, Dangerous: false},
	{Name: "read pods, services and logs", Rules: []rbacv1.PolicyRule{rule(core, []string{"pods", "pods/log", "services"}, []string{"get", "list", "watch"})}, Dangerous: false},
	{Name: "create configmaps", Rules: []rbacv1.PolicyRule{rule(core, []string{"configmaps"}, []string{"create", "update", "patch"})}, Dangerous: false},
	{Name: "non-resource URLs only", Rules: []rbacv1.PolicyRule{{NonResourceURLs: []string{"*"}, Verbs: []string{"get"}}}, Dangerous: false},
	{Name: "no rules", Rules: nil, Dangerous: false},
}

// BindingCase is one row of the shared binding table.
type BindingCase struct {
	Name     string
	Binding  Binding
	Powerful bool
}

func clusterRole(name string) rbacv1.RoleRef {
	return rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: name}
}
func user(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: "rbac.authorization.k8s.io", Name: name}
}
func group(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: "rbac.authorization.k8s.io", Name: name}
}
func sa(ns, name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}
}

// BindingCases is the table detection (powerfulBinding()) and posture (rbac-powerful-binding) must agree on. A
// Namespace of "" is a ClusterRoleBinding.
var BindingCases = []BindingCase{
	{Name: "cluster-admin to a user", Binding: Binding{RoleRef: clusterRole("cluster-admin"), Subjects: []rbacv1.Subject{user("mallory")}}, Powerful: true},
	{Name: "admin to a service account in a namespace", Binding: Binding{Namespace: "5gc", RoleRef: clusterRole("admin"), Subjects: []rbacv1.Subject{sa("", "app")}}, Powerful: true},
	{Name: "edit to a group", Binding: Binding{RoleRef: clusterRole("edit"), Subjects: []rbacv1.Subject{group("devs")}}, Powerful: true},
	{Name: "system:masters bound to view", Binding: Binding{RoleRef: clusterRole("view"), Subjects: []rbacv1.Subject{group("system:masters")}}, Powerful: true},
	{Name: "a custom role to system:serviceaccounts", Binding: Binding{RoleRef: clusterRole("pod-reader"), Subjects: []rbacv1.Subject{group("system:serviceaccounts")}}, Powerful: true},
	{Name: "a role to every account of a namespace", Binding: Binding{Namespace: "5gc", RoleRef: clusterRole("pod-reader"), Subjects: []rbacv1.Subject{group("system:serviceaccounts:5gc")}}, Powerful: true},
	{Name: "view to system:authenticated", Binding: Binding{RoleRef: clusterRole("view"), Subjects: []rbacv1.Subject{group("system:authenticated")}}, Powerful: true},
	{Name: "a role to system:anonymous", Binding: Binding{RoleRef: clusterRole("pod-reader"), Subjects: []rbacv1.Subject{user("system:anonymous")}}, Powerful: true},
	{Name: "a role to system:nodes", Binding: Binding{RoleRef: clusterRole("secret-reader"), Subjects: []rbacv1.Subject{group("system:nodes")}}, Powerful: true},
	{Name: "system:node to a user", Binding: Binding{RoleRef: clusterRole("system:node"), Subjects: []rbacv1.Subject{user("mallory")}}, Powerful: true},
	{Name: "system:controller:job-controller to a default service account", Binding: Binding{RoleRef: clusterRole("system:controller:job-controller"), Subjects: []rbacv1.Subject{sa("default", "default")}}, Powerful: true},
	{Name: "bootstrap: system:kube-scheduler to its user", Binding: Binding{RoleRef: clusterRole("system:kube-scheduler"), Subjects: []rbacv1.Subject{user("system:kube-scheduler")}}, Powerful: false},
	{Name: "bootstrap: a controller role to its kube-system account", Binding: Binding{RoleRef: clusterRole("system:controller:replicaset-controller"), Subjects: []rbacv1.Subject{sa("kube-system", "replicaset-controller")}}, Powerful: false},
	{Name: "bootstrap: discovery to system:authenticated", Binding: Binding{RoleRef: clusterRole("system:discovery"), Subjects: []rbacv1.Subject{group("system:authenticated")}}, Powerful: false},
	{Name: "bootstrap: public info to system:unauthenticated", Binding: Binding{RoleRef: clusterRole("system:public-info-viewer"), Subjects: []rbacv1.Subject{group("system:authenticated"), group("system:unauthenticated")}}, Powerful: false},
	{Name: "old bootstrap: system:node to system:nodes", Binding: Binding{RoleRef: clusterRole("system:node"), Subjects: []rbacv1.Subject{group("system:nodes")}}, Powerful: false},
	{Name: "cluster-admin to system:nodes", Binding: Binding{RoleRef: clusterRole("cluster-admin"), Subjects: []rbacv1.Subject{group("system:nodes")}}, Powerful: true},
	{Name: "kubeadm: CSR self-service to system:nodes", Binding: Binding{RoleRef: clusterRole("system:certificates.k8s.io:certificatesigningrequests:selfnodeclient"), Subjects: []rbacv1.Subject{group("system:nodes")}}, Powerful: false},
	{Name: "view to a user", Binding: Binding{RoleRef: clusterRole("view"), Subjects: []rbacv1.Subject{user("alice")}}, Powerful: false},
	{Name: "a Role to a service account", Binding: Binding{Namespace: "5gc", RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "upf-config"}, Subjects: []rbacv1.Subject{sa("5gc", "upf")}}, Powerful: false},
	{Name: "cluster-admin with no subjects", Binding: Binding{RoleRef: clusterRole("cluster-admin")}, Powerful: false},
}
