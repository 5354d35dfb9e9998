package detect

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

// A refusal by one of vnfguard's policies in the API server counts as vnfguard's denial (the webhook never saw the
// request); other policies' and forged names do not.
func TestPolicyDenialIsVNFGuards(t *testing.T) {
	for _, c := range []struct {
		code int32
		msg  string
		want bool
	}{
		{403, `pods "x" is forbidden: ValidatingAdmissionPolicy 'vnfguard-workloads' with binding 'vnfguard-workloads' denied request: vnfguard denied (in the API server) Pod a/x: [pod-security FGT5013] no`, true},
		{422, `pods "x" is forbidden: ValidatingAdmissionPolicy 'vnfguard-lifecycle' with binding 'vnfguard-lifecycle-protected-by-label' denied request: failed to configure binding: no params found`, true},
		{403, `pods "x" is forbidden: ValidatingAdmissionPolicy 'kyverno-disallow' with binding 'b' denied request: vnfguard-x`, false},
		{403, `pods "x" is forbidden: ValidatingAdmissionPolicy 'vnfguard-workloads' is not here`, false},
		{200, `ValidatingAdmissionPolicy 'vnfguard-workloads' with binding 'vnfguard-workloads' denied request: x`, false},
	} {
		ev := &auditv1.Event{ResponseStatus: &metav1.Status{Code: c.code, Message: c.msg}}
		if got := isVNFGuardDenial(ev); got != c.want {
			t.Errorf("%d %q: %v, want %v", c.code, c.msg, got, c.want)
		}
	}
}
