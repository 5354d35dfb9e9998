package exposure

import (
	"fmt"

	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check exposure-apiserver-anonymous-auth (M1035) flags a kube-apiserver that accepts anonymous requests:
--anonymous-auth=true, or the flag unset — its default is true. Every request without credentials then runs as
system:anonymous and only authorization stands between it and the API. Medium; critical when authorization also
allows everything (--authorization-mode containing AlwaysAllow, or unset), since then anyone may create a Pod: a
fake VNF.

Fine: --anonymous-auth=false. (Kubernetes 1.32+ can limit anonymous access to health endpoints with an
AuthenticationConfiguration; a file passed with --authentication-config is reported at low severity, since this
check does not read it.)
*/
const ruleAPIServerAnonymousAuth = "exposure-apiserver-anonymous-auth"

func checkAPIServerAnonymousAuth(s *Source) []finding.Finding {
	if s.Component != APIServer {
		return nil
	}
	on, set, ok := s.Flags.Bool("anonymous-auth", true)
	f, _ := s.Flags.Get("anonymous-auth")
	ev := flagEvidence("anonymous-auth", f, set, "true")
	if !ok {
		return []finding.Finding{newFinding(s, ruleAPIServerAnonymousAuth, finding.MaliciousVNFInstantiation, mitNetwork, finding.Medium,
			fmt.Sprintf("kube-apiserver --anonymous-auth=%q is not a boolean: the API server refuses to start or reads it unexpectedly", f.Value), ev)}
	}
	if !on {
		return nil
	}
	sev := finding.Medium
	msg := "kube-apiserver accepts anonymous requests (--anonymous-auth=true)"
	if !set {
		msg = "kube-apiserver accepts anonymous requests: --anonymous-auth is unset and defaults to true"
	}
	if _, authnCfg := s.Flags.Get("authentication-config"); authnCfg {
		sev = finding.Low
		msg += "; --authentication-config may restrict anonymous access to some paths, check it"
	}
	if alwaysAllow(s.Flags) {
		sev = finding.Critical
		msg += ", and authorization allows everything (AlwaysAllow): anyone who reaches the API can create a fake VNF"
	} else {
		msg += ": only authorization stands between a request without credentials and the API"
	}
	return []finding.Finding{newFinding(s, ruleAPIServerAnonymousAuth, finding.MaliciousVNFInstantiation, mitNetwork, sev, msg, ev)}
}
