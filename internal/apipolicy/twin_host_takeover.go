package apipolicy

import (
	admregv1 "k8s.io/api/admissionregistration/v1"

	"github.com/vnfguard/vnfguard/internal/danger"
	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Twin host-takeover judges all of check host-takeover, in every namespace: pods and workload pod templates that mount
a host path danger.HostPath calls a takeover (the node's root, /proc, the kubelet's and the container runtimes'
state and sockets, /etc or /root whole, anything below those, or a directory above them), and hostPID together with
a privileged container.

The path is cleaned in CEL as path.Clean does it, but for "..": the API server refuses a hostPath with ".." before
any validating admission runs, so no twin ever sees one. Left to the webhook: vnfguard's own node agent
(notNodeAgent), whose exact shape the webhook checks.
*/
func init() {
	register(twin{check: "host-takeover", group: "workloads", technique: finding.MaliciousVNFInstantiation, spec: hostTakeover})
}

func hostTakeover(r *renderer) (*admregv1.ValidatingAdmissionPolicySpec, error) {
	takeover := "p == '/' || p in " + list(danger.WholeHostDirectories()) +
		" || " + list(danger.SensitiveHostPaths()) + ".exists(s, p == s || p.startsWith(s + '/') || s.startsWith(p + '/'))"
	vars := append(podVariables(),
		admregv1.Variable{Name: "takeoverPaths", Expression: "variables.spec.?volumes.orValue([]).filter(v, has(v.hostPath))" +
			".map(v, '/' + v.hostPath.path.split('/').filter(s, s != '' && s != '.').join('/'))" +
			".filter(p, " + takeover + ")"},
		privilegedAny(),
	)
	return &admregv1.ValidatingAdmissionPolicySpec{
		MatchConstraints: &admregv1.MatchResources{ResourceRules: workloadRules()},
		MatchConditions:  []admregv1.MatchCondition{r.notNodeAgent()},
		Variables:        vars,
		Validations: refusals([]admregv1.Validation{
			{
				Expression:        "!variables.specChanged || variables.takeoverPaths.size() == 0",
				Message:           "vnfguard denied (in the API server): " + r.tag() + " a hostPath volume hands the node to the pod",
				MessageExpression: r.denied() + " + 'hostPath volume ' + variables.takeoverPaths.join(', ') + ' hands the node to the pod (the Peirates pod of FGT5013)'",
				Reason:            forbidden(),
			},
			{
				Expression:        "!variables.specChanged || !(variables.spec.?hostPID.orValue(false) && variables.privilegedAny)",
				Message:           "vnfguard denied (in the API server): " + r.tag() + " hostPID with a privileged container (nsenter into the node's PID 1)",
				MessageExpression: r.denied() + " + 'spec.hostPID: hostPID with a privileged container (nsenter into the node\\'s PID 1)'",
				Reason:            forbidden(),
			},
		}),
	}, nil
}
