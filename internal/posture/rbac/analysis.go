package rbac

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Ref names an RBAC object: a binding or a role.
type Ref struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

func (r Ref) String() string {
	if r.Namespace != "" {
		return r.Kind + " " + r.Namespace + "/" + r.Name
	}
	return r.Kind + " " + r.Name
}

// Grant is one way a subject holds a permission: which binding gives it which role, and the rule of that role that
// allows it.
type Grant struct {
	Subject rbacv1.Subject    `json:"subject"`
	Binding Ref               `json:"binding"`
	Role    Ref               `json:"role"`
	Rule    rbacv1.PolicyRule `json:"rule"`
	// Namespace is where the grant holds: the RoleBinding's namespace, or "" for a ClusterRoleBinding (every
	// namespace and the cluster-scoped resources).
	Namespace string `json:"namespace,omitempty"`
}

// binding is a RoleBinding or ClusterRoleBinding reduced to what the analysis needs.
type binding struct {
	ref       Ref
	namespace string // "" for a ClusterRoleBinding
	roleRef   rbacv1.RoleRef
	subjects  []rbacv1.Subject
	role      *role // nil when the roleRef names no existing role (dangling)
}

// role is a Role or ClusterRole with its effective rules (aggregation resolved).
type role struct {
	ref   Ref
	rules []rbacv1.PolicyRule
	// matches caches the capabilities the rules grant, computed once per role however many bindings use it.
	matches []capMatch
	matched bool
}

// Analysis is the effective RBAC of a cluster. It is read-only once built and safe for concurrent WhoCan calls;
// Findings caches per-role results and must not run concurrently with itself.
type Analysis struct {
	in           Input
	clusterRoles map[string]*role
	roles        map[string]*role // namespace + "/" + name
	crbs         []*binding
	rbs          map[string][]*binding // by namespace
	rbOrder      []string              // namespaces of rbs, sorted
	namespaces   []string              // every namespace seen, sorted
	protectedNS  []string              // the protected ones among them
	// Warnings lists what was ignored in the input, such as an aggregation selector that does not parse.
	Warnings []string
}

// Analyze resolves aggregated ClusterRoles and every binding's role. It never fails: what it cannot use is noted
// in Warnings and grants nothing, as in the API server.
func Analyze(in Input) *Analysis {
	a := &Analysis{
		in:           in,
		clusterRoles: make(map[string]*role, len(in.ClusterRoles)),
		roles:        make(map[string]*role, len(in.Roles)),
		rbs:          map[string][]*binding{},
	}
	nsSeen := map[string]bool{}
	seeNS := func(ns string) {
		if ns != "" && !nsSeen[ns] {
			nsSeen[ns] = true
			a.namespaces = append(a.namespaces, ns)
		}
	}
	for i := range in.Roles {
		r := &in.Roles[i]
		a.roles[r.Namespace+"/"+r.Name] = &role{ref: Ref{Kind: "Role", Namespace: r.Namespace, Name: r.Name}, rules: r.Rules}
		seeNS(r.Namespace)
	}
	a.resolveClusterRoles()
	for i := range in.ClusterRoleBindings {
		b := &in.ClusterRoleBindings[i]
		bd := &binding{ref: Ref{Kind: "ClusterRoleBinding", Name: b.Name}, roleRef: b.RoleRef, subjects: b.Subjects}
		// A ClusterRoleBinding can only name a ClusterRole: the API server refuses any other roleRef.
		if b.RoleRef.Kind == "ClusterRole" {
			bd.role = a.clusterRoles[b.RoleRef.Name]
		}
		a.crbs = append(a.crbs, bd)
	}
	for i := range in.RoleBindings {
		b := &in.RoleBindings[i]
		bd := &binding{ref: Ref{Kind: "RoleBinding", Namespace: b.Namespace, Name: b.Name}, namespace: b.Namespace, roleRef: b.RoleRef, subjects: b.Subjects}
		switch b.RoleRef.Kind {
		case "ClusterRole":
			bd.role = a.clusterRoles[b.RoleRef.Name]
		case "Role":
			bd.role = a.roles[b.Namespace+"/"+b.RoleRef.Name]
		}
		if b.Namespace == "" {
			// An exported RoleBinding without a namespace: the caller should have defaulted it; it cannot grant.
			a.Warnings = append(a.Warnings, fmt.Sprintf("RoleBinding %s has no namespace: ignored", b.Name))
			continue
		}
		a.rbs[b.Namespace] = append(a.rbs[b.Namespace], bd)
		seeNS(b.Namespace)
	}
	for ns := range a.rbs {
		a.rbOrder = append(a.rbOrder, ns)
	}
	sort.Strings(a.rbOrder)
	for i := range in.Pods {
		seeNS(in.Pods[i].Namespace)
	}
	for i := range in.ServiceAccounts {
		seeNS(in.ServiceAccounts[i].Namespace)
	}
	for _, ns := range in.Namespaces {
		seeNS(ns)
	}
	sort.Strings(a.namespaces)
	for _, ns := range a.namespaces {
		if a.protected(ns) {
			a.protectedNS = append(a.protectedNS, ns)
		}
	}
	return a
}

