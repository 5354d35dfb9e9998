package rbac

import (
	"slices"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FuzzParseResource checks that any "resource[.group][/sub]" splits without loss.
func FuzzParseResource(f *testing.F) {
	for _, s := range []string{"pods", "pods/exec", "deployments.apps", "foo.example.com/status", "", ".", "/", "a./b", "*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		res, group := ParseResource(s)
		s = strings.TrimSpace(s)
		head, sub, hasSub := strings.Cut(s, "/")
		if hasSub && !strings.HasSuffix(res, "/"+sub) {
			t.Errorf("ParseResource(%q) = %q, %q: subresource %q lost", s, res, group, sub)
		}
		if strings.Contains(head, ".") && res[:strings.IndexByte(res+"/", '/')]+"."+group != head {
			t.Errorf("ParseResource(%q) = %q, %q: does not rebuild %q", s, res, group, head)
		}
	})
}

// FuzzAnalyzeRules feeds arbitrary rules, labels and subjects to the analysis: it must never panic, and every
// grant WhoCan returns must come from a rule that names the verb (or *).
func FuzzAnalyzeRules(f *testing.F) {
	f.Add("get,create", "", "pods/exec,*/exec", "", "get", "pods", "exec", "vnf-a", "User", "alice")
	f.Add("*", "*", "*", "x", "delete", "secrets", "", "", "Group", "system:authenticated")
	f.Add("escalate", "rbac.authorization.k8s.io", "clusterroles", "", "escalate", "clusterroles.rbac.authorization.k8s.io", "", "", "ServiceAccount", "default")
	f.Fuzz(func(t *testing.T, verbs, groups, resources, names, verb, resource, sub, ns, kind, subject string) {
		split := func(s string) []string {
			if s == "" {
				return nil
			}
			return strings.Split(s, ",")
		}
		rule := rbacv1.PolicyRule{Verbs: split(verbs), APIGroups: split(groups), Resources: split(resources), ResourceNames: split(names)}
		subj := rbacv1.Subject{Kind: kind, Name: subject}
		in := Input{
			ClusterRoles: []rbacv1.ClusterRole{
				{ObjectMeta: metav1.ObjectMeta{Name: "fuzzed", Labels: map[string]string{"agg": "true"}}, Rules: []rbacv1.PolicyRule{rule}},
				{ObjectMeta: metav1.ObjectMeta{Name: "agg", Labels: map[string]string{"agg": "true"}}, AggregationRule: &rbacv1.AggregationRule{
					ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"agg": "true"}}, {MatchLabels: map[string]string{"bad key!": resource}}}}},
			},
			Roles:               []rbacv1.Role{{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: ns}, Rules: []rbacv1.PolicyRule{rule}}},
			RoleBindings:        []rbacv1.RoleBinding{{ObjectMeta: metav1.ObjectMeta{Name: "rb", Namespace: ns}, RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "r"}, Subjects: []rbacv1.Subject{subj}}},
			ClusterRoleBindings: []rbacv1.ClusterRoleBinding{{ObjectMeta: metav1.ObjectMeta{Name: "crb"}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "agg"}, Subjects: []rbacv1.Subject{subj}}},
			Protected:           func(n string) bool { return strings.HasPrefix(n, "vnf") },
		}
		a := Analyze(in)
		for _, g := range a.WhoCan(verb, resource, sub, ns) {
			if !slices.Contains(g.Rule.Verbs, verb) && !slices.Contains(g.Rule.Verbs, rbacv1.VerbAll) {
				t.Errorf("grant %+v for verb %q", g, verb)
			}
		}
		for _, fd := range a.Findings(time.Time{}) {
			if fd.ID == "" || fd.Message == "" {
				t.Errorf("malformed finding %+v", fd)
			}
		}
	})
}
