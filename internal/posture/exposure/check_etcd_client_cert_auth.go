package exposure

import (
	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check exposure-etcd-client-cert-auth (M1035) flags an etcd that does not require client certificates
(--client-cert-auth not true; client-transport-security.client-cert-auth in a configuration file): etcd holds the
whole cluster — every Secret, and every Pod, which written straight into etcd skips authentication, authorization
and admission. Whoever reaches its client port reads and writes it all. Critical when a client URL listens beyond
loopback, high otherwise (any process on the node).

Fine: --client-cert-auth=true.
*/
const ruleEtcdClientCertAuth = "exposure-etcd-client-cert-auth"

func checkEtcdClientCertAuth(s *Source) []finding.Finding {
	if s.Component != Etcd {
		return nil
	}
	on, set, _ := s.Flags.Bool("client-cert-auth", false)
	if on {
		return nil
	}
	f, _ := s.Flags.Get("client-cert-auth")
	ev := flagEvidence("client-cert-auth", f, set, "false")
	sev := finding.High
	msg := "etcd does not require client certificates: any process on the node reads and writes the cluster's state, fake VNF pods included"
	if u := nonLoopbackURL(s.Flags, "listen-client-urls"); u != "" {
		sev = finding.Critical
		ev["listen-client-urls"] = u
		msg = "etcd does not require client certificates and listens on " + u + ": anyone on the network reads and writes the cluster's state, fake VNF pods included"
	}
	return []finding.Finding{newFinding(s, ruleEtcdClientCertAuth, finding.MaliciousVNFInstantiation, mitNetwork, sev, msg, ev)}
}
