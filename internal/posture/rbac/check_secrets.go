package rbac

import (
	"github.com/vnfguard/vnfguard/internal/danger"
	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check rbac-read-secrets (FGT1609.501, M1018) flags subjects that can read Secrets (get, list or watch) in a
protected namespace or cluster-wide: a VNF's keys, certificates and subscriber credentials — which outlive a
terminated instance — and the service-account tokens that carry other rights. Medium for an ordinary subject; a
rule limited by resourceNames one step lower, with the Secret names.

Allowed: the same rights in namespaces that are not protected, for ordinary subjects.
*/
var checkReadSecrets = &check{
	rule: "rbac-read-secrets", technique: finding.AccessingTerminatedVNF, severity: finding.Medium,
	what: "read Secrets", prep: "of",
	kind: danger.GrantReadSecrets,
}
