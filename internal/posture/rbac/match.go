package rbac

import (
	"sort"
	"strings"
	"sync"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/vnfguard/vnfguard/internal/danger"
)

// Request is one question to the authorizer, with the fields of a SubjectAccessReview's resourceAttributes; it
// is danger.Request, the one definition detection matches rules with too.
type Request = danger.Request

// allows reports whether the rule allows the request: danger.RuleAllows, Kubernetes' own rule comparison
// (validation.Covers).
func allows(rule *rbacv1.PolicyRule, r *Request) bool { return danger.RuleAllows(rule, r) }

// WhoCan lists the grants that allow verb on resource (optionally "resource.group"; a bare name takes the group
// Kubernetes serves it from, see GroupOf) and subresource, in namespace ("" for cluster-wide grants only). A
// ClusterRoleBinding's grant holds in every namespace. Grants are sorted by subject, then binding.
func (a *Analysis) WhoCan(verb, resource, subresource, namespace string) []Grant {
	res, group := ParseResource(resource)
	if subresource == "" {
		if i := strings.IndexByte(res, '/'); i >= 0 {
			res, subresource = res[:i], res[i+1:]
		}
	}
	return a.WhoCanRequest(Request{Verb: verb, APIGroup: group, Resource: res, Subresource: subresource, Namespace: namespace})
}

// WhoCanRequest lists the grants that allow the request; see WhoCan.
func (a *Analysis) WhoCanRequest(r Request) []Grant {
	var out []Grant
	collect := func(bs []*binding) {
		for _, b := range bs {
			if b.role == nil {
				continue
			}
			for i := range b.role.rules {
				if !allows(&b.role.rules[i], &r) {
					continue
				}
				for _, s := range b.subjects {
					out = append(out, Grant{Subject: normalizeSubject(s, b.namespace), Binding: b.ref, Role: b.role.ref, Rule: b.role.rules[i], Namespace: b.namespace})
				}
				break // one rule per binding is enough to say it grants
			}
		}
	}
	collect(a.crbs)
	if r.Namespace != "" {
		collect(a.rbs[r.Namespace])
	}
	sort.SliceStable(out, func(i, j int) bool {
		si, sj := Identity(out[i].Subject), Identity(out[j].Subject)
		if si != sj {
			return si < sj
		}
		return out[i].Binding.String() < out[j].Binding.String()
	})
	return out
}

// ParseResource splits kubectl's "resource.group" form ("deployments.apps", "pods/exec" stays whole): a name
// without a dot takes the group GroupOf gives it.
func ParseResource(s string) (resource, group string) {
	s = strings.TrimSpace(s)
	head, sub, hasSub := strings.Cut(s, "/")
	if i := strings.IndexByte(head, '.'); i >= 0 {
		resource, group = head[:i], head[i+1:]
	} else {
		resource, group = head, GroupOf(head)
	}
	if hasSub {
		resource += "/" + sub
	}
	return resource, group
}

var (
	groupsOnce sync.Once
	groupOf    map[string]string
)

// GroupOf returns the API group that serves a built-in resource ("deployments" → "apps", "pods" → ""), from the
// kinds client-go knows: the core group when it serves the name, else the first other group in name order
// (the deprecated extensions group last). Unknown resources (custom ones) get "": name them as resource.group.
func GroupOf(resource string) string {
	groupsOnce.Do(func() {
		candidates := map[string][]string{}
		for gvk := range scheme.Scheme.AllKnownTypes() {
			if gvk.Version == "__internal" || strings.HasSuffix(gvk.Kind, "List") {
				continue
			}
			plural, _ := meta.UnsafeGuessKindToResource(gvk)
			candidates[plural.Resource] = append(candidates[plural.Resource], gvk.Group)
		}
		groupOf = make(map[string]string, len(candidates))
		for res, groups := range candidates {
			sort.Slice(groups, func(i, j int) bool { return groupRank(groups[i]) < groupRank(groups[j]) })
			groupOf[res] = groups[0]
		}
	})
	return groupOf[strings.ToLower(resource)]
}

func groupRank(g string) string {
	switch g {
	case "":
		return "0"
	case "extensions":
		return "2"
	}
	return "1" + g
}

// ruleString renders a rule compactly for evidence: "verbs=get,list resources=secrets apiGroups=\"\"".
func ruleString(r rbacv1.PolicyRule) string {
	quote := func(ss []string) string {
		out := make([]string, len(ss))
		for i, s := range ss {
			if s == "" {
				s = `""`
			}
			out[i] = s
		}
		return strings.Join(out, ",")
	}
	parts := []string{"verbs=" + quote(r.Verbs)}
	if len(r.APIGroups) > 0 {
		parts = append(parts, "apiGroups="+quote(r.APIGroups))
	}
	if len(r.Resources) > 0 {
		parts = append(parts, "resources="+quote(r.Resources))
	}
	if len(r.ResourceNames) > 0 {
		parts = append(parts, "resourceNames="+quote(r.ResourceNames))
	}
	if len(r.NonResourceURLs) > 0 {
		parts = append(parts, "nonResourceURLs="+quote(r.NonResourceURLs))
	}
	return strings.Join(parts, " ")
}
