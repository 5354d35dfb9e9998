package exposure

import (
	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check exposure-apiserver-kubelet-certificate-authority (M1035) flags a kube-apiserver without
--kubelet-certificate-authority: it then does not verify the kubelets' serving certificates, and whoever sits
between it and a node sees (and changes) exec sessions, logs and port-forwards into the VNFs. Medium
(FGT1609.501).

Fine: the flag set to the CA that signs the kubelets' serving certificates.
*/
const ruleAPIServerKubeletCA = "exposure-apiserver-kubelet-certificate-authority"

func checkAPIServerKubeletCA(s *Source) []finding.Finding {
	if s.Component != APIServer {
		return nil
	}
	if f, set := s.Flags.Get("kubelet-certificate-authority"); set && f.Value != "" {
		return nil
	}
	ev := map[string]string{"flag": "--kubelet-certificate-authority", "value": "(unset: kubelet certificates are not verified)"}
	return []finding.Finding{newFinding(s, ruleAPIServerKubeletCA, finding.AccessingTerminatedVNF, mitNetwork, finding.Medium,
		"kube-apiserver does not verify the kubelets' serving certificates (no --kubelet-certificate-authority): exec, logs and port-forward into VNFs can be intercepted", ev)}
}
