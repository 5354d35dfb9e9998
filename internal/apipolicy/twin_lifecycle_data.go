package apipolicy

import (
	admregv1 "k8s.io/api/admissionregistration/v1"

	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Twin lifecycle-data judges the mounts of check lifecycle-data: a new pod, or a workload's pod template, that mounts a
PersistentVolumeClaim the lifecycle parameters name (KeyClaim: a claim of an instance that is STOPPED,
NOT_INSTANTIATED or no longer in the inventory, with no LCM operation in progress), and a VolumeSnapshot of such a
claim. In a protected namespace without lifecycle parameters it refuses them all (the binding for protected
namespaces requires them).

Left to the webhook: what is decided at the PersistentVolume (a claim or an ephemeral volume naming a dormant
instance's volume by spec.volumeName, claimRef and instance-label edits): volumes are cluster-scoped and have no
namespace to hold their parameters.
*/
func init() {
	register(twin{check: "lifecycle-data", group: "lifecycle", technique: finding.AccessingTerminatedVNF, params: true, spec: lifecycleData})
}

func lifecycleData(r *renderer) (*admregv1.ValidatingAdmissionPolicySpec, error) {
	protected, err := r.protected()
	if err != nil {
		return nil, err
	}
	dormant := "c, (" + paramValue(quote(KeyClaim)+" + c") + ") != ''"
	vars := append([]admregv1.Variable{{Name: "protected", Expression: protected}, {Name: "snapshot", Expression: "request.kind.kind == 'VolumeSnapshot'"}}, podVariables()...)
	vars = append(vars,
		admregv1.Variable{Name: "dormantClaims", Expression: "variables.snapshot ? [] : variables.spec.?volumes.orValue([]).filter(v, has(v.persistentVolumeClaim))" +
			".map(v, v.persistentVolumeClaim.claimName).filter(" + dormant + ")"},
		admregv1.Variable{Name: "snapshotClaim", Expression: "variables.snapshot ? object.spec.source.?persistentVolumeClaimName.orValue('') : ''"},
	)
	rules := append(workloadRules(), admregv1.NamedRuleWithOperations{RuleWithOperations: admregv1.RuleWithOperations{
		Operations: []admregv1.OperationType{admregv1.Create},
		Rule:       admregv1.Rule{APIGroups: []string{"snapshot.storage.k8s.io"}, APIVersions: []string{"v1"}, Resources: []string{"volumesnapshots"}},
	}})
	return &admregv1.ValidatingAdmissionPolicySpec{
		MatchConstraints: &admregv1.MatchResources{ResourceRules: rules},
		Variables:        vars,
		Validations: refusals([]admregv1.Validation{
			{
				Expression: "variables.snapshot || !variables.specChanged || variables.dormantClaims.size() == 0",
				Message:    "vnfguard denied (in the API server): " + r.tag() + " mounts a PersistentVolumeClaim of a dormant VNF instance",
				MessageExpression: r.denied() + " + 'mounts PersistentVolumeClaim ' + variables.dormantClaims[0] + ' of ' + " +
					describeState("("+paramValue(quote(KeyClaim)+" + variables.dormantClaims[0]")+")"),
				Reason: forbidden(),
			},
			{
				Expression: "variables.snapshotClaim == '' || (" + paramValue(quote(KeyClaim)+" + variables.snapshotClaim") + ") == ''",
				Message:    "vnfguard denied (in the API server): " + r.tag() + " snapshot of a PersistentVolumeClaim of a dormant VNF instance",
				MessageExpression: r.denied() + " + 'spec.source.persistentVolumeClaimName: snapshot of PersistentVolumeClaim ' + variables.snapshotClaim + ' of ' + " +
					describeState("("+paramValue(quote(KeyClaim)+" + variables.snapshotClaim")+")"),
				Reason: forbidden(),
			},
		}),
	}, nil
}
