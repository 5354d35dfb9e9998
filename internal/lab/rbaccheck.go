package lab

import (
	"context"
	"fmt"
	"slices"
	"strings"

	authzv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// RulesDiff is `kubectl auth can-i --list -n namespace` as the identity of cs, compared with the rules it should
// have there: what the API server grants that want does not hold (extra), and what want holds that the API server
// does not grant (missing), each as "verb group/resource[/name]". What Kubernetes grants every authenticated user
// (reviews of one's own access) is left out.
func RulesDiff(ctx context.Context, cs kubernetes.Interface, namespace string, want ...[]rbacv1.PolicyRule) (extra, missing []string, err error) {
	review, err := cs.AuthorizationV1().SelfSubjectRulesReviews().Create(ctx, &authzv1.SelfSubjectRulesReview{
		Spec: authzv1.SelfSubjectRulesReviewSpec{Namespace: namespace}}, metav1.CreateOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("lab: rules review in %s: %w", namespace, err)
	}
	if review.Status.Incomplete {
		return nil, nil, fmt.Errorf("lab: rules review in %s is incomplete: %s", namespace, review.Status.EvaluationError)
	}
	got := map[string]bool{}
	for _, r := range review.Status.ResourceRules {
		if grantedToEveryone(r) {
			continue
		}
		for _, key := range ruleKeys(r.APIGroups, r.Resources, r.ResourceNames, r.Verbs) {
			got[key] = true
		}
	}
	wanted := map[string]bool{}
	for _, set := range want {
		for _, r := range set {
			for _, key := range ruleKeys(r.APIGroups, r.Resources, r.ResourceNames, r.Verbs) {
				wanted[key] = true
			}
		}
	}
	for key := range got {
		if !wanted[key] {
			extra = append(extra, key)
		}
	}
	for key := range wanted {
		if !got[key] {
			missing = append(missing, key)
		}
	}
	slices.Sort(extra)
	slices.Sort(missing)
	return extra, missing, nil
}

// grantedToEveryone reports whether a rule is one that Kubernetes grants every authenticated user
// (system:basic-user, system:discovery): reviews of one's own access.
func grantedToEveryone(r authzv1.ResourceRule) bool {
	for _, g := range r.APIGroups {
		if g != "authorization.k8s.io" && g != "authentication.k8s.io" {
			return false
		}
	}
	for _, res := range r.Resources {
		// selfsubjectaccessreviews, selfsubjectrulesreviews, selfsubjectreviews: not tokenreviews or
		// subjectaccessreviews, which are grants of their own.
		if !strings.HasPrefix(res, "selfsubject") {
			return false
		}
	}
	return true
}

// ruleKeys flattens a rule into "verb group/resource[/name]" keys.
func ruleKeys(groups, resources, names, verbs []string) []string {
	var out []string
	for _, g := range groups {
		for _, res := range resources {
			for _, v := range verbs {
				if len(names) == 0 {
					out = append(out, v+" "+g+"/"+res)
				}
				for _, n := range names {
					out = append(out, v+" "+g+"/"+res+"/"+n)
				}
			}
		}
	}
	return out
}
