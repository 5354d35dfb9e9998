package exposure

import (
	"sort"
	"strconv"
	"time"

	"github.com/vnfguard/vnfguard/internal/finding"
)

// FindingSource is the Source of every finding this package produces.
const FindingSource = "posture"

// check judges one Source; it returns nothing for components it does not judge.
type check func(s *Source) []finding.Finding

// checks are run in this order; each lives in its own check_*.go file.
var checks = []check{
	checkAPIServerAnonymousAuth,
	checkAPIServerInsecurePort,
	checkAPIServerAuthorization,
	checkAPIServerAudit,
	checkAPIServerAdmission,
	checkAPIServerTLSMinVersion,
	checkAPIServerProfiling,
	checkAPIServerKubeletCA,
	checkKubeletAnonymousAuth,
	checkKubeletAuthorization,
	checkKubeletReadOnlyPort,
	checkKubeletServingTLS,
	checkEtcdClientCertAuth,
	checkEtcdPlainHTTP,
	checkEtcdTrustedCA,
	checkEtcdPeerCertAuth,
	checkDockerTCP,
}

// Check runs every static check over cfg and returns the findings, most severe first, stamped with now.
func Check(cfg *Config, now time.Time) []finding.Finding {
	if cfg == nil {
		return nil
	}
	var out []finding.Finding
	for _, s := range cfg.Sources {
		for _, c := range checks {
			out = append(out, c(s)...)
		}
	}
	for i := range out {
		out[i].Time = now
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Severity > out[j].Severity })
	return out
}

// newFinding builds a finding about a component configured in s. The ID includes the file, so that the same rule
// on two files (two control-plane nodes) gives two findings.
func newFinding(s *Source, rule, technique string, mitigations []string, sev finding.Severity, msg string, ev map[string]string) finding.Finding {
	obj := finding.ObjectRef{Kind: "Component", Name: s.Component}
	if ev == nil {
		ev = map[string]string{}
	}
	ev["file"] = s.File
	ev["format"] = s.Format
	return finding.Finding{
		ID:          finding.Key(rule, finding.ObjectRef{Kind: obj.Kind, Name: obj.Name, Subresource: s.File}, ""),
		Source:      FindingSource,
		Rule:        rule,
		Technique:   technique,
		Mitigations: mitigations,
		Severity:    sev,
		Message:     msg + " (" + s.File + lineSuffix(ev) + ")",
		Object:      obj,
		Evidence:    ev,
	}
}

func lineSuffix(ev map[string]string) string {
	if l := ev["line"]; l != "" {
		return ":" + l
	}
	return ""
}

// flagEvidence is the evidence of one flag: its name, its value (or that it is unset) and its line.
func flagEvidence(name string, f Flag, set bool, unsetMeans string) map[string]string {
	ev := map[string]string{"flag": "--" + name}
	switch {
	case !set:
		ev["value"] = "(unset: default " + unsetMeans + ")"
	case !f.HasValue:
		ev["value"] = "true"
	default:
		ev["value"] = f.Value
	}
	if set && f.Line > 0 {
		ev["line"] = strconv.Itoa(f.Line)
	}
	return ev
}

// fieldEvidence is the evidence of one configuration-file field.
func fieldEvidence(s *Source, path, value string) map[string]string {
	ev := map[string]string{"field": path, "value": value}
	if l := s.fieldLine(path); l > 0 {
		ev["line"] = strconv.Itoa(l)
	}
	return ev
}

var (
	mitNetwork         = []string{finding.MitigationLimitNetworkAccess}
	mitNetworkAndAuthz = []string{finding.MitigationLimitNetworkAccess, finding.MitigationUserAccounts}
)

func itoa(n int) string { return strconv.Itoa(n) }
