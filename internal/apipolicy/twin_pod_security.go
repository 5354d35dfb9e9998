package apipolicy

import (
	"strconv"

	admregv1 "k8s.io/api/admissionregistration/v1"

	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Twin pod-security judges the host-access part of check pod-security, at the level the namespace gets (the protected
level in protected namespaces; the level for everywhere else outside podSecurity.exemptNamespaces), when that level
is baseline or restricted: privileged containers (init, regular and ephemeral), hostPID, hostIPC and hostPath
volumes — the Pod Security Standards' baseline controls that no VNF profile can lift.

Left to the webhook: the rest of the standards (capabilities, host ports, hostNetwork, running as root, seccomp,
sysctls, volume types, ...), whose profile exceptions depend on the VNF product of the pod's instance, which only an
owner-chain lookup finds; and vnfguard's own node agent (notNodeAgent), whose exact shape the webhook checks.
*/
func init() {
	register(twin{check: "pod-security", group: "workloads", technique: finding.MaliciousVNFInstantiation, spec: podSecurity})
}

func podSecurity(r *renderer) (*admregv1.ValidatingAdmissionPolicySpec, error) {
	protected, err := r.protected()
	if err != nil {
		return nil, err
	}
	ps := r.cfg.PodSecurity
	judges := func(level string) string { return strconv.FormatBool(level == "baseline" || level == "restricted") }
	if judges(ps.Protected) == "false" && judges(ps.Everywhere) == "false" {
		return nil, nil
	}
	judged := "variables.protected ? " + judges(ps.Protected) + " : !(request.namespace in " + list(ps.ExemptNamespaces) + ") && " + judges(ps.Everywhere)
	level := "(variables.protected ? " + quote(ps.Protected) + " : " + quote(ps.Everywhere) + ")"
	privileged := "c, c.?securityContext.?privileged.orValue(false)"
	vars := append([]admregv1.Variable{{Name: "protected", Expression: protected}, {Name: "judged", Expression: judged}}, podVariables()...)
	vars = append(vars, privilegedAny(),
		admregv1.Variable{Name: "privilegedNames", Expression: "variables.containers.filter(" + privileged + ").map(c, c.name) + variables.ephemeral.filter(" + privileged + ").map(c, c.name)"},
		admregv1.Variable{Name: "hostNamespaces", Expression: "(variables.spec.?hostPID.orValue(false) ? ['hostPID'] : []) + (variables.spec.?hostIPC.orValue(false) ? ['hostIPC'] : [])"},
		admregv1.Variable{Name: "hostPaths", Expression: "variables.spec.?volumes.orValue([]).filter(v, has(v.hostPath)).map(v, v.name)"},
	)
	prefix := r.denied() + " + 'violates PodSecurity ' + " + level + " + ': '"
	deny := func(expr, what, msg string) admregv1.Validation {
		return admregv1.Validation{
			Expression:        "!variables.judged || !variables.specChanged || " + expr,
			Message:           "vnfguard denied (in the API server): " + r.tag() + " violates the Pod Security Standards: " + what,
			MessageExpression: prefix + " + " + msg,
			Reason:            forbidden(),
		}
	}
	return &admregv1.ValidatingAdmissionPolicySpec{
		MatchConstraints: &admregv1.MatchResources{ResourceRules: workloadRules()},
		MatchConditions:  []admregv1.MatchCondition{r.notNodeAgent()},
		Variables:        vars,
		Validations: refusals([]admregv1.Validation{
			deny("!variables.privilegedAny", "privileged containers", "'privileged (containers ' + variables.privilegedNames.join(', ') + ' must not set securityContext.privileged=true)'"),
			deny("!(variables.spec.?hostPID.orValue(false) || variables.spec.?hostIPC.orValue(false))", "host namespaces", "'host namespaces (' + variables.hostNamespaces.join(', ') + ' must not be true)'"),
			deny("!variables.spec.?volumes.orValue([]).exists(v, has(v.hostPath))", "hostPath volumes", "'hostPath volumes (volumes ' + variables.hostPaths.join(', ') + ')'"),
		}),
	}, nil
}
