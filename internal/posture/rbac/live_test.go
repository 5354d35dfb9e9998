package rbac

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/lab"
)

const liveNS = "vnf-live"

// liveSubject is who a SubjectAccessReview asks about: a user with the groups the authenticator would give it.
type liveSubject struct {
	user   string
	groups []string
}

// holds says whether one of the grants is to the user or one of its groups, as the RBAC authorizer decides.
func (s liveSubject) holds(grants []Grant) bool {
	for _, g := range grants {
		switch g.Subject.Kind {
		case rbacv1.UserKind:
			if g.Subject.Name == s.user {
				return true
			}
		case rbacv1.GroupKind:
			if slices.Contains(s.groups, g.Subject.Name) {
				return true
			}
		case rbacv1.ServiceAccountKind:
			if "system:serviceaccount:"+g.Subject.Namespace+":"+g.Subject.Name == s.user {
				return true
			}
		}
	}
	return false
}

// TestAnalyzeAgainstRealControlPlane seeds a real control plane (with kube-controller-manager, whose aggregation
// controller fills aggregated ClusterRoles) with risky RBAC — an anonymous binding, the default ServiceAccount of
// a protected namespace with exec and a pod mounting its token, an aggregated role, a `*/exec` wildcard, a rule
// limited by resourceNames, a dangling binding —, lists everything back, and checks that (1) the analysis's
// answer to every question agrees with the API server's own SubjectAccessReview for several subjects, (2) the
// same holds offline, with the aggregated role's rules emptied as an export may carry them, and (3) the findings
// report the seeded grants while Kubernetes' bootstrap policy yields nothing but the lab's administrators, low.
func TestAnalyzeAgainstRealControlPlane(t *testing.T) {
	ctx, cp := lab.StartForTest(t, 3*time.Minute)
	for _, ns := range []string{liveNS, "tools"} {
		if err := cp.EnsureNamespace(ctx, ns, nil); err != nil {
			t.Fatal(err)
		}
	}
	admin, _ := cp.ClientFor(lab.Admin)
	seed(ctx, t, admin)

	// The aggregation controller fills live-aggregated from its two labelled parts.
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		cr, err := admin.RbacV1().ClusterRoles().Get(ctx, "live-aggregated", metav1.GetOptions{})
		return err == nil && len(cr.Rules) == 2, nil
	})
	if err != nil {
		t.Fatalf("aggregation controller did not fill live-aggregated: %v", err)
	}

	in := list(ctx, t, admin)
	live := Analyze(in)
	if len(live.Warnings) > 0 {
		t.Errorf("warnings: %v", live.Warnings)
	}
	// Offline: aggregated roles exported without their rules must resolve to the same grants.
	offlineIn := in
	offlineIn.ClusterRoles = slices.Clone(in.ClusterRoles)
	emptied := 0
	for i := range offlineIn.ClusterRoles {
		if offlineIn.ClusterRoles[i].AggregationRule != nil {
			offlineIn.ClusterRoles[i].Rules = nil
			emptied++
		}
	}
	if emptied < 4 { // admin, edit, view and ours
		t.Fatalf("only %d aggregated ClusterRoles listed", emptied)
	}
	offline := Analyze(offlineIn)

	subjects := []liveSubject{
		{user: "system:anonymous", groups: []string{"system:unauthenticated"}},
		{user: "system:serviceaccount:" + liveNS + ":default", groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + liveNS, "system:authenticated"}},
		{user: "system:serviceaccount:tools:default", groups: []string{"system:serviceaccounts", "system:serviceaccounts:tools", "system:authenticated"}},
		{user: "victor", groups: []string{"system:authenticated"}},
		{user: "trent", groups: []string{"system:authenticated"}},
		{user: "nina", groups: []string{"system:authenticated"}},
		{user: "edith", groups: []string{"system:authenticated"}}, // bound to the built-in aggregated "edit"
		{user: lab.OpsAdmin, groups: []string{"system:authenticated"}},
	}
	requests := []Request{
		{Verb: "get", Resource: "pods", Subresource: "exec", Namespace: liveNS},
		{Verb: "create", Resource: "pods", Subresource: "exec", Namespace: liveNS},
		{Verb: "get", Resource: "pods", Subresource: "exec", Namespace: "tools"},
		{Verb: "create", Resource: "pods", Subresource: "attach", Namespace: liveNS},
		{Verb: "create", Resource: "pods", Subresource: "portforward", Namespace: liveNS},
		{Verb: "get", Resource: "pods", Subresource: "log", Namespace: liveNS},
		{Verb: "create", Resource: "pods", Namespace: liveNS},
		{Verb: "create", APIGroup: "apps", Resource: "deployments", Namespace: liveNS},
		{Verb: "create", APIGroup: "apps", Resource: "deployments", Namespace: "tools"},
		{Verb: "list", APIGroup: "apps", Resource: "deployments"},
		{Verb: "get", Resource: "secrets", Namespace: liveNS},
		{Verb: "get", Resource: "secrets", Name: "upf-keys", Namespace: liveNS},
		{Verb: "get", Resource: "secrets", Name: "other", Namespace: liveNS},
		{Verb: "list", Resource: "secrets"},
		{Verb: "get", Resource: "nodes", Subresource: "proxy"},
		{Verb: "patch", Resource: "pods", Subresource: "ephemeralcontainers", Namespace: liveNS},
		{Verb: "impersonate", Resource: "serviceaccounts", Namespace: liveNS},
		{Verb: "create", APIGroup: "rbac.authorization.k8s.io", Resource: "rolebindings", Namespace: liveNS},
		{Verb: "create", APIGroup: "authorization.k8s.io", Resource: "selfsubjectaccessreviews"},
	}
	checked, allowed := 0, 0
	for _, r := range requests {
		liveGrants, offlineGrants := live.WhoCanRequest(r), offline.WhoCanRequest(r)
		if a, b := grantLines(liveGrants), grantLines(offlineGrants); !slices.Equal(a, b) {
			t.Errorf("%+v: offline grants differ from live ones:\n  live    %q\n  offline %q", r, a, b)
		}
		for _, s := range subjects {
			sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User: s.user, Groups: s.groups,
				ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: r.Namespace, Verb: r.Verb, Group: r.APIGroup,
					Resource: r.Resource, Subresource: r.Subresource, Name: r.Name},
			}}
			got, err := admin.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			checked++
			if got.Status.Allowed {
				allowed++
			}
			if ours := s.holds(liveGrants); ours != got.Status.Allowed {
				t.Errorf("%s %+v: analysis says %v, the API server says %v (%s)", s.user, r, ours, got.Status.Allowed, got.Status.Reason)
			}
		}
	}
	// Both answers must occur, or the comparison proves nothing.
	if allowed == 0 || allowed == checked {
		t.Errorf("%d of %d reviews allowed: the comparison is one-sided", allowed, checked)
	}
	t.Logf("%d SubjectAccessReviews agree with the analysis (%d allowed)", checked, allowed)

	fs := live.Findings(time.Now())
	var lines []string
	for _, f := range fs {
		lines = append(lines, findingLine(f))
	}
	for _, want := range []string{
		"critical rbac-read-secrets User system:anonymous ClusterRoleBinding live-anonymous-secrets",
		"critical rbac-read-secrets Group system:unauthenticated ClusterRoleBinding live-anonymous-secrets",
		"high rbac-exec ServiceAccount vnf-live/default RoleBinding vnf-live/live-default-exec",
		"high rbac-mounted-token ServiceAccount vnf-live/default ServiceAccount vnf-live/default",
		"high rbac-exec User victor RoleBinding vnf-live/live-victor",
		"medium rbac-create-workloads User victor RoleBinding vnf-live/live-victor",
		"high rbac-exec User trent ClusterRoleBinding live-trent",
		"high rbac-wildcard User trent ClusterRoleBinding live-trent",
		"low rbac-read-secrets User nina RoleBinding vnf-live/live-nina",
		"low rbac-dangling-binding User hank RoleBinding vnf-live/live-dangling",
		"low rbac-wildcard User ops-admin ClusterRoleBinding lab-cluster-admin-ops-admin",
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("missing finding %q", want)
		}
	}
	if i := slices.IndexFunc(fs, func(f finding.Finding) bool {
		return f.Rule == "rbac-mounted-token" && f.Identity == "ServiceAccount vnf-live/default"
	}); i >= 0 && fs[i].Evidence["pods"] != "upf-0" {
		t.Errorf("mounted token names pods %q, want upf-0 (upf-1 opts out)", fs[i].Evidence["pods"])
	}
	ours := []string{"live-", "edith"}
	for _, f := range fs {
		seeded := slices.ContainsFunc(ours, func(s string) bool { return strings.Contains(f.Object.Name, s) || strings.Contains(f.Identity, s) }) ||
			f.Identity == "ServiceAccount vnf-live/default"
		// Everything else comes from Kubernetes' bootstrap policy and the lab's set-up: only its administrators,
		// reported low; no controller identity at all.
		if !seeded && (f.Severity != finding.Low || f.Evidence["subjectClass"] != classAdmin.String()) {
			t.Errorf("bootstrap noise: %s (%s)", findingLine(f), f.Message)
		}
	}
}

