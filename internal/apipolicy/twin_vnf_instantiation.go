package apipolicy

import (
	admregv1 "k8s.io/api/admissionregistration/v1"

	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Twin vnf-instantiation judges check vnf-instantiation in protected namespaces (CREATE and UPDATE of pods and
workloads) as far as the request and the lifecycle parameters tell:

  - an identity that is neither a VNFM identity nor one of Kubernetes' controllers may create or change nothing
    (the fake VNF of FGT5013);
  - a VNFM identity may not create a workload whose instance label names an instance the inventory does not know,
    or one that is STOPPED or NOT_INSTANTIATED with no LCM operation in progress (KeyInstance), nor change one for
    an unknown instance;
  - a controller may not create a pod whose instance label names such an instance, nor one for a workload the
    parameters name (KeyOwner: a zombie of a dormant instance);
  - while the namespace has no lifecycle parameters (the inventory has not loaded), nothing: the binding for
    protected namespaces requires them.

Left to the webhook: objects without the instance label whose instance only the owner chain or the instance's
resource list tells (the twin lets them through; the check judges them), and controller-created pods whose owner is
bound to no instance at all.
*/
func init() {
	register(twin{check: "vnf-instantiation", group: "lifecycle", technique: finding.MaliciousVNFInstantiation, params: true, spec: vnfInstantiation})
}

func vnfInstantiation(r *renderer) (*admregv1.ValidatingAdmissionPolicySpec, error) {
	protected, err := r.protected()
	if err != nil {
		return nil, err
	}
	ids := r.cfg.Identities
	label := r.cfg.InstanceLabel
	// Protection is a variable, not a match condition: the API server gives match conditions no namespaceObject.
	vars := []admregv1.Variable{
		{Name: "protected", Expression: protected},
		{Name: "vnfm", Expression: identity(ids.VNFM)},
		{Name: "controller", Expression: identity(ids.Controllers)},
		{Name: "instance", Expression: "object.metadata.?labels.orValue({})[?" + quote(label) + "].orValue('')"},
		{Name: "instanceState", Expression: "variables.instance == '' ? '' : " + paramValue(quote(KeyInstance)+" + variables.instance")},
		// The controlling owner, or the first owner when none is marked controller (as vnf.Resolver walks).
		{Name: "refs", Expression: "object.metadata.?ownerReferences.orValue([])"},
		{Name: "owner", Expression: "variables.refs.exists(o, o.?controller.orValue(false)) ? variables.refs.filter(o, o.?controller.orValue(false)) : variables.refs"},
		{Name: "ownerState", Expression: "variables.owner.size() == 0 ? '' : " + paramValue(quote(KeyOwner)+" + variables.owner[0].kind.lowerAscii() + '.' + variables.owner[0].name")},
	}
	verb := "(request.operation == 'CREATE' ? 'created' : 'changed')"
	field := quote("metadata.labels[" + label + "]: ")
	return &admregv1.ValidatingAdmissionPolicySpec{
		MatchConstraints: &admregv1.MatchResources{ResourceRules: workloadRules()},
		Variables:        vars,
		Validations: refusals([]admregv1.Validation{
			{
				Expression: "!variables.protected || variables.vnfm || variables.controller",
				Message:    "vnfguard denied (in the API server): " + r.tag() + " only the VNFM may instantiate or change VNF workloads in a protected namespace",
				MessageExpression: r.denied() + " + 'metadata: ' + request.kind.kind + ' ' + " + verb + " + ' by ' + request.userInfo.username + " +
					"', which is not a VNFM identity: only the VNFM may instantiate or change VNF workloads in a protected namespace'",
				Reason: forbidden(),
			},
			{
				Expression:        "!variables.protected || variables.instance == '' || variables.instanceState != '' || (variables.controller && request.operation == 'UPDATE')",
				Message:           "vnfguard denied (in the API server): " + r.tag() + " the instance label names a VNF instance the inventory does not know",
				MessageExpression: r.denied() + " + " + field + " + 'VNF instance ' + variables.instance + ' is not in the inventory (deleted or never created by the NFVO)'",
				Reason:            forbidden(),
			},
			{
				Expression:        "!variables.protected || request.operation != 'CREATE' || variables.instanceState == '' || variables.instanceState == " + quote(Runnable),
				Message:           "vnfguard denied (in the API server): " + r.tag() + " the VNF instance is dormant and has no LCM operation in progress",
				MessageExpression: r.denied() + " + " + field + " + 'VNF instance ' + variables.instance + ' is ' + variables.instanceState + ' and has no LCM operation in progress: nothing may be instantiated for it'",
				Reason:            forbidden(),
			},
			{
				Expression: "!variables.protected || !variables.controller || request.operation != 'CREATE' || variables.instance != '' || variables.ownerState == ''",
				Message:    "vnfguard denied (in the API server): " + r.tag() + " a controller created a pod for a workload of a dormant VNF instance",
				MessageExpression: r.denied() + " + 'metadata.ownerReferences: created by controller ' + request.userInfo.username + ' for ' + variables.owner[0].kind + ' ' + variables.owner[0].name + ' of ' + " +
					describeState("variables.ownerState") + " + ': a zombie pod of a stopped or terminated VNF'",
				Reason: forbidden(),
			},
		}),
	}, nil
}
