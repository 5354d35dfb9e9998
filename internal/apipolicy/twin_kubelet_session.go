package apipolicy

import (
	admregv1 "k8s.io/api/admissionregistration/v1"

	"github.com/vnfguard/vnfguard/internal/danger"
	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Twin kubelet-session judges all of check kubelet-session: CONNECT on nodes/proxy whose path opens a session in the
kubelet API (exec, run, attach, portForward, checkpoint, cri, or a path with a ".." segment), refused to everyone. The
path is read by danger.KubeletSessionCondition, the same reading the webhook's match condition uses, rendered from
the list check kubelet-session reads. The check needs no lookup, so the twin judges exactly what it judges; nothing
is left to the webhook.
*/
func init() {
	register(twin{check: "kubelet-session", group: "kubelet-session", technique: finding.AccessingTerminatedVNF, spec: kubeletSession})
}

func kubeletSession(r *renderer) (*admregv1.ValidatingAdmissionPolicySpec, error) {
	const path = "object.?path.orValue('')"
	return &admregv1.ValidatingAdmissionPolicySpec{
		MatchConstraints: &admregv1.MatchResources{ResourceRules: []admregv1.NamedRuleWithOperations{
			scopedRule(admregv1.ClusterScope, "", "nodes/proxy", admregv1.Connect),
		}},
		Validations: refusals([]admregv1.Validation{{
			Expression: "!" + danger.KubeletSessionCondition(path),
			Message:    "vnfguard denied (in the API server): " + r.tag() + " a session into a pod through the kubelet API skips pods/exec admission and audit; use pods/exec",
			MessageExpression: r.denied() + " + 'path ' + " + path + " + ' through node ' + request.name + \"'s kubelet API by \" + request.userInfo.username + " +
				"': it opens a session into a pod that skips pods/exec admission and audit; denied for everyone, break-glass included (use pods/exec)'",
			Reason: forbidden(),
		}}),
	}, nil
}
