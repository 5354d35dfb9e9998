package apipolicy

import (
	admregv1 "k8s.io/api/admissionregistration/v1"

	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Twin lifecycle-access judges all of check lifecycle-access: CONNECT on pods/exec, pods/attach and pods/portforward
(whatever the HTTP verb) and UPDATE of pods/ephemeralcontainers.

Refused, for everyone: a pod the lifecycle parameters name (KeyPod): a pod of an instance that is STOPPED,
NOT_INSTANTIATED, TERMINATING or no longer in the inventory, or a pod being deleted. Refused in protected namespaces:
every identity that is not break-glass, and everyone while the namespace has no lifecycle parameters (the binding
for protected namespaces requires them: they are vnfguard's to write, and deleting them must not open the dormant
VNFs).

The webhook keeps the record of each break-glass use (a finding): the API server lets it through and cannot
report it.
*/
func init() {
	register(twin{check: "lifecycle-access", group: "lifecycle-access", technique: finding.AccessingTerminatedVNF, params: true, spec: lifecycleAccess})
}

func lifecycleAccess(r *renderer) (*admregv1.ValidatingAdmissionPolicySpec, error) {
	protected, err := r.protected()
	if err != nil {
		return nil, err
	}
	connect := func(sub string) admregv1.NamedRuleWithOperations {
		return rule("", "pods/"+sub, admregv1.Connect)
	}
	verb := "(request.subResource == 'portforward' ? 'port-forward' : request.subResource == 'ephemeralcontainers' ? 'ephemeral container (kubectl debug)' : request.subResource)"
	return &admregv1.ValidatingAdmissionPolicySpec{
		MatchConstraints: &admregv1.MatchResources{ResourceRules: []admregv1.NamedRuleWithOperations{
			connect("exec"), connect("attach"), connect("portforward"),
			rule("", "pods/ephemeralcontainers", admregv1.Update),
		}},
		Variables: []admregv1.Variable{
			{Name: "protected", Expression: protected},
			{Name: "state", Expression: paramValue(quote(KeyPod) + " + request.name")},
			{Name: "verb", Expression: verb},
		},
		Validations: refusals([]admregv1.Validation{
			{
				Expression: "variables.state == ''",
				Message:    "vnfguard denied (in the API server): " + r.tag() + " the pod belongs to a dormant VNF instance",
				MessageExpression: r.denied() + " + 'pods/' + request.subResource + ': ' + variables.verb + ' into pod ' + request.name + ' of ' + " + describeState("variables.state") +
					" + ': denied for everyone, break-glass included'",
				Reason: forbidden(),
			},
			{
				Expression:        "!variables.protected || " + identity(r.cfg.Identities.BreakGlass),
				Message:           "vnfguard denied (in the API server): " + r.tag() + " only break-glass identities may enter a VNF's pods in a protected namespace",
				MessageExpression: r.denied() + " + 'pods/' + request.subResource + ': ' + variables.verb + ' into pod ' + request.name + ' in a protected namespace by ' + request.userInfo.username + ', which is not a break-glass identity'",
				Reason:            forbidden(),
			},
		}),
	}, nil
}

// paramValue is a CEL string expression: the lifecycle parameter under key (a CEL string expression), or "".
func paramValue(key string) string {
	return "params == null ? '' : params.?data.orValue({})[?(" + key + ")].orValue('')"
}

// describeState renders a parameter's value ("STOPPED 3f2a...") for a message: "VNF instance 3f2a..., which is
// STOPPED".
func describeState(v string) string {
	return "(" + v + ".indexOf(' ') < 0 ? 'a VNF instance that is ' + " + v + " : 'VNF instance ' + " + v + ".substring(" + v + ".indexOf(' ') + 1) + ', which is ' + " +
		v + ".substring(0, " + v + ".indexOf(' ')))"
}
