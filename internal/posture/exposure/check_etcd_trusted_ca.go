package exposure

import (
	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check exposure-etcd-trusted-ca (M1035) flags an etcd that requires client certificates but names no CA to verify
them (--client-cert-auth=true without --trusted-ca-file): it then trusts the system's CAs, so a certificate from
any public CA opens the cluster's state. Medium.

Fine: --trusted-ca-file set to the etcd CA. Without client certificate authentication, check
exposure-etcd-client-cert-auth reports the worse problem and this one stays silent.
*/
const ruleEtcdTrustedCA = "exposure-etcd-trusted-ca"

func checkEtcdTrustedCA(s *Source) []finding.Finding {
	if s.Component != Etcd {
		return nil
	}
	if on, _, _ := s.Flags.Bool("client-cert-auth", false); !on {
		return nil
	}
	if f, set := s.Flags.Get("trusted-ca-file"); set && f.Value != "" {
		return nil
	}
	ev := map[string]string{"flag": "--trusted-ca-file", "value": "(unset: the system's CAs are trusted)"}
	return []finding.Finding{newFinding(s, ruleEtcdTrustedCA, finding.MaliciousVNFInstantiation, mitNetwork, finding.Medium,
		"etcd requires client certificates but names no CA (--trusted-ca-file): a certificate of any CA the system trusts is accepted", ev)}
}