// seed creates the risky RBAC of the live test.
func seed(ctx context.Context, t *testing.T, c kubernetes.Interface) {
	t.Helper()
	rb := c.RbacV1()
	ref := func(kind, name string) rbacv1.RoleRef {
		return rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kind, Name: name}
	}
	user := func(name string) rbacv1.Subject {
		return rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: name}
	}
	must := func(what string, err error) {
		if err != nil {
			t.Fatalf("seed %s: %v", what, err)
		}
	}
	meta := func(name, ns string, labels map[string]string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels}
	}
	create := metav1.CreateOptions{}
	const aggLabel = "live.vnfguard.test/aggregate"
	for _, cr := range []*rbacv1.ClusterRole{
		{ObjectMeta: meta("live-secret-reader", "", nil), Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "watch"}}}},
		{ObjectMeta: meta("live-aggregated", "", nil), AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{aggLabel: "true"}}}}},
		{ObjectMeta: meta("live-part-exec", "", map[string]string{aggLabel: "true"}), Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods/exec", "pods/attach"}, Verbs: []string{"create"}}}},
		{ObjectMeta: meta("live-part-deploy", "", map[string]string{aggLabel: "true"}), Rules: []rbacv1.PolicyRule{{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"create", "list"}}}},
		{ObjectMeta: meta("live-any-exec", "", nil), Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"*/exec", "*/*"}, Verbs: []string{"get"}}}},
	} {
		_, err := rb.ClusterRoles().Create(ctx, cr, create)
		must("ClusterRole "+cr.Name, err)
	}
	for _, r := range []*rbacv1.Role{
		{ObjectMeta: meta("live-exec", liveNS, nil), Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"get", "create"}}}},
		{ObjectMeta: meta("live-one-secret", liveNS, nil), Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"upf-keys"}, Verbs: []string{"get"}}}},
	} {
		_, err := rb.Roles(r.Namespace).Create(ctx, r, create)
		must("Role "+r.Name, err)
	}
	for _, b := range []*rbacv1.ClusterRoleBinding{
		{ObjectMeta: meta("live-anonymous-secrets", "", nil), RoleRef: ref("ClusterRole", "live-secret-reader"),
			Subjects: []rbacv1.Subject{user("system:anonymous"), {APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "system:unauthenticated"}}},
		{ObjectMeta: meta("live-trent", "", nil), RoleRef: ref("ClusterRole", "live-any-exec"), Subjects: []rbacv1.Subject{user("trent")}},
	} {
		_, err := rb.ClusterRoleBindings().Create(ctx, b, create)
		must("ClusterRoleBinding "+b.Name, err)
	}
	for _, b := range []*rbacv1.RoleBinding{
		{ObjectMeta: meta("live-default-exec", liveNS, nil), RoleRef: ref("Role", "live-exec"),
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "default", Namespace: liveNS}}},
		{ObjectMeta: meta("live-victor", liveNS, nil), RoleRef: ref("ClusterRole", "live-aggregated"), Subjects: []rbacv1.Subject{user("victor")}},
		{ObjectMeta: meta("live-nina", liveNS, nil), RoleRef: ref("Role", "live-one-secret"), Subjects: []rbacv1.Subject{user("nina")}},
		{ObjectMeta: meta("live-edith", "tools", nil), RoleRef: ref("ClusterRole", "edit"), Subjects: []rbacv1.Subject{user("edith")}},
		{ObjectMeta: meta("live-dangling", liveNS, nil), RoleRef: ref("Role", "live-never-created"), Subjects: []rbacv1.Subject{user("hank")}},
	} {
		_, err := rb.RoleBindings(b.Namespace).Create(ctx, b, create)
		must("RoleBinding "+b.Name, err)
	}
	no := false
	for _, p := range []*corev1.Pod{
		{ObjectMeta: meta("upf-0", liveNS, nil), Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "upf", Image: "upf:1"}}}},
		{ObjectMeta: meta("upf-1", liveNS, nil), Spec: corev1.PodSpec{AutomountServiceAccountToken: &no, Containers: []corev1.Container{{Name: "upf", Image: "upf:1"}}}},
	} {
		_, err := c.CoreV1().Pods(p.Namespace).Create(ctx, p, create)
		must("Pod "+p.Name, err)
	}
}

