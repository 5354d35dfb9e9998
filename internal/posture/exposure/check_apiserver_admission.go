package exposure

import (
	"slices"

	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check exposure-apiserver-admission-* (M1035) flags admission plugins that weaken what may be created:
  - exposure-apiserver-admission-webhook-disabled: ValidatingAdmissionWebhook or MutatingAdmissionWebhook in
    --disable-admission-plugins: no admission webhook runs, vnfguard's own admission included, so a fake VNF is
    admitted. Critical.
  - exposure-apiserver-admission-always-admit: AlwaysAdmit enabled (deprecated; admits everything). High.
  - exposure-apiserver-admission-pod-security: PodSecurity disabled: namespaces' Pod Security levels are not
    enforced, privileged VNF pods are admitted. Medium.
  - exposure-apiserver-admission-node-restriction: NodeRestriction not enabled (it is not on by default): a
    kubelet may modify other nodes and any pod's status, labels of its node included. Medium.

Fine: the default plugins with NodeRestriction added to --enable-admission-plugins.
*/
const (
	ruleAPIServerAdmissionWebhook         = "exposure-apiserver-admission-webhook-disabled"
	ruleAPIServerAdmissionAlwaysAdmit     = "exposure-apiserver-admission-always-admit"
	ruleAPIServerAdmissionPodSecurity     = "exposure-apiserver-admission-pod-security"
	ruleAPIServerAdmissionNodeRestriction = "exposure-apiserver-admission-node-restriction"
)

func checkAPIServerAdmission(s *Source) []finding.Finding {
	if s.Component != APIServer {
		return nil
	}
	enabled, enLines, _ := s.Flags.List("enable-admission-plugins")
	disabled, disLines, _ := s.Flags.List("disable-admission-plugins")
	ev := func(flag, plugin string, lines []int, values []string) map[string]string {
		m := map[string]string{"flag": "--" + flag, "value": plugin}
		if i := slices.Index(values, plugin); i >= 0 && lines[i] > 0 {
			m["line"] = itoa(lines[i])
		}
		return m
	}
	var out []finding.Finding
	for _, p := range []string{"ValidatingAdmissionWebhook", "MutatingAdmissionWebhook"} {
		if slices.Contains(disabled, p) {
			f := newFinding(s, ruleAPIServerAdmissionWebhook, finding.MaliciousVNFInstantiation, mitNetwork, finding.Critical,
				"kube-apiserver disables "+p+": admission webhooks, vnfguard's included, never see a request and a fake VNF is admitted", ev("disable-admission-plugins", p, disLines, disabled))
			// Both webhook plugins may be disabled: one finding each.
			f.ID = finding.Key(ruleAPIServerAdmissionWebhook, finding.ObjectRef{Kind: "Component", Name: s.Component, Subresource: s.File + "#" + p}, "")
			out = append(out, f)
		}
	}
	if slices.Contains(enabled, "AlwaysAdmit") {
		out = append(out, newFinding(s, ruleAPIServerAdmissionAlwaysAdmit, finding.MaliciousVNFInstantiation, mitNetwork, finding.High,
			"kube-apiserver enables the deprecated AlwaysAdmit admission plugin", ev("enable-admission-plugins", "AlwaysAdmit", enLines, enabled)))
	}
	if slices.Contains(disabled, "PodSecurity") {
		out = append(out, newFinding(s, ruleAPIServerAdmissionPodSecurity, finding.MaliciousVNFInstantiation, mitNetwork, finding.Medium,
			"kube-apiserver disables PodSecurity admission: the namespaces' Pod Security levels are not enforced", ev("disable-admission-plugins", "PodSecurity", disLines, disabled)))
	}
	if !slices.Contains(enabled, "NodeRestriction") || slices.Contains(disabled, "NodeRestriction") {
		m := map[string]string{"flag": "--enable-admission-plugins", "value": "(NodeRestriction not enabled; it is off by default)"}
		msg := "kube-apiserver does not enable NodeRestriction: a kubelet's credentials may change other nodes and their pods"
		if slices.Contains(disabled, "NodeRestriction") {
			m = ev("disable-admission-plugins", "NodeRestriction", disLines, disabled)
			msg = "kube-apiserver disables NodeRestriction: a kubelet's credentials may change other nodes and their pods"
		}
		out = append(out, newFinding(s, ruleAPIServerAdmissionNodeRestriction, finding.MaliciousVNFInstantiation, mitNetwork, finding.Medium, msg, m))
	}
	return out
}
