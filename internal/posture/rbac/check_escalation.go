package rbac

import (
	"github.com/vnfguard/vnfguard/internal/danger"
	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check rbac-escalation (FGT5013, M1018) flags subjects that can raise their own rights: escalate (write a role
granting more than they hold), bind (bind a role whose rights they lack) and impersonate (act as another user,
group, UID or service account). Escalate on ClusterRoles and impersonation of users, groups and UIDs are
cluster-scoped and need a ClusterRoleBinding; escalate and bind on Roles, bind on ClusterRoles (for
RoleBindings) and impersonation of service accounts hold in a namespace too. High for an ordinary subject.

Allowed: the same rights in namespaces that are not protected, for ordinary subjects; Kubernetes' own
controllers (the ClusterRole aggregation controller escalates by design).
*/
var checkEscalation = &check{
	rule: "rbac-escalation", technique: finding.MaliciousVNFInstantiation, severity: finding.High,
	what: "escalate, bind or impersonate", prep: "in",
	kind: danger.GrantEscalation,
}
