package exposure

import (
	"slices"
	"strings"

	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check exposure-apiserver-authorization-* (M1018, M1035) flags a kube-apiserver whose authorizer lets requests
through that least privilege would refuse:
  - exposure-apiserver-authorization-always-allow: --authorization-mode contains AlwaysAllow, or is unset (its
    default is AlwaysAllow): every authenticated — and, with anonymous auth, every anonymous — request is allowed.
    Critical.
  - exposure-apiserver-authorization-no-rbac: a mode list without RBAC (and without AlwaysAllow): permissions
    cannot be granted role by role. Medium.
  - exposure-apiserver-authorization-no-node: a mode list without Node: every kubelet may read every secret and
    every pod of the cluster, so one compromised node reads all VNFs. Medium (FGT1609.501).

Fine: --authorization-mode=Node,RBAC (with or without Webhook), or --authorization-config (a structured
configuration this check does not read).
*/
const (
	ruleAPIServerAuthzAlwaysAllow = "exposure-apiserver-authorization-always-allow"
	ruleAPIServerAuthzNoRBAC      = "exposure-apiserver-authorization-no-rbac"
	ruleAPIServerAuthzNoNode      = "exposure-apiserver-authorization-no-node"
)

// alwaysAllow says whether the API server's authorizer allows every request: AlwaysAllow in the mode list, or
// no mode list and no --authorization-config (the default mode is AlwaysAllow).
func alwaysAllow(flags Flags) bool {
	modes, _, set := flags.List("authorization-mode")
	if !set {
		_, structured := flags.Get("authorization-config")
		return !structured
	}
	return slices.Contains(modes, "AlwaysAllow")
}

func checkAPIServerAuthorization(s *Source) []finding.Finding {
	if s.Component != APIServer {
		return nil
	}
	modes, lines, set := s.Flags.List("authorization-mode")
	if !set {
		if _, structured := s.Flags.Get("authorization-config"); structured {
			return nil
		}
	}
	ev := map[string]string{"flag": "--authorization-mode", "value": strings.Join(modes, ",")}
	if !set {
		ev["value"] = "(unset: default AlwaysAllow)"
	}
	if len(lines) > 0 && lines[len(lines)-1] > 0 {
		ev["line"] = itoa(lines[len(lines)-1])
	}
	if alwaysAllow(s.Flags) {
		return []finding.Finding{newFinding(s, ruleAPIServerAuthzAlwaysAllow, finding.MaliciousVNFInstantiation, mitNetworkAndAuthz, finding.Critical,
			"kube-apiserver authorizes every request (AlwaysAllow): any identity it authenticates can create a fake VNF or read any VNF's secrets", ev)}
	}
	var out []finding.Finding
	if !slices.Contains(modes, "RBAC") {
		out = append(out, newFinding(s, ruleAPIServerAuthzNoRBAC, finding.MaliciousVNFInstantiation, mitNetworkAndAuthz, finding.Medium,
			"kube-apiserver authorizes without RBAC: permissions cannot be limited role by role", copyMap(ev)))
	}
	if !slices.Contains(modes, "Node") {
		out = append(out, newFinding(s, ruleAPIServerAuthzNoNode, finding.AccessingTerminatedVNF, mitNetworkAndAuthz, finding.Medium,
			"kube-apiserver authorizes without the Node authorizer: a kubelet's credentials read every secret and pod of the cluster, not only its node's", copyMap(ev)))
	}
	return out
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
