package apipolicy

import (
	admregv1 "k8s.io/api/admissionregistration/v1"

	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Twin params-guard has no Go check of its own: it keeps the lifecycle parameters vnfguard's, whatever RBAC grants (a cluster administrator's stolen
credentials grant everything). Creating, changing or
deleting a VNFLifecycle object named ParamsName is refused to everyone but vnfguard's service account (self.namespace,
self.serviceAccount) and vnfguard's administrators: whoever could rewrite them could reopen a dormant VNF to the API
server's policies. Deleting them opens nothing (the policies refuse what needs them in a protected namespace
without them), but would stop the API server from telling running from dormant.
*/
func init() {
	register(twin{check: "params-guard", group: "params-guard", technique: finding.AccessingTerminatedVNF, spec: paramsGuard})
}

func paramsGuard(r *renderer) (*admregv1.ValidatingAdmissionPolicySpec, error) {
	self := r.cfg.Self
	scope := admregv1.NamespacedScope
	vnfguard := "request.userInfo.username == " + quote("system:serviceaccount:"+self.Namespace+":"+self.ServiceAccount)
	return &admregv1.ValidatingAdmissionPolicySpec{
		MatchConstraints: &admregv1.MatchResources{ResourceRules: []admregv1.NamedRuleWithOperations{{
			ResourceNames: []string{ParamsName},
			RuleWithOperations: admregv1.RuleWithOperations{
				Operations: []admregv1.OperationType{admregv1.Create, admregv1.Update, admregv1.Delete},
				Rule:       admregv1.Rule{APIGroups: []string{ParamsGroup}, APIVersions: []string{ParamsVersion}, Resources: []string{ParamsResource}, Scope: &scope},
			},
		}}},
		Validations: refusals([]admregv1.Validation{{
			Expression:        vnfguard + " || " + identity(r.cfg.Identities.Administrators),
			Message:           "vnfguard denied (in the API server): " + r.tag() + " the VNF lifecycle parameters are vnfguard's to write",
			MessageExpression: r.denied() + " + 'the VNF lifecycle parameters are vnfguard\\'s to write; ' + request.userInfo.username + ' is neither vnfguard nor one of its administrators'",
			Reason:            forbidden(),
		}}),
	}, nil
}
