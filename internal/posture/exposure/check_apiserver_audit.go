package exposure

import (
	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check exposure-apiserver-no-audit (M1035; detection DS0015) flags a kube-apiserver with neither an audit log
(--audit-log-path) nor an audit webhook (--audit-webhook-config-file): nothing records who created, changed or
exec'd into a VNF, so vnfguard's audit detection (DS0015, application logs) has nothing to read and an
instantiation outside the VNFM goes unseen. Medium. An audit backend without --audit-policy-file records nothing
either (the default policy is empty) and is reported at the same severity.

Fine: an audit backend and a policy file. "--audit-log-path=-" (stdout) counts as a backend.
*/
const ruleAPIServerNoAudit = "exposure-apiserver-no-audit"

func checkAPIServerAudit(s *Source) []finding.Finding {
	if s.Component != APIServer {
		return nil
	}
	logPath, logSet := s.Flags.Get("audit-log-path")
	webhook, hookSet := s.Flags.Get("audit-webhook-config-file")
	logSet = logSet && logPath.Value != ""
	hookSet = hookSet && webhook.Value != ""
	if !logSet && !hookSet {
		ev := map[string]string{"flag": "--audit-log-path, --audit-webhook-config-file", "value": "(unset: no audit)", "dataSource": finding.DetectionAuditLogs}
		return []finding.Finding{newFinding(s, ruleAPIServerNoAudit, finding.MaliciousVNFInstantiation, mitNetwork, finding.Medium,
			"kube-apiserver writes no audit events (no --audit-log-path, no --audit-webhook-config-file): who created or entered a VNF is not recorded, and audit detection (DS0015) cannot work", ev)}
	}
	if _, policy := s.Flags.Get("audit-policy-file"); !policy {
		ev := map[string]string{"flag": "--audit-policy-file", "value": "(unset: no event is recorded)", "dataSource": finding.DetectionAuditLogs}
		return []finding.Finding{newFinding(s, ruleAPIServerNoAudit, finding.MaliciousVNFInstantiation, mitNetwork, finding.Medium,
			"kube-apiserver has an audit backend but no --audit-policy-file: without a policy no event is recorded, and audit detection (DS0015) cannot work", ev)}
	}
	return nil
}
