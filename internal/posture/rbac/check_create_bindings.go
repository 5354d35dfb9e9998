package rbac

import (
	"github.com/vnfguard/vnfguard/internal/danger"
	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check rbac-create-bindings (FGT5013, M1018) flags subjects that can create RoleBindings (in a namespace) or
ClusterRoleBindings (cluster-scoped). Update and patch count too: a binding's subjects can be changed, which
binds whoever the writer adds. Without bind or escalate the API server only lets them bind what they already
hold — but any subject they add gets it, a service account of a pod they control included. High for an ordinary
subject.

Allowed: the same rights in namespaces that are not protected, for ordinary subjects.
*/
var checkCreateBindings = &check{
	rule: "rbac-create-bindings", technique: finding.MaliciousVNFInstantiation, severity: finding.High,
	what: "create or change role bindings", prep: "in",
	kind: danger.GrantCreateBindings,
}
