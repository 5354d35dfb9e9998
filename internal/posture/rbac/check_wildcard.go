package rbac

import (
	"github.com/vnfguard/vnfguard/internal/danger"
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
	kind: danger.GrantWildcard,
}
