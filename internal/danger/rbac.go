package danger

import (
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/component-helpers/auth/rbac/validation"
)

// Request is one question to the authorizer, with the fields of a SubjectAccessReview's resourceAttributes.
type Request struct {
	Verb        string
	APIGroup    string
	Resource    string
	Subresource string
	// Name is the object's name; "" asks about any object (and then rules limited by resourceNames do not allow,
	// as in the API server).
	Name string
	// Namespace is where the request is made; "" asks about cluster-wide rights only. RuleAllows ignores it (a
	// rule holds wherever its binding does); callers that walk bindings use it.
	Namespace string
}

// RuleAllows reports whether the rule allows the request, by Kubernetes' own rule comparison: the request becomes
// a single-verb, single-resource rule, and validation.Covers of k8s.io/component-helpers decides whether the
// granted rule covers it — the same matching (`*` verbs, groups and resources, `*/subresource`, resourceNames) as
// the RBAC authorizer's RuleAllows.
func RuleAllows(rule *rbacv1.PolicyRule, r *Request) bool {
	// Cheap filters first; Covers decides. A rule that names neither the verb nor `*` cannot allow.
	if !hasOrStar(rule.Verbs, r.Verb, rbacv1.VerbAll) || len(rule.Resources) == 0 {
		return false
	}
	resource := r.Resource
	if r.Subresource != "" {
		resource += "/" + r.Subresource
	}
	want := rbacv1.PolicyRule{Verbs: []string{r.Verb}, APIGroups: []string{r.APIGroup}, Resources: []string{resource}}
	if r.Name != "" {
		want.ResourceNames = []string{r.Name}
	}
	ok, _ := validation.Covers([]rbacv1.PolicyRule{*rule}, []rbacv1.PolicyRule{want})
	return ok
}

func hasOrStar(set []string, s, star string) bool {
	for _, v := range set {
		if v == s || v == star {
			return true
		}
	}
	return false
}

// GrantKind groups the dangerous requests by what they lead to.
type GrantKind string

// The kinds of dangerous grants, in the order findings list them.
const (
	GrantCreateWorkloads GrantKind = "create-workloads" // instantiate a pod no orchestrator declared
	GrantExec            GrantKind = "exec"             // a shell or tunnel into pods
	GrantEphemeral       GrantKind = "ephemeral"        // a debug container inside a pod
	GrantNodeProxy       GrantKind = "node-proxy"       // the kubelet API: /exec and /run in any pod of a node
	GrantReadSecrets     GrantKind = "read-secrets"     // credentials and the VNFs' data
	GrantEscalation      GrantKind = "escalation"       // escalate, bind, impersonate
	GrantCreateBindings  GrantKind = "create-bindings"  // hand what one holds to any subject
	GrantToken           GrantKind = "token"            // mint a service account's token
	GrantWildcard        GrantKind = "wildcard"         // every present and future verb or resource
)

// DangerousRequest is one request whose grant leads to a takeover.
type DangerousRequest struct {
	Kind                       GrantKind
	Verb, Group, Resource, Sub string
	// Cluster marks cluster-scoped resources (nodes, users, clusterroles...): only ClusterRoleBindings grant them.
	Cluster bool
}

// String renders the request: "get pods/exec", "create deployments (apps)".
func (d DangerousRequest) String() string {
	s := d.Resource
	if d.Sub != "" {
		s += "/" + d.Sub
	}
	if d.Group != "" {
		s += " (" + d.Group + ")"
	}
	return d.Verb + " " + s
}

const rbacGroup = "rbac.authorization.k8s.io"

