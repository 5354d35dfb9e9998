package apipolicy

import (
	admregv1 "k8s.io/api/admissionregistration/v1"

	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Twin namespace-protection judges all of check namespace-protection: UPDATE of a Namespace (its status and finalize
subresources too, which carry the whole object) after which a namespace that was protected no longer is (the label
the protection selector reads removed or changed), and DELETE of a protected namespace, by anyone but vnfguard's
administrators. Without it a policies-only installation could be switched off namespace by namespace: the bindings
select protected namespaces by that label, so once it is gone nothing refuses a fake VNF there.

A Namespace is cluster-scoped, so the API server gives the policy no namespaceObject: protection is read from the
namespace itself, oldObject before the change and object after it. Left to the webhook: the critical finding of an
administrator's change (the API server lets it through and cannot report it; the audit rule
namespace-protection-removed reports it too).
*/
func init() {
	register(twin{check: "namespace-protection", group: "namespace-protection", technique: finding.MaliciousVNFInstantiation, spec: namespaceProtection})
}

func namespaceProtection(r *renderer) (*admregv1.ValidatingAdmissionPolicySpec, error) {
	was, err := r.namespaceProtected("oldObject")
	if err != nil {
		return nil, err
	}
	if was == "false" {
		return nil, nil // nothing is protected: nothing to take out of protection
	}
	still, err := r.namespaceProtected("object")
	if err != nil {
		return nil, err
	}
	cluster := admregv1.ClusterScope
	const name = "oldObject.metadata.name"
	return &admregv1.ValidatingAdmissionPolicySpec{
		MatchConstraints: &admregv1.MatchResources{ResourceRules: []admregv1.NamedRuleWithOperations{
			scopedRule(cluster, "", "namespaces", admregv1.Update, admregv1.Delete),
			scopedRule(cluster, "", "namespaces/status", admregv1.Update),
			scopedRule(cluster, "", "namespaces/finalize", admregv1.Update),
		}},
		Variables: []admregv1.Variable{
			{Name: "wasProtected", Expression: was},
			{Name: "deleted", Expression: "request.operation == 'DELETE'"},
		},
		Validations: refusals([]admregv1.Validation{{
			Expression: "!variables.wasProtected || !variables.deleted && " + still + " || " + identity(r.cfg.Identities.Administrators),
			Message:    "vnfguard denied (in the API server): " + r.tag() + " a protected namespace may be taken out of protection or deleted only by vnfguard's administrators",
			MessageExpression: r.denied() + " + (variables.deleted ? 'deleting protected namespace ' + " + name + " + ' by ' + request.userInfo.username + " +
				"' would remove every VNF object in it outside the VNFM\\'s lifecycle' : 'namespace ' + " + name + " + ' would no longer be protected (the protection selector\\'s label removed or changed) by ' + " +
				"request.userInfo.username + ': workloads in it would escape vnfguard\\'s protected-namespace checks')" +
				" + '; only vnfguard administrators may do this'",
			Reason: forbidden(),
		}}),
	}, nil
}

// namespaceProtected is a CEL condition: the Namespace obj (oldObject or object) is protected
// (config.Config.IsProtected), read from the object itself: a request on a Namespace has no namespaceObject.
func (r *renderer) namespaceProtected(obj string) (string, error) {
	return r.protection(obj+".metadata.name", obj+".metadata.?labels.orValue({})", "")
}
