package rbac

import (
	"github.com/vnfguard/vnfguard/internal/danger"
	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check rbac-create-token (FGT1609.501, M1018) flags subjects that can mint tokens for service accounts (create on
serviceaccounts/token, the TokenRequest API) in a protected namespace or cluster-wide: they get a fresh token of any
account there — the VNF's own or the VNFM's — with its rights, without reading a Secret or entering a pod. High for
an ordinary subject.

Allowed: the same right in namespaces that are not protected, for ordinary subjects; Kubernetes' own components
(the kubelet mints its pods' tokens).
*/
var checkToken = &check{
	rule: "rbac-create-token", technique: finding.AccessingTerminatedVNF, severity: finding.High,
	what: "mint service account tokens", prep: "in",
	kind: danger.GrantToken,
}