// DangerousRequests is the one list of dangerous RBAC grants, judged through RuleAllows (so apiGroups,
// subresources, wildcards and resourceNames count as the API server counts them). Exec, attach and port-forward
// count with get as well as create: kubectl ≥ 1.30 opens them with a WebSocket GET, and before Kubernetes 1.35 get
// on pods/exec was enough RBAC to exec.
var DangerousRequests = []DangerousRequest{
	{Kind: GrantCreateWorkloads, Verb: "create", Resource: "pods"},
	{Kind: GrantCreateWorkloads, Verb: "create", Resource: "replicationcontrollers"},
	{Kind: GrantCreateWorkloads, Verb: "create", Group: "apps", Resource: "deployments"},
	{Kind: GrantCreateWorkloads, Verb: "create", Group: "apps", Resource: "statefulsets"},
	{Kind: GrantCreateWorkloads, Verb: "create", Group: "apps", Resource: "daemonsets"},
	{Kind: GrantCreateWorkloads, Verb: "create", Group: "apps", Resource: "replicasets"},
	{Kind: GrantCreateWorkloads, Verb: "create", Group: "batch", Resource: "jobs"},
	{Kind: GrantCreateWorkloads, Verb: "create", Group: "batch", Resource: "cronjobs"},
	{Kind: GrantExec, Verb: "create", Resource: "pods", Sub: "exec"},
	{Kind: GrantExec, Verb: "get", Resource: "pods", Sub: "exec"},
	{Kind: GrantExec, Verb: "create", Resource: "pods", Sub: "attach"},
	{Kind: GrantExec, Verb: "get", Resource: "pods", Sub: "attach"},
	{Kind: GrantExec, Verb: "create", Resource: "pods", Sub: "portforward"},
	{Kind: GrantExec, Verb: "get", Resource: "pods", Sub: "portforward"},
	{Kind: GrantEphemeral, Verb: "update", Resource: "pods", Sub: "ephemeralcontainers"},
	{Kind: GrantEphemeral, Verb: "patch", Resource: "pods", Sub: "ephemeralcontainers"},
	{Kind: GrantNodeProxy, Verb: "get", Resource: "nodes", Sub: "proxy", Cluster: true},
	{Kind: GrantNodeProxy, Verb: "create", Resource: "nodes", Sub: "proxy", Cluster: true},
	{Kind: GrantReadSecrets, Verb: "get", Resource: "secrets"},
	{Kind: GrantReadSecrets, Verb: "list", Resource: "secrets"},
	{Kind: GrantReadSecrets, Verb: "watch", Resource: "secrets"},
	{Kind: GrantEscalation, Verb: "escalate", Group: rbacGroup, Resource: "roles"},
	{Kind: GrantEscalation, Verb: "escalate", Group: rbacGroup, Resource: "clusterroles", Cluster: true},
	{Kind: GrantEscalation, Verb: "bind", Group: rbacGroup, Resource: "roles"},
	{Kind: GrantEscalation, Verb: "bind", Group: rbacGroup, Resource: "clusterroles"},
	{Kind: GrantEscalation, Verb: "impersonate", Resource: "users", Cluster: true},
	{Kind: GrantEscalation, Verb: "impersonate", Resource: "groups", Cluster: true},
	{Kind: GrantEscalation, Verb: "impersonate", Group: "authentication.k8s.io", Resource: "uids", Cluster: true},
	{Kind: GrantEscalation, Verb: "impersonate", Resource: "serviceaccounts"},
	{Kind: GrantCreateBindings, Verb: "create", Group: rbacGroup, Resource: "rolebindings"},
	{Kind: GrantCreateBindings, Verb: "update", Group: rbacGroup, Resource: "rolebindings"},
	{Kind: GrantCreateBindings, Verb: "patch", Group: rbacGroup, Resource: "rolebindings"},
	{Kind: GrantCreateBindings, Verb: "create", Group: rbacGroup, Resource: "clusterrolebindings", Cluster: true},
	{Kind: GrantCreateBindings, Verb: "update", Group: rbacGroup, Resource: "clusterrolebindings", Cluster: true},
	{Kind: GrantCreateBindings, Verb: "patch", Group: rbacGroup, Resource: "clusterrolebindings", Cluster: true},
	{Kind: GrantToken, Verb: "create", Resource: "serviceaccounts", Sub: "token"},
}

// Grant is one dangerous thing one rule of a role grants.
type Grant struct {
	Kind GrantKind
	// What names it: a DangerousRequest's String, or for GrantWildcard the wildcards ("verbs *, resources *").
	What string
	// Rule is the index of the granting rule in the role's rules.
	Rule    int
	Cluster bool
	// Names is non-nil when the rule holds only for these resourceNames.
	Names []string
}

