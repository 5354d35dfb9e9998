package exposure

import (
	"strconv"

	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check exposure-kubelet-read-only-port (M1035) flags a kubelet serving its read-only port (readOnlyPort or
--read-only-port not 0; the flag's default without --config is 10255): plain HTTP, no authentication, and /pods
lists every pod on the node with its environment variables and images — a VNF's configuration readable by anyone
who reaches the node. Medium (FGT1609.501).

Fine: readOnlyPort 0 or unset in a KubeletConfiguration (its default there is 0).
*/
const ruleKubeletReadOnlyPort = "exposure-kubelet-read-only-port"

func checkKubeletReadOnlyPort(s *Source) []finding.Finding {
	if s.Component != Kubelet {
		return nil
	}
	var v string
	var set bool
	if kc := s.Kubelet; kc != nil && kc.ReadOnlyPort != 0 {
		v, set = strconv.Itoa(int(kc.ReadOnlyPort)), true
	}
	port := kubeletSettingOf(s, "readOnlyPort", v, set, "0", "read-only-port", "10255")
	if !port.known || port.value == "0" {
		return nil
	}
	msg := "kubelet serves its unauthenticated read-only API on port " + port.value + ": anyone who reaches the node lists its pods and their configuration"
	if port.defaulted {
		msg += " (--read-only-port is unset and defaults to 10255 without --config)"
	}
	return []finding.Finding{newFinding(s, ruleKubeletReadOnlyPort, finding.AccessingTerminatedVNF, mitNetwork, finding.Medium, msg, port.ev)}
}
