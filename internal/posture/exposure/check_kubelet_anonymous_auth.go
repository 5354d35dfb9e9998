package exposure

import (
	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check exposure-kubelet-anonymous-auth (M1035) flags a kubelet whose API (port 10250) accepts anonymous requests:
authentication.anonymous.enabled true in the KubeletConfiguration, or --anonymous-auth true — which is the flag's
default when the kubelet runs without --config (the configuration file's default is false). High; critical when
authorization is AlwaysAllow too: then anyone who reaches the node lists its pods and runs commands in any VNF
container (/run, /exec).

Fine: anonymous authentication disabled; a flags file with --config and no --anonymous-auth (the configuration
file decides — load it too).
*/
const ruleKubeletAnonymousAuth = "exposure-kubelet-anonymous-auth"

func checkKubeletAnonymousAuth(s *Source) []finding.Finding {
	if s.Component != Kubelet {
		return nil
	}
	anon := kubeletAnonymous(s)
	if !anon.known || !isTrue(anon.value) {
		return nil
	}
	msg := "kubelet accepts anonymous requests on its API (port 10250)"
	if anon.defaulted {
		msg += ": --anonymous-auth is unset and defaults to true without --config"
	}
	sev := finding.High
	if authz := kubeletAuthzMode(s); authz.known && authz.value == "AlwaysAllow" {
		sev = finding.Critical
		msg += ", and authorizes everything (AlwaysAllow): anyone who reaches the node runs commands in its VNF containers"
	}
	return []finding.Finding{newFinding(s, ruleKubeletAnonymousAuth, finding.MaliciousVNFInstantiation, mitNetwork, sev, msg, anon.ev)}
}