// Grants lists the dangerous grants of a role's rules, rule by rule, in DangerousRequests order, each rule's
// wildcards last. A rule limited by resourceNames still grants the verb on the objects it names — except create,
// which the authorizer never matches by name.
func Grants(rules []rbacv1.PolicyRule) []Grant {
	var out []Grant
	for ri := range rules {
		rule := &rules[ri]
		for _, d := range DangerousRequests {
			req := Request{Verb: d.Verb, APIGroup: d.Group, Resource: d.Resource, Subresource: d.Sub}
			if RuleAllows(rule, &req) {
				out = append(out, Grant{Kind: d.Kind, What: d.String(), Rule: ri, Cluster: d.Cluster})
				continue
			}
			if len(rule.ResourceNames) > 0 && d.Verb != "create" {
				req.Name = rule.ResourceNames[0]
				if RuleAllows(rule, &req) {
					out = append(out, Grant{Kind: d.Kind, What: d.String(), Rule: ri, Cluster: d.Cluster, Names: rule.ResourceNames})
				}
			}
		}
		if what, ok := Wildcard(*rule); ok {
			out = append(out, Grant{Kind: GrantWildcard, What: what, Rule: ri})
		}
	}
	return out
}

// DangerousGrants lists, once each and in Grants order, what a role's rules grant that leads to a takeover:
// "create pods", "get pods/exec", "get secrets", "verbs *, resources *".
func DangerousGrants(rules []rbacv1.PolicyRule) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, g := range Grants(rules) {
		if !seen[g.What] {
			seen[g.What] = true
			out = append(out, g.What)
		}
	}
	return out
}

// Wildcard reports the wildcards of a resource rule: a `*` verb, or a `*` or `*/subresource` resource. They grant
// every present and future verb or resource — escalate, bind, impersonate and exec included, and whatever a CRD
// adds later. Not wildcards: `apiGroups: ["*"]` with named verbs and resources, wildcards in nonResourceURLs, and
// `*/*`, which Kubernetes matches against a subresource literally named "*" only.
func Wildcard(r rbacv1.PolicyRule) (string, bool) {
	if len(r.Resources) == 0 {
		return "", false
	}
	var what []string
	for _, v := range r.Verbs {
		if v == rbacv1.VerbAll {
			what = append(what, "verbs *")
			break
		}
	}
	for _, res := range r.Resources {
		if res == rbacv1.ResourceAll || (strings.HasPrefix(res, "*/") && res != "*/*") {
			what = append(what, "resources "+res)
		}
	}
	return strings.Join(what, ", "), len(what) > 0
}

// powerfulRoles hand a namespace (admin, edit: exec, secrets, workloads) or the cluster (cluster-admin) to whoever
// they are bound to.
var powerfulRoles = map[string]string{
	"cluster-admin": "every right in the cluster",
	"admin":         "exec, Secrets, workloads and bindings",
	"edit":          "exec, Secrets and workloads",
}

// harmlessSystemRoles are bootstrap roles that grant only discovery and self-service: binding them to anyone is
// what Kubernetes does itself.
var harmlessSystemRoles = map[string]bool{
	"system:basic-user": true, "system:discovery": true, "system:public-info-viewer": true,
	"system:service-account-issuer-discovery": true, "system:monitoring": true,
}

// harmlessSystemRole reports the bootstrap roles of discovery and self-service (above) and the CSR roles kubelets
// use to obtain and rotate their own certificates.
func harmlessSystemRole(name string) bool {
	return harmlessSystemRoles[name] || strings.HasPrefix(name, "system:certificates.k8s.io:")
}

// powerfulGroups hold many identities at once: a binding to them gives its role to all of them.
var powerfulGroups = map[string]string{
	"system:masters":         "the group that bypasses RBAC (certificates with O=system:masters)",
	"system:nodes":           "every kubelet's credentials",
	"system:serviceaccounts": "every service account of the cluster",
	"system:authenticated":   "every authenticated identity",
	"system:unauthenticated": "anyone who reaches the API server",
}

// componentUsers are the identities Kubernetes' own components authenticate as.
var componentUsers = map[string]bool{
	"system:kube-controller-manager": true, "system:kube-scheduler": true, "system:kube-proxy": true,
	"system:apiserver": true, "system:kube-apiserver": true, "system:volume-scheduler": true,
	"kube-apiserver-kubelet-client": true,
}