// resolveClusterRoles fills clusterRoles, with each aggregated role's rules the union of its own (filled by the
// aggregation controller on a live cluster, often empty in an export) and those of every ClusterRole its
// clusterRoleSelectors match. Aggregation nests (admin aggregates edit, which aggregates view): the union is
// taken recursively, each role once, and a cycle stops at the role already being resolved, as the controller's
// repeated passes converge to the same fixed point.
func (a *Analysis) resolveClusterRoles() {
	crs := a.in.ClusterRoles
	byName := make(map[string]*rbacv1.ClusterRole, len(crs))
	var aggregated []*rbacv1.ClusterRole
	for i := range crs {
		byName[crs[i].Name] = &crs[i]
		a.clusterRoles[crs[i].Name] = &role{ref: Ref{Kind: "ClusterRole", Name: crs[i].Name}, rules: crs[i].Rules}
		if crs[i].AggregationRule != nil {
			aggregated = append(aggregated, &crs[i])
		}
	}
	if len(aggregated) == 0 {
		return
	}
	// selectors per aggregated role, parsed once.
	selectors := map[string][]labels.Selector{}
	for _, cr := range aggregated {
		for j := range cr.AggregationRule.ClusterRoleSelectors {
			sel, err := metav1.LabelSelectorAsSelector(&cr.AggregationRule.ClusterRoleSelectors[j])
			if err != nil {
				a.Warnings = append(a.Warnings, fmt.Sprintf("ClusterRole %s: aggregation selector %d ignored: %v", cr.Name, j, err))
				continue
			}
			selectors[cr.Name] = append(selectors[cr.Name], sel)
		}
	}
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var resolve func(name string) []rbacv1.PolicyRule
	resolve = func(name string) []rbacv1.PolicyRule {
		r := a.clusterRoles[name]
		sels, isAgg := selectors[name]
		if !isAgg || state[name] != unvisited {
			return r.rules
		}
		state[name] = visiting
		rules := slices.Clone(byName[name].Rules)
		seen := map[string]bool{}
		for _, rule := range rules {
			seen[ruleKey(rule)] = true
		}
		for i := range crs {
			other := &crs[i]
			if other.Name == name || !anyMatches(sels, other.Labels) {
				continue
			}
			for _, rule := range resolve(other.Name) {
				if k := ruleKey(rule); !seen[k] {
					seen[k] = true
					rules = append(rules, rule)
				}
			}
		}
		r.rules = rules
		state[name] = done
		return rules
	}
	for _, cr := range aggregated {
		resolve(cr.Name)
	}
}

func anyMatches(sels []labels.Selector, l map[string]string) bool {
	if len(l) == 0 {
		return false // every aggregation selector the API accepts needs at least one label
	}
	set := labels.Set(l)
	for _, s := range sels {
		if !s.Empty() && s.Matches(set) {
			return true
		}
	}
	return false
}

// ruleKey identifies a rule for de-duplication, as the aggregation controller compares rules by equality.
func ruleKey(r rbacv1.PolicyRule) string {
	var b strings.Builder
	for _, part := range [][]string{r.Verbs, r.APIGroups, r.Resources, r.ResourceNames, r.NonResourceURLs} {
		for _, s := range part {
			b.WriteString(s)
			b.WriteByte(0)
		}
		b.WriteByte(1)
	}
	return b.String()
}

// Namespaces lists every namespace the input mentions, sorted.
func (a *Analysis) Namespaces() []string { return slices.Clone(a.namespaces) }

// ProtectedNamespaces lists the namespaces that Input.Protected accepts, sorted.
func (a *Analysis) ProtectedNamespaces() []string { return slices.Clone(a.protectedNS) }

func (a *Analysis) protected(ns string) bool {
	return ns != "" && a.in.Protected != nil && a.in.Protected(ns)
}

// inScope says whether namespaced grants in ns are reported for ordinary subjects.
func (a *Analysis) inScope(ns string) bool { return a.in.Protected == nil || a.protected(ns) }

// EffectiveRules returns the rules a role grants, aggregation resolved: ref is a ClusterRole (Kind "ClusterRole",
// Name) or a Role (Kind "Role", Namespace, Name). Nil when there is no such role.
func (a *Analysis) EffectiveRules(ref Ref) []rbacv1.PolicyRule {
	var r *role
	switch ref.Kind {
	case "ClusterRole":
		r = a.clusterRoles[ref.Name]
	case "Role":
		r = a.roles[ref.Namespace+"/"+ref.Name]
	}
	if r == nil {
		return nil
	}
	return slices.Clone(r.rules)
}
