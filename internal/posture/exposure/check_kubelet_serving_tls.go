package exposure

import (
	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check exposure-kubelet-serving-tls (M1035) flags a kubelet that serves its API with a self-signed certificate:
no tlsCertFile (--tls-cert-file) and no serverTLSBootstrap (--rotate-server-certificates). The API server cannot
verify such a kubelet, so --kubelet-certificate-authority cannot be used and exec or log traffic into VNFs can be
intercepted. Low (FGT1609.501).

Fine: a certificate file, or serving certificates bootstrapped from the cluster CA.
*/
const ruleKubeletServingTLS = "exposure-kubelet-serving-tls"

func checkKubeletServingTLS(s *Source) []finding.Finding {
	if s.Component != Kubelet {
		return nil
	}
	var ev map[string]string
	if kc := s.Kubelet; kc != nil {
		if kc.TLSCertFile != "" || kc.ServerTLSBootstrap {
			return nil
		}
		ev = fieldEvidence(s, "tlsCertFile", "(unset, and serverTLSBootstrap false)")
	} else {
		cert, certSet := s.Flags.Get("tls-cert-file")
		rotate, _, _ := s.Flags.Bool("rotate-server-certificates", false)
		if (certSet && cert.Value != "") || rotate {
			return nil
		}
		if _, cfg := s.Flags.Get("config"); cfg {
			return nil // the configuration file decides
		}
		ev = map[string]string{"flag": "--tls-cert-file", "value": "(unset, and no --rotate-server-certificates)"}
	}
	return []finding.Finding{newFinding(s, ruleKubeletServingTLS, finding.AccessingTerminatedVNF, mitNetwork, finding.Low,
		"kubelet serves its API with a self-signed certificate (no tlsCertFile, no serverTLSBootstrap): the API server cannot verify it", ev)}
}
