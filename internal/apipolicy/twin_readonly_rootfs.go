package apipolicy

import (
	"slices"
	"sort"

	admregv1 "k8s.io/api/admissionregistration/v1"

	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Twin readonly-rootfs judges check readonly-rootfs where no profile could lift it: in protected namespaces, a pod or
workload pod template with a container (init, regular, ephemeral) whose securityContext.readOnlyRootFilesystem is
not true (false or unset) is refused when its name is in no profile's allowWritableRootFilesystem. A configuration
in which some profile names "*" leaves the twin nothing to judge (any container of that profile's products may be
writable): it is not rendered.

Left to the webhook: the containers some profile names. Whether that profile applies is a matter of the VNF product
of the pod's instance, which only an owner-chain lookup and the inventory find; the twin takes every profile's names
as allowed.
*/
func init() {
	register(twin{check: "readonly-rootfs", group: "workloads", technique: finding.MaliciousVNFInstantiation, spec: readOnlyRootFS})
}

func readOnlyRootFS(r *renderer) (*admregv1.ValidatingAdmissionPolicySpec, error) {
	writable := []string{}
	for _, p := range r.cfg.Profiles {
		for _, c := range p.AllowWritableRootFilesystem {
			if c == "*" {
				return nil, nil
			}
			if !slices.Contains(writable, c) {
				writable = append(writable, c)
			}
		}
	}
	sort.Strings(writable)
	protected, err := r.protected()
	if err != nil {
		return nil, err
	}
	cond := "c, !c.?securityContext.?readOnlyRootFilesystem.orValue(false) && !(c.name in " + list(writable) + ")"
	vars := append([]admregv1.Variable{{Name: "protected", Expression: protected}}, podVariables()...)
	vars = append(vars, admregv1.Variable{Name: "writableRootFS",
		Expression: "variables.containers.filter(" + cond + ").map(c, c.name) + variables.ephemeral.filter(" + cond + ").map(c, c.name)"})
	return &admregv1.ValidatingAdmissionPolicySpec{
		MatchConstraints: &admregv1.MatchResources{ResourceRules: workloadRules()},
		Variables:        vars,
		Validations: refusals([]admregv1.Validation{{
			Expression: "!variables.protected || !variables.specChanged || !(variables.containers.exists(" + cond + ") || variables.ephemeral.exists(" + cond + "))",
			Message:    "vnfguard denied (in the API server): " + r.tag() + " a container has a writable root filesystem; set securityContext.readOnlyRootFilesystem to true",
			MessageExpression: r.denied() + " + 'containers ' + variables.writableRootFS.join(', ') + " +
				quote(" have a writable root filesystem (readOnlyRootFilesystem false or unset) and no profile names them in allowWritableRootFilesystem; set it to true"),
			Reason: forbidden(),
		}}),
	}, nil
}
