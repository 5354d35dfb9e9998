package rbac

import (
	"github.com/vnfguard/vnfguard/internal/danger"
	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check rbac-ephemeral-containers (FGT1609.501, M1018) flags subjects that can add ephemeral containers to pods
(update or patch on pods/ephemeralcontainers, what `kubectl debug` does) in a protected namespace or
cluster-wide: a container of their choosing then runs inside the VNF's pod, sharing its namespaces. High for an
ordinary subject.

Allowed: the same rights in namespaces that are not protected, for ordinary subjects.
*/
var checkEphemeralContainers = &check{
	rule: "rbac-ephemeral-containers", technique: finding.AccessingTerminatedVNF, severity: finding.High,
	what: "add ephemeral (debug) containers to pods", prep: "of",
	kind: danger.GrantEphemeral,
}
