package exposure

import (
	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check exposure-kubelet-authorization-always-allow (M1018, M1035) flags a kubelet that authorizes every
authenticated request: authorization.mode AlwaysAllow, or --authorization-mode AlwaysAllow — the flag's default
without --config (the configuration file's default is Webhook). Any identity the kubelet authenticates (any client
certificate of the cluster CA, any token when webhook authentication is on) may exec into every VNF container on
the node. High (the anonymous check raises the combination to critical).

Fine: Webhook (the kubelet asks the API server with a SubjectAccessReview).
*/
const ruleKubeletAuthzAlwaysAllow = "exposure-kubelet-authorization-always-allow"

func checkKubeletAuthorization(s *Source) []finding.Finding {
	if s.Component != Kubelet {
		return nil
	}
	mode := kubeletAuthzMode(s)
	if !mode.known || mode.value != "AlwaysAllow" {
		return nil
	}
	msg := "kubelet authorizes every authenticated request (AlwaysAllow): any identity it authenticates runs commands in the node's VNF containers"
	if mode.defaulted {
		msg = "kubelet authorizes every authenticated request: --authorization-mode is unset and defaults to AlwaysAllow without --config"
	}
	return []finding.Finding{newFinding(s, ruleKubeletAuthzAlwaysAllow, finding.MaliciousVNFInstantiation, mitNetworkAndAuthz, finding.High, msg, mode.ev)}
}
