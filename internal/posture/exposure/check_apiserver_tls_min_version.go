package exposure

import (
	"fmt"

	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check exposure-apiserver-tls-min-version (M1035) flags a kube-apiserver accepting TLS older than 1.2
(--tls-min-version=VersionTLS10 or VersionTLS11): traffic to the API, VNF secrets included, is open to downgrade
attacks. Medium (FGT1609.501). An unknown value is reported at low severity: the API server would not start.

Fine: unset (Go's server default is TLS 1.2), VersionTLS12 or VersionTLS13.
*/
const ruleAPIServerTLSMinVersion = "exposure-apiserver-tls-min-version"

func checkAPIServerTLSMinVersion(s *Source) []finding.Finding {
	if s.Component != APIServer {
		return nil
	}
	f, set := s.Flags.Get("tls-min-version")
	if !set {
		return nil
	}
	ev := flagEvidence("tls-min-version", f, true, "")
	switch f.Value {
	case "VersionTLS12", "VersionTLS13":
		return nil
	case "VersionTLS10", "VersionTLS11":
		return []finding.Finding{newFinding(s, ruleAPIServerTLSMinVersion, finding.AccessingTerminatedVNF, mitNetwork, finding.Medium,
			fmt.Sprintf("kube-apiserver accepts %s, older than TLS 1.2", f.Value), ev)}
	}
	return []finding.Finding{newFinding(s, ruleAPIServerTLSMinVersion, finding.AccessingTerminatedVNF, mitNetwork, finding.Low,
		fmt.Sprintf("kube-apiserver --tls-min-version=%q is not a TLS version it knows (VersionTLS12, VersionTLS13)", f.Value), ev)}
}
