package rbac

import (
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/vnfguard/vnfguard/internal/finding"
)

// Check rbac-wildcard (FGT5013, M1018) flags rules with a wildcard verb (`*`) or resource (`*`, `*/subresource`):
// they grant every present and future verb or resource — escalate, bind, impersonate and exec included, and
// whatever a CRD adds later. High for an ordinary subject.
//
// Allowed: wildcard API groups with named verbs and resources (`apiGroups: ["*"]` alone), and wildcards only in
// nonResourceURLs; `*/*`, which Kubernetes matches against a subresource literally named "*" only (it does not
// mean "every subresource" and grants nothing real); the same rules in namespaces that are not protected, for
// ordinary subjects.
var checkWildcard = &check{
	rule: "rbac-wildcard", technique: finding.MaliciousVNFInstantiation, severity: finding.High,
	what: "use wildcard rights", prep: "in",
	shape: wildcard,
}

// wildcard reports the wildcards of a resource rule.
func wildcard(r rbacv1.PolicyRule) (string, bool) {
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
