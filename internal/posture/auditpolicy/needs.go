package auditpolicy

import (
	auditinternal "k8s.io/apiserver/pkg/apis/audit"
)

// Requirement is one kind of request a rule must see, and what of it: the audit level (Metadata: who, what,
// where, the URI and the response code; Request: the request body too; RequestResponse: the response body too)
// and the stage at which the event must be written.
type Requirement struct {
	// Verbs are the request verbs (get, list, watch, create, update, patch, delete, deletecollection).
	Verbs []string
	// Group is the API group of Resources ("" for the core group).
	Group string
	// Resources are resource or resource/subresource names (pods, pods/exec).
	Resources []string
	// NonResourceURLs are paths of requests that name no resource (/api, /apis).
	NonResourceURLs []string
	// Namespaces are the namespaces probed for namespaced resources; nil: a VNF namespace (ProbeNamespace). ""
	// stands for a request across all namespaces (a cluster-wide list).
	Namespaces []string
	// Who is whose requests the rule judges: Anyone (a user and a service account), ServiceAccounts, Anonymous,
	// or AnyoneAndControllers.
	Who Who
	// Level is the least audit level the rule can work with.
	Level auditinternal.Level
	// Stage is the stage whose event the rule judges: ResponseComplete, or ResponseStarted for a session
	// reported when it opens.
	Stage auditinternal.Stage
	// Why says what the rule reads at that level and stage.
	Why string
}

// Who names the identities a requirement is probed with: rules exclude the control plane's own, so a policy may
// quiet those; it must not quiet the identities an attacker uses.
type Who int

// The identities requirements are probed with.
const (
	// Anyone is an ordinary user and a service account (a stolen token): both are probed.
	Anyone Who = iota
	// ServiceAccounts is a service account only.
	ServiceAccounts
	// Anonymous is system:anonymous in group system:unauthenticated.
	Anonymous
	// AnyoneAndControllers adds a controller's service account (kube-system) to Anyone: the pods a rule must
	// resolve are mostly created by the ReplicaSet, StatefulSet, DaemonSet and Job controllers.
	AnyoneAndControllers
)

// SelfNamespace is where vnfguard runs by default (config self.namespace): its own objects are probed there.
const SelfNamespace = "vnfguard"

// Need is what one detection rule needs of the audit policy.
type Need struct {
	// Rule is the rule's id in the rule pack.
	Rule string
	// Pending marks an entry for a rule being added to the built-in pack by other work and not in it yet; the
	// test tolerates it, and Judge skips it while no rule of that id is loaded.
	Pending bool
	// NoAudit says why the rule needs no audit event (it reads the node agent's reports); Requirements is empty.
	NoAudit string
	// Requirements are every kind of request the rule must see.
	Requirements []Requirement
}

// ProbeNamespace stands for a VNF namespace when requirements are probed.
const ProbeNamespace = "vnf-probe"

// Shorthands for the table below.
const (
	metadata        = auditinternal.LevelMetadata
	request         = auditinternal.LevelRequest
	requestResponse = auditinternal.LevelRequestResponse
	started         = auditinternal.StageResponseStarted
	complete        = auditinternal.StageResponseComplete
)

var (
	writeVerbs   = []string{"create", "update", "patch"}
	readVerbs    = []string{"get", "list", "watch"}
	sessionVerbs = []string{"get", "create"} // get: WebSocket (kubectl ≥ 1.30); create: SPDY

	// The pod and workload resources whose pod specs the workload rules judge, by group.
	workloadGroups = []struct {
		group     string
		resources []string
	}{
		{"", []string{"pods", "replicationcontrollers"}},
		{"apps", []string{"deployments", "statefulsets", "daemonsets", "replicasets"}},
		{"batch", []string{"jobs", "cronjobs"}},
	}
)

// sessions: exec, attach and port-forward, reported when the session opens.
func sessions(why string) Requirement {
	return Requirement{Verbs: sessionVerbs, Resources: []string{"pods/exec", "pods/attach", "pods/portforward"},
		Level: metadata, Stage: started, Why: why}
}

