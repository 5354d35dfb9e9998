package exposure

import (
	"maps"

	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
The probe's findings, one per target at most, from what answered without credentials:
  - exposure-probe-apiserver-anonymous: a Kubernetes API server that lists namespaces or pods for an anonymous
    request (critical: anonymous has been granted rights, FGT5013, M1035 and M1018), or that only tells its
    version or discovery (low: the default public-info-viewer role; it helps an attacker pick exploits).
  - exposure-probe-kubelet-anonymous: a kubelet API (https) that lists its pods anonymously: critical, since the
    same API runs commands in containers.
  - exposure-probe-kubelet-read-only: the kubelet's read-only port (http) answering /pods: high, FGT1609.501.
  - exposure-probe-etcd-anonymous: etcd's KV API answering without a client certificate: critical.
  - exposure-probe-docker-anonymous: a Docker Engine API listing containers without a client certificate:
    critical (root on the node), whether over plain HTTP or TLS without client verification.

Fine, no finding: denied anonymous requests (401/403), a TLS server that requires a client certificate, closed
ports, and anything unidentified.
*/
const (
	ruleProbeAPIServerAnonymous = "exposure-probe-apiserver-anonymous"
	ruleProbeKubeletAnonymous   = "exposure-probe-kubelet-anonymous"
	ruleProbeKubeletReadOnly    = "exposure-probe-kubelet-read-only"
	ruleProbeEtcdAnonymous      = "exposure-probe-etcd-anonymous"
	ruleProbeDockerAnonymous    = "exposure-probe-docker-anonymous"
)

func probeFinding(r Result) (finding.Finding, bool) {
	var rule, technique, msg string
	sev := finding.Critical
	mit := mitNetwork
	switch {
	case r.Service == ServiceAPIServer && r.Anonymous == "allowed":
		rule, technique, mit = ruleProbeAPIServerAnonymous, finding.MaliciousVNFInstantiation, mitNetworkAndAuthz
		msg = "Kubernetes API server at " + r.Target + " lists namespaces or pods for anonymous requests: system:anonymous has been granted rights"
	case r.Service == ServiceAPIServer && r.Anonymous == "limited":
		rule, technique, sev = ruleProbeAPIServerAnonymous, finding.MaliciousVNFInstantiation, finding.Low
		msg = "Kubernetes API server at " + r.Target + " tells anonymous clients its version (" + r.Evidence["version"] + "); resources are denied"
	case r.Service == ServiceKubelet && r.Anonymous == "allowed":
		rule, technique = ruleProbeKubeletAnonymous, finding.MaliciousVNFInstantiation
		msg = "kubelet API at " + r.Target + " lists its pods for anonymous requests: the same API runs commands in the node's VNF containers"
	case r.Service == ServiceKubeletReadOnly && r.Anonymous == "allowed":
		rule, technique, sev = ruleProbeKubeletReadOnly, finding.AccessingTerminatedVNF, finding.High
		msg = "kubelet read-only port at " + r.Target + " lists the node's pods over plain HTTP without authentication"
	case r.Service == ServiceEtcd && r.Anonymous == "allowed":
		rule, technique = ruleProbeEtcdAnonymous, finding.MaliciousVNFInstantiation
		msg = "etcd at " + r.Target + " serves its KV API without a client certificate (" + r.Scheme + "): the cluster's whole state, Secrets included, is readable and writable"
	case r.Service == ServiceDocker && r.Anonymous == "allowed":
		rule, technique = ruleProbeDockerAnonymous, finding.MaliciousVNFInstantiation
		msg = "Docker Engine API at " + r.Target + " lists containers without a client certificate"
		if r.Scheme == "http" {
			msg += " over plain HTTP, without TLS"
		}
		msg += ": anyone who reaches it is root on the node and can start a fake VNF"
	default:
		return finding.Finding{}, false
	}
	component := r.Service
	if component == ServiceKubeletReadOnly {
		component = ServiceKubelet
	}
	ev := maps.Clone(r.Evidence)
	ev["target"], ev["scheme"], ev["anonymous"] = r.Target, r.Scheme, r.Anonymous
	obj := finding.ObjectRef{Kind: "Component", Name: component}
	return finding.Finding{
		ID:          finding.Key(rule, finding.ObjectRef{Kind: obj.Kind, Name: obj.Name, Subresource: r.Target}, ""),
		Source:      FindingSource,
		Rule:        rule,
		Technique:   technique,
		Mitigations: mit,
		Severity:    sev,
		Message:     msg,
		Object:      obj,
		Evidence:    ev,
	}, true
}
