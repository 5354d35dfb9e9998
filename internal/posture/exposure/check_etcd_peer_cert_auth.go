package exposure

import (
	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check exposure-etcd-peer-client-cert-auth (M1035) flags an etcd whose peers need no client certificate
(--peer-client-cert-auth not true): whoever reaches the peer port can join or talk to the cluster as a member and
read its replicated state. Medium when a peer URL listens beyond loopback, low otherwise (single-member, local).

Fine: --peer-client-cert-auth=true.
*/
const ruleEtcdPeerCertAuth = "exposure-etcd-peer-client-cert-auth"

func checkEtcdPeerCertAuth(s *Source) []finding.Finding {
	if s.Component != Etcd {
		return nil
	}
	on, set, _ := s.Flags.Bool("peer-client-cert-auth", false)
	if on {
		return nil
	}
	f, _ := s.Flags.Get("peer-client-cert-auth")
	ev := flagEvidence("peer-client-cert-auth", f, set, "false")
	sev := finding.Low
	msg := "etcd does not require client certificates from its peers"
	if u := nonLoopbackURL(s.Flags, "listen-peer-urls"); u != "" {
		sev = finding.Medium
		ev["listen-peer-urls"] = u
		msg += " and listens for them on " + u
	}
	return []finding.Finding{newFinding(s, ruleEtcdPeerCertAuth, finding.AccessingTerminatedVNF, mitNetwork, sev, msg+": a rogue member can read the replicated state", ev)}
}