// debugContainers: kubectl debug adds an ephemeral container with an update (or patch) of the subresource.
func debugContainers(level auditinternal.Level, why string) Requirement {
	return Requirement{Verbs: []string{"update", "patch"}, Resources: []string{"pods/ephemeralcontainers"},
		Level: level, Stage: complete, Why: why}
}

// podSpecs: the pod spec of every pod and workload write, as written (create, update) and as left by a patch.
func podSpecs(why string) []Requirement {
	var out []Requirement
	for _, g := range workloadGroups {
		out = append(out,
			Requirement{Verbs: []string{"create", "update"}, Group: g.group, Resources: g.resources, Level: request, Stage: complete,
				Why: why + " (the request body)"},
			Requirement{Verbs: []string{"patch"}, Group: g.group, Resources: g.resources, Level: requestResponse, Stage: complete,
				Why: why + " (a patch's body is the patch: the spec it leaves is in the response)"})
	}
	return out
}

// workloadWrites: who wrote which pod or workload, where.
func workloadWrites(verbs []string, why string) []Requirement {
	var out []Requirement
	for _, g := range workloadGroups {
		out = append(out, Requirement{Verbs: verbs, Group: g.group, Resources: g.resources, Level: metadata, Stage: complete, Why: why})
	}
	return out
}

// podOwners: what ties an exec to a VNF instance when the cluster no longer shows the pod (offline, or a stopped
// VNF's pods deleted before the audit batch arrives): the engine remembers the name, labels and owners of each
// pod and workload it saw created; a pod made from a generateName has its name only in the response.
func podOwners() []Requirement {
	out := []Requirement{{Verbs: []string{"create"}, Resources: []string{"pods"}, Who: AnyoneAndControllers, Level: requestResponse, Stage: complete,
		Why: "the pod's name, labels and owners, to tie a later exec to its VNF instance (a generateName pod has its name only in the response)"}}
	for _, g := range workloadGroups[1:] {
		out = append(out, Requirement{Verbs: []string{"create"}, Group: g.group, Resources: g.resources, Who: AnyoneAndControllers, Level: request, Stage: complete,
			Why: "the owners' labels, which carry the VNF instance label, to tie a pod to its instance"})
	}
	return out
}

