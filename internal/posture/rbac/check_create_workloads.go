package rbac

import (
	"github.com/vnfguard/vnfguard/internal/danger"
	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check rbac-create-workloads (FGT5013, M1018) flags subjects that can create pods or the workloads that create
them — Deployments, StatefulSets, DaemonSets, ReplicaSets, ReplicationControllers, Jobs, CronJobs — in a protected
namespace or cluster-wide: they can instantiate a VNF that no orchestrator declared. Medium for an ordinary
subject (the VNFM must hold it; the finding lists who else does).

Allowed: rules limited by resourceNames (the authorizer never matches create by name, so they grant no create);
create rights in namespaces that are not protected, for ordinary subjects.
*/
var checkCreateWorkloads = &check{
	rule: "rbac-create-workloads", technique: finding.MaliciousVNFInstantiation, severity: finding.Medium,
	what: "create pods or workloads", prep: "in",
	kind: danger.GrantCreateWorkloads,
}
