package rbac

import (
	"github.com/vnfguard/vnfguard/internal/danger"
	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check rbac-node-proxy (FGT1609.501, M1018) flags subjects that can proxy to nodes (get or create on nodes/proxy):
the API server then forwards them to the kubelet's own API, whose /exec and /run endpoints run commands in any
pod of the node — every VNF's included — without the pods/exec check, admission or the usual audit trail. Nodes
are cluster-scoped, so only ClusterRoleBindings grant it. High for an ordinary subject.

Allowed: RoleBindings (they cannot reach nodes); Kubernetes' own components (the API server's kubelet client).
*/
var checkNodeProxy = &check{
	rule: "rbac-node-proxy", technique: finding.AccessingTerminatedVNF, severity: finding.High,
	what: "run commands in any pod through the kubelet API (nodes/proxy reaches /exec and /run)", prep: "of",
	onCluster: "on every node, the VNFs' included",
	kind:      danger.GrantNodeProxy,
}
