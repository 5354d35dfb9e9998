package rbac

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/vnfguard/vnfguard/internal/danger"
	"github.com/vnfguard/vnfguard/internal/lab"
)

// TestGrantCasesAgainstRealControlPlane is the differential test of danger.Grants, the one definition detection's
// dangerousGrants() and these checks use: each role of danger.GrantCases is bound to a user of its own in a real
// kube-apiserver, and for every request of danger.DangerousRequests the API server's SubjectAccessReview (its RBAC
// authorizer) must answer exactly as danger.Grants says (rules limited by resourceNames and wildcard shapes aside,
// which a nameless review cannot ask about).
func TestGrantCasesAgainstRealControlPlane(t *testing.T) {
	ctx, cp := lab.StartForTest(t, 3*time.Minute)
	admin, _ := cp.ClientFor(lab.Admin)
	for i, tc := range danger.GrantCases {
		name := fmt.Sprintf("grant-case-%d", i)
		if _, err := admin.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: tc.Rules}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("%s: %v", tc.Name, err)
		}
		if _, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}}}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("%s: %v", tc.Name, err)
		}
	}
	// The authorizer reads RBAC from its informers: wait until the last case's grant is seen.
	last := len(danger.GrantCases) - 1
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := admin.RbacV1().ClusterRoleBindings().Get(ctx, fmt.Sprintf("grant-case-%d", last), metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		// A known grant of case 0 (create pods/exec) must be visible to the authorizer.
		return review(ctx, t, admin, "grant-case-0", danger.DangerousRequest{Verb: "create", Resource: "pods", Sub: "exec"}), nil
	})
	if err != nil {
		t.Fatalf("the authorizer did not see the seeded roles: %v", err)
	}
	time.Sleep(time.Second) // the remaining bindings were created before the probe's: let the informer catch up
	checked, allowed := 0, 0
	for i, tc := range danger.GrantCases {
		user := fmt.Sprintf("grant-case-%d", i)
		var want []string
		for _, g := range danger.Grants(tc.Rules) {
			if g.Kind != danger.GrantWildcard && g.Names == nil && !slices.Contains(want, g.What) {
				want = append(want, g.What)
			}
		}
		for _, d := range danger.DangerousRequests {
			got := review(ctx, t, admin, user, d)
			checked++
			if got {
				allowed++
			}
			if got != slices.Contains(want, d.String()) {
				t.Errorf("%s: %s: the API server says allowed=%v, danger.Grants says %v", tc.Name, d, got, !got)
			}
		}
	}
	t.Logf("%d SubjectAccessReviews agree with danger.Grants (%d allowed)", checked, allowed)
}

// review asks the API server whether user may make request d cluster-wide.
func review(ctx context.Context, t *testing.T, admin kubernetes.Interface, user string, d danger.DangerousRequest) bool {
	t.Helper()
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: user, Groups: []string{"system:authenticated"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: d.Verb, Group: d.Group, Resource: d.Resource, Subresource: d.Sub}}}
	got, err := admin.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("SubjectAccessReview %s for %s: %v", d, user, err)
	}
	return got.Status.Allowed
}