// list reads back what the analysis needs, as a live scan does.
func list(ctx context.Context, t *testing.T, c kubernetes.Interface) Input {
	t.Helper()
	all := metav1.ListOptions{}
	in := Input{Protected: func(ns string) bool { return ns == liveNS }}
	roles, err := c.RbacV1().Roles("").List(ctx, all)
	if err != nil {
		t.Fatal(fmt.Errorf("list Roles: %w", err))
	}
	in.Roles = roles.Items
	crs, err := c.RbacV1().ClusterRoles().List(ctx, all)
	if err != nil {
		t.Fatal(fmt.Errorf("list ClusterRoles: %w", err))
	}
	in.ClusterRoles = crs.Items
	rbs, err := c.RbacV1().RoleBindings("").List(ctx, all)
	if err != nil {
		t.Fatal(fmt.Errorf("list RoleBindings: %w", err))
	}
	in.RoleBindings = rbs.Items
	crbs, err := c.RbacV1().ClusterRoleBindings().List(ctx, all)
	if err != nil {
		t.Fatal(fmt.Errorf("list ClusterRoleBindings: %w", err))
	}
	in.ClusterRoleBindings = crbs.Items
	pods, err := c.CoreV1().Pods("").List(ctx, all)
	if err != nil {
		t.Fatal(fmt.Errorf("list Pods: %w", err))
	}
	in.Pods = pods.Items
	sas, err := c.CoreV1().ServiceAccounts("").List(ctx, all)
	if err != nil {
		t.Fatal(fmt.Errorf("list ServiceAccounts: %w", err))
	}
	in.ServiceAccounts = sas.Items
	return in
}