// Binding is what PowerfulBinding reads of a RoleBinding or ClusterRoleBinding.
type Binding struct {
	// Namespace is the RoleBinding's namespace, "" for a ClusterRoleBinding.
	Namespace string
	RoleRef   rbacv1.RoleRef
	Subjects  []rbacv1.Subject
}

// BindingHit is one subject a binding hands a lot to, and why.
type BindingHit struct {
	// Subject is as bound, a ServiceAccount's namespace defaulted to the binding's.
	Subject rbacv1.Subject
	Reason  string
}

// String renders the hit: "binds ClusterRole cluster-admin (every right in the cluster) to User mallory".
func (h BindingHit) String() string { return h.Reason }

// PowerfulBinding lists the subjects a binding hands a lot to, or nothing:
//   - it binds cluster-admin, admin or edit, or a system: role (the controllers', the kubelet's, the scheduler's
//     rights) other than discovery and certificate self-service, to a subject that is not one of Kubernetes' own
//     components (their users, system:node:<name>, kube-system's service accounts bound to a system: role);
//   - it binds any role but discovery to a group that holds many identities (system:masters, system:nodes,
//     system:serviceaccounts[:<ns>], system:authenticated, system:unauthenticated) or to system:anonymous.
//
// The bootstrap policy's own ClusterRoleBinding cluster-admin → Group system:masters is powerful by this
// definition too: callers decide whether the writer (detection: the API server) or the subject (posture:
// administrators, reported low) makes it expected.
func PowerfulBinding(b Binding) []BindingHit {
	var out []BindingHit
	role := b.RoleRef.Name
	if harmlessSystemRole(role) {
		return out
	}
	roleDesc := b.RoleRef.Kind + " " + role
	what, powerful := powerfulRoles[role]
	if !powerful && strings.HasPrefix(role, "system:") {
		powerful, what = true, "a Kubernetes component's rights"
	}
	for _, s := range b.Subjects {
		if s.Kind == rbacv1.ServiceAccountKind && s.Namespace == "" {
			s.Namespace = b.Namespace // as the authorizer defaults it
		}
		id := subjectString(s)
		if isComponent(s, role) {
			continue
		}
		if grp, ok := groupReach(s); ok {
			out = append(out, BindingHit{Subject: s, Reason: "binds " + roleDesc + " to " + id + " (" + grp + ")"})
			continue
		}
		if powerful {
			out = append(out, BindingHit{Subject: s, Reason: "binds " + roleDesc + " (" + what + ") to " + id})
		}
	}
	return out
}

// groupReach says whether a subject stands for many identities, and which.
func groupReach(s rbacv1.Subject) (string, bool) {
	switch s.Kind {
	case rbacv1.GroupKind:
		if why, ok := powerfulGroups[s.Name]; ok {
			return why, true
		}
		if strings.HasPrefix(s.Name, "system:serviceaccounts:") {
			return "every service account of namespace " + strings.TrimPrefix(s.Name, "system:serviceaccounts:"), true
		}
	case rbacv1.UserKind:
		if s.Name == "system:anonymous" {
			return "requests without credentials", true
		}
	}
	return "", false
}

// isComponent reports Kubernetes' own component identities, bound as the bootstrap policy binds them (the group of
// every kubelet only to the kubelets' own roles).
func isComponent(s rbacv1.Subject, role string) bool {
	switch s.Kind {
	case rbacv1.UserKind:
		return componentUsers[s.Name] || strings.HasPrefix(s.Name, "system:node:") ||
			strings.HasPrefix(s.Name, "system:serviceaccount:kube-system:") && strings.HasPrefix(role, "system:")
	case rbacv1.ServiceAccountKind:
		return s.Namespace == "kube-system" && strings.HasPrefix(role, "system:")
	case rbacv1.GroupKind:
		// The kubelets' own role, as bootstrap policies before the Node authorizer bound it.
		return s.Name == "system:nodes" && (role == "system:node" || role == "system:node-proxier")
	}
	return false
}

func subjectString(s rbacv1.Subject) string {
	if s.Kind == rbacv1.ServiceAccountKind {
		return "ServiceAccount " + s.Namespace + "/" + s.Name
	}
	return s.Kind + " " + s.Name
}
