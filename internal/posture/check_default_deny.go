package posture

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check no-default-deny (M1030) flags a protected namespace without a default-deny ingress NetworkPolicy: one whose
podSelector selects every pod ({}), whose policyTypes include Ingress, and which allows no ingress (no rules).
Without it every pod of the cluster — a compromised one included — reaches the VNF's pods and their data
(FGT1609.501).

Allowed: a namespace with such a policy (other policies then open what the VNF needs); namespaces that are not
protected.
*/
const ruleNoDefaultDeny = "no-default-deny"

func (s *scope) checkDefaultDeny() []finding.Finding {
	denied := map[string]bool{}
	for _, np := range of[*networkingv1.NetworkPolicy](s.in) {
		if defaultDenyIngress(np) {
			denied[np.Namespace] = true
		}
	}
	var out []finding.Finding
	for _, ns := range s.protectedNamespaces() {
		if denied[ns] {
			continue
		}
		obj := s.namespaceObject(ns)
		msg := fmt.Sprintf("protected namespace %s has no default-deny ingress NetworkPolicy: every pod in the cluster can reach its VNFs", ns)
		out = append(out, s.finding(ruleNoDefaultDeny, finding.AccessingTerminatedVNF, []string{finding.MitigationNetworkSegmentation},
			finding.Medium, obj, msg, map[string]string{"namespace": ns}))
	}
	return out
}

// defaultDenyIngress reports whether the policy selects every pod and allows no ingress.
func defaultDenyIngress(np *networkingv1.NetworkPolicy) bool {
	if len(np.Spec.PodSelector.MatchLabels) > 0 || len(np.Spec.PodSelector.MatchExpressions) > 0 {
		return false
	}
	ingress := len(np.Spec.PolicyTypes) == 0 // no policyTypes: Ingress is implied
	for _, t := range np.Spec.PolicyTypes {
		if t == networkingv1.PolicyTypeIngress {
			ingress = true
		}
	}
	return ingress && len(np.Spec.Ingress) == 0
}

// namespaceObject returns the Namespace object read, or one made up for the finding when the inputs had none.
func (s *scope) namespaceObject(name string) *corev1.Namespace {
	for _, n := range of[*corev1.Namespace](s.in) {
		if n.Name == name {
			return n
		}
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	return ns
}