func join(parts ...[]Requirement) []Requirement {
	var out []Requirement
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

const (
	whySession = "who opened which session into which pod, reported when it opens (the URI names pod, container and command)"
	whyDebug   = "who added an ephemeral (debug) container to which pod"
	whyPodSpec = "the pod spec"
	whyRole    = "the rules the Role or ClusterRole grants"
	whyBinding = "the binding's roleRef and subjects"
)

// needsTable states, for every built-in rule, what it needs of the audit policy. It is derived from what each
// rule's condition reads: event fields only → Metadata; requestObject or object() of a create/update → Request;
// responseObject (object() of a patch, a generateName pod's name) → RequestResponse; a session reported when it
// opens → the ResponseStarted stage, else ResponseComplete.
var needsTable = []Need{
	// access-control.yaml
	{Rule: "anonymous-allowed", Requirements: []Requirement{
		{NonResourceURLs: []string{"/api", "/apis", "/openapi/v2"}, Verbs: []string{"get"}, Who: Anonymous, Level: metadata, Stage: complete,
			Why: "anonymous requests and their response code"},
		{Verbs: []string{"get", "list"}, Resources: []string{"pods", "secrets", "namespaces"}, Who: Anonymous, Level: metadata, Stage: complete,
			Why: "anonymous requests and their response code"},
	}},
	{Rule: "rbac-dangerous-grant", Requirements: []Requirement{
		{Verbs: []string{"create", "update"}, Group: "rbac.authorization.k8s.io", Resources: []string{"roles", "clusterroles"}, Level: request, Stage: complete, Why: whyRole},
		{Verbs: []string{"patch"}, Group: "rbac.authorization.k8s.io", Resources: []string{"roles", "clusterroles"}, Level: requestResponse, Stage: complete, Why: whyRole + " after a patch (in the response: a patch's body is the patch)"},
	}},
	{Rule: "rbac-powerful-binding", Requirements: []Requirement{
		{Verbs: []string{"create", "update"}, Group: "rbac.authorization.k8s.io", Resources: []string{"rolebindings", "clusterrolebindings"}, Level: request, Stage: complete, Why: whyBinding},
		{Verbs: []string{"patch"}, Group: "rbac.authorization.k8s.io", Resources: []string{"rolebindings", "clusterrolebindings"}, Level: requestResponse, Stage: complete, Why: whyBinding + " after a patch (in the response: a patch's body is the patch)"},
	}},
	{Rule: "nodes-proxy-exec", Requirements: []Requirement{
		{Verbs: sessionVerbs, Resources: []string{"nodes/proxy"}, Level: metadata, Stage: started,
			Why: "the kubelet endpoint reached through nodes/proxy (the URI), reported when the session opens"},
	}},
	{Rule: "nodes-proxy-access", Requirements: []Requirement{
		{Verbs: []string{"get", "create", "update", "patch", "delete"}, Resources: []string{"nodes/proxy"}, Level: metadata, Stage: complete,
			Why: "who used nodes/proxy, and the kubelet path (the URI)"},
	}},
	{Rule: "exec-sensitive-command", Requirements: []Requirement{
		sessions("the exec command (the URI's command= parameters)"),
		debugContainers(request, "the debug container's command (the request body)"),
	}},
	{Rule: "ssar-by-service-account", Requirements: []Requirement{
		{Verbs: []string{"create"}, Group: "authorization.k8s.io", Resources: []string{"selfsubjectaccessreviews", "selfsubjectrulesreviews"},
			Who: ServiceAccounts, Level: metadata, Stage: complete, Why: "which service account probed its permissions, with which user agent"},
	}},
	{Rule: "exec-host-takeover-pod", Requirements: join(
		[]Requirement{sessions(whySession), debugContainers(metadata, whyDebug),
			{Verbs: []string{"create"}, Resources: []string{"pods"}, Level: requestResponse, Stage: complete,
				Why: "the pod spec of the pod's create, remembered to judge a later exec into it (a generateName pod has its name only in the response)"}},
	)},
	{Rule: "repeated-admission-denials", Requirements: join(
		[]Requirement{{Verbs: sessionVerbs, Resources: []string{"pods/exec", "pods/attach", "pods/portforward"}, Level: metadata, Stage: complete,
			Why: "refusals of sessions by vnfguard's webhooks and their message (the response status)"}},
		workloadWrites(writeVerbs, "refusals by vnfguard's webhooks and their message (the response status)"),
	)},
	{Rule: "serviceaccount-token-from-outside", Requirements: []Requirement{
		{Verbs: []string{"get", "list", "create"}, Resources: []string{"pods", "secrets", "pods/exec"}, Who: ServiceAccounts, Level: metadata, Stage: complete,
			Why: "the source addresses of a service account's requests"},
	}},

	// runtime.yaml: the node agent's reports; two of them are joined with audited execs.
	{Rule: "exec-bypassed-api-server", Requirements: []Requirement{
		{Verbs: sessionVerbs, Resources: []string{"pods/exec", "pods/attach"}, Level: metadata, Stage: started,
			Why: "the audited exec that accounts for a process the node saw start; it must arrive while the session is open"},
	}},
	{Rule: "exec-bypassed-api-server-dormant-vnf", Requirements: []Requirement{
		{Verbs: sessionVerbs, Resources: []string{"pods/exec", "pods/attach"}, Level: metadata, Stage: started,
			Why: "the audited exec that accounts for a process the node saw start; it must arrive while the session is open"},
	}},
	{Rule: "rogue-container", NoAudit: "reads the node agent's container list"},
	{Rule: "zombie-container", NoAudit: "reads the node agent's container list and the inventory"},
	{Rule: "undeclared-image-digest", NoAudit: "reads the node agent's container list and the VNF packages"},
	{Rule: "kubelet-exposed", NoAudit: "reads the node agent's kubelet probe"},

	// self-protection.yaml
	{Rule: "namespace-protection-removed", Requirements: []Requirement{
		{Verbs: []string{"update", "patch"}, Resources: []string{"namespaces"}, Level: requestResponse, Stage: complete,
			Why: "the labels the namespace is left with (the response; a patch's body is the patch)"},
		{Verbs: []string{"create"}, Resources: []string{"namespaces"}, Level: request, Stage: complete,
			Why: "the labels a namespace was created with, to know it was protected before a later change"},
		{Verbs: []string{"delete"}, Resources: []string{"namespaces"}, Level: metadata, Stage: complete, Why: "who deleted which namespace"},
	}},
	{Rule: "vnfguard-object-changed", Requirements: []Requirement{
		{Verbs: []string{"create", "update", "patch", "delete", "deletecollection"}, Group: "admissionregistration.k8s.io",
			Resources: []string{"validatingwebhookconfigurations"}, Level: metadata, Stage: complete, Why: "who changed vnfguard's webhook registration"},
		{Verbs: []string{"create", "update", "patch", "delete", "deletecollection"}, Group: "admissionregistration.k8s.io",
			Resources: []string{"validatingadmissionpolicies", "validatingadmissionpolicybindings"}, Level: metadata, Stage: complete,
			Why: "who changed vnfguard's ValidatingAdmissionPolicies or their bindings (admission.mode policies or both)"},
		{Verbs: []string{"update", "patch", "delete"}, Group: "apiextensions.k8s.io", Resources: []string{"customresourcedefinitions"}, Level: metadata, Stage: complete,
			Why: "who changed or deleted the CRD of the VNF lifecycle parameters (deleting it deletes them all)"},
		{Verbs: []string{"create", "update", "patch", "delete"}, Group: "vnfguard.io", Resources: []string{"vnflifecycles"}, Level: metadata, Stage: complete,
			Why: "who changed or deleted a namespace's VNF lifecycle parameters, or tried to"},
		{Verbs: []string{"update", "patch", "delete"}, Resources: []string{"namespaces"}, Level: metadata, Stage: complete, Why: "who changed vnfguard's namespace"},
		{Verbs: []string{"create", "update", "patch", "delete"}, Resources: []string{"serviceaccounts"}, Namespaces: []string{SelfNamespace}, Level: metadata, Stage: complete,
			Why: "who changed vnfguard's service account"},
		{Verbs: []string{"create", "update", "patch", "delete"}, Group: "rbac.authorization.k8s.io",
			Resources: []string{"roles", "clusterroles", "rolebindings", "clusterrolebindings"}, Level: metadata, Stage: complete, Why: "who changed vnfguard's RBAC"},
		{Verbs: []string{"update", "patch", "delete"}, Group: "apps", Resources: []string{"deployments", "deployments/scale"}, Namespaces: []string{SelfNamespace}, Level: metadata, Stage: complete,
			Why: "who changed vnfguard's workload"},
	}},

	// vnf-access.yaml
	{Rule: "exec-dormant-vnf", Requirements: join([]Requirement{sessions(whySession), debugContainers(metadata, whyDebug)}, podOwners())},
	{Rule: "exec-running-vnf", Requirements: join([]Requirement{sessions(whySession), debugContainers(metadata, whyDebug)}, podOwners())},
	{Rule: "break-glass-exec", Requirements: join([]Requirement{sessions(whySession), debugContainers(metadata, whyDebug)}, podOwners())},
	{Rule: "exec-protected-namespace", Requirements: join([]Requirement{sessions(whySession), debugContainers(metadata, whyDebug)}, podOwners())},
	{Rule: "read-dormant-vnf-data", Requirements: join([]Requirement{
		{Verbs: readVerbs, Resources: []string{"secrets", "configmaps", "persistentvolumeclaims"}, Namespaces: []string{ProbeNamespace}, Level: metadata, Stage: complete,
			Why: "who read which Secret, ConfigMap or claim of a VNF"},
		{Verbs: []string{"get"}, Resources: []string{"pods/log"}, Level: metadata, Stage: complete, Why: "who read which pod's logs"},
	}, podOwners()[1:])},
	{Rule: "kubelet-read-dormant-vnf-logs", Requirements: join([]Requirement{
		{Verbs: []string{"get"}, Resources: []string{"nodes/proxy"}, Level: metadata, Stage: complete,
			Why: "who read which pod's logs through the kubelet's API (the URI names the pod)"},
	}, podOwners())},

	// workloads.yaml
	{Rule: "protected-workload-change", Requirements: workloadWrites(writeVerbs, "who wrote which pod or workload in which namespace")},
	{Rule: "host-takeover-pod", Requirements: podSpecs(whyPodSpec + ": host namespaces, privileged containers, host mounts")},
	{Rule: "host-network-pod", Requirements: podSpecs(whyPodSpec + ": hostNetwork")},
	{Rule: "reverse-shell-pod", Requirements: podSpecs(whyPodSpec + ": commands, arguments, environment, hooks and probes")},
	{Rule: "persistence-workload-protected", Requirements: []Requirement{
		{Verbs: []string{"create"}, Group: "apps", Resources: []string{"daemonsets"}, Level: metadata, Stage: complete, Why: "who created which DaemonSet where"},
		{Verbs: []string{"create"}, Group: "batch", Resources: []string{"cronjobs"}, Level: metadata, Stage: complete, Why: "who created which CronJob where"},
	}},

	// Rules other work is adding to the pack (issue 13); Pending until they are in it.
	{Rule: "exec-any-pod", Requirements: []Requirement{sessions(whySession), debugContainers(metadata, whyDebug)}},
	{Rule: "secret-dumping", Requirements: []Requirement{
		{Verbs: []string{"list", "watch"}, Resources: []string{"secrets"}, Namespaces: []string{"", ProbeNamespace, "kube-system"}, Level: metadata, Stage: complete,
			Why: "who listed Secrets in which namespace, or across all"},
	}},
	{Rule: "secret-read-across-namespaces", Requirements: []Requirement{
		{Verbs: []string{"get", "list", "watch"}, Resources: []string{"secrets"}, Namespaces: []string{"", ProbeNamespace, "kube-system"}, Level: metadata, Stage: complete,
			Why: "which identity read Secrets of which namespaces"},
	}},
	{Rule: "serviceaccount-token-request", Requirements: []Requirement{
		{Verbs: []string{"create"}, Resources: []string{"serviceaccounts/token"}, Namespaces: []string{ProbeNamespace, "kube-system"}, Level: metadata, Stage: complete,
			Why: "who asked for which service account's token (the response holds the token: never log it)"},
	}},
	{Rule: "system-namespace-workload", Requirements: func() []Requirement {
		rs := workloadWrites([]string{"create", "update", "patch"}, "who wrote which pod or workload in kube-system or kube-public")
		for i := range rs {
			rs[i].Namespaces = []string{"kube-system", "kube-public"}
		}
		return rs
	}()},
	{Rule: "dangerous-capability-pod", Requirements: podSpecs(whyPodSpec + ": added capabilities")},
	{Rule: "root-user-pod", Requirements: podSpecs(whyPodSpec + ": runAsUser and runAsNonRoot")},
}

// Needs returns the needs table: one entry per built-in rule (and per rule being added, marked Pending).
func Needs() []Need {
	out := make([]Need, len(needsTable))
	copy(out, needsTable)
	return out
}

// NeedOf returns the entry of a rule.
func NeedOf(rule string) (Need, bool) {
	for _, n := range needsTable {
		if n.Rule == rule {
			return n, true
		}
	}
	return Need{}, false
}
