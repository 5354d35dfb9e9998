package rbac

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Scale of the benchmark (issue 5, part 7): 10 000 roles and 10 000 bindings naming 50 000 subjects.
const (
	benchNamespaces   = 200
	benchRoles        = 8000
	benchClusterRoles = 2000
	benchRoleBindings = 9000
	benchCRBs         = 1000
	benchSubjectsPer  = 5
	benchPods         = 5000
)

// benchRules cycles through benign and risky rules, so that about one role in four grants something reported.
var benchRules = [][]rbacv1.PolicyRule{
	{{APIGroups: []string{""}, Resources: []string{"configmaps", "services"}, Verbs: []string{"get", "list", "watch"}}},
	{{APIGroups: []string{"apps"}, Resources: []string{"deployments", "statefulsets"}, Verbs: []string{"get", "list"}}},
	{{APIGroups: []string{""}, Resources: []string{"pods", "pods/log"}, Verbs: []string{"get", "list"}}, {APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}}},
	{{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"create", "update", "patch"}}},
	{{APIGroups: []string{"batch"}, Resources: []string{"jobs", "cronjobs"}, Verbs: []string{"get", "list", "watch"}}},
	{{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"get"}}},
	{{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"tls"}, Verbs: []string{"get"}}},
	{{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"networkpolicies", "ingresses"}, Verbs: []string{"get", "list"}}},
}

// benchInput generates the benchmark's cluster.
func benchInput() Input {
	ns := func(i int) string {
		if i%2 == 0 {
			return fmt.Sprintf("vnf-%d", i%benchNamespaces)
		}
		return fmt.Sprintf("team-%d", i%benchNamespaces)
	}
	var in Input
	in.Protected = func(n string) bool { return len(n) > 4 && n[:4] == "vnf-" }
	for i := range benchRoles {
		in.Roles = append(in.Roles, rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("role-%d", i), Namespace: ns(i)}, Rules: benchRules[i%len(benchRules)]})
	}
	for i := range benchClusterRoles {
		cr := rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("clusterrole-%d", i), Labels: map[string]string{"bench/agg": fmt.Sprint(i % 10)}}}
		switch {
		case i < 10: // aggregated, exported empty
			cr.AggregationRule = &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"bench/agg": fmt.Sprint((i + 1) % 10)}}}}
			cr.Labels = nil
		case i%97 == 0:
			cr.Rules = []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}}
		default:
			cr.Rules = benchRules[i%len(benchRules)]
		}
		in.ClusterRoles = append(in.ClusterRoles, cr)
	}
	subject := 0
	subjects := func() []rbacv1.Subject {
		out := make([]rbacv1.Subject, benchSubjectsPer)
		for j := range out {
			subject++
			switch subject % 20 {
			case 0:
				out[j] = rbacv1.Subject{Kind: rbacv1.GroupKind, Name: fmt.Sprintf("group-%d", subject%500)}
			case 1, 2, 3, 4, 5, 6, 7:
				out[j] = rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: fmt.Sprintf("sa-%d", subject%50), Namespace: ns(subject)}
			case 8:
				out[j] = rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "default", Namespace: ns(subject)}
			default:
				out[j] = rbacv1.Subject{Kind: rbacv1.UserKind, Name: fmt.Sprintf("user-%d", subject)}
			}
		}
		return out
	}
	for i := range benchRoleBindings {
		ref := rbacv1.RoleRef{Kind: "Role", Name: fmt.Sprintf("role-%d", i%benchRoles)}
		if i%5 == 0 {
			ref = rbacv1.RoleRef{Kind: "ClusterRole", Name: fmt.Sprintf("clusterrole-%d", i%benchClusterRoles)}
		}
		in.RoleBindings = append(in.RoleBindings, rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("rb-%d", i), Namespace: ns(i % benchRoles)}, RoleRef: ref, Subjects: subjects()})
	}
	for i := range benchCRBs {
		in.ClusterRoleBindings = append(in.ClusterRoleBindings, rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("crb-%d", i)},
			RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: fmt.Sprintf("clusterrole-%d", (i*7)%benchClusterRoles)}, Subjects: subjects()})
	}
	for i := range benchPods {
		in.Pods = append(in.Pods, corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pod-%d", i), Namespace: ns(i)},
			Spec: corev1.PodSpec{ServiceAccountName: fmt.Sprintf("sa-%d", i%50)}})
	}
	return in
}

func TestBenchInputScale(t *testing.T) {
	in := benchInput()
	subjects := 0
	for _, b := range in.RoleBindings {
		subjects += len(b.Subjects)
	}
	for _, b := range in.ClusterRoleBindings {
		subjects += len(b.Subjects)
	}
	if n := len(in.Roles) + len(in.ClusterRoles); n != 10000 {
		t.Errorf("%d roles", n)
	}
	if n := len(in.RoleBindings) + len(in.ClusterRoleBindings); n != 10000 {
		t.Errorf("%d bindings", n)
	}
	if subjects != 50000 {
		t.Errorf("%d subjects", subjects)
	}
	a := Analyze(in)
	if len(a.Warnings) > 0 {
		t.Errorf("warnings: %v", a.Warnings[:min(3, len(a.Warnings))])
	}
	if fs := a.Findings(time.Now()); len(fs) < 1000 {
		t.Errorf("only %d findings: the benchmark would measure too little", len(fs))
	}
}

// BenchmarkAnalyze measures a whole RBAC scan of a large cluster: Analyze, Findings and a few WhoCan questions.
// Run: go test -run '^$' -bench BenchmarkAnalyze -benchmem -cpu 1 ./internal/posture/rbac/
func BenchmarkAnalyze(b *testing.B) {
	in := benchInput()
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	var findings, grants int
	for b.Loop() {
		a := Analyze(in)
		findings = len(a.Findings(now))
		grants = len(a.WhoCan("create", "pods", "exec", "vnf-2")) + len(a.WhoCan("get", "pods", "exec", "team-3")) +
			len(a.WhoCan("create", "deployments", "", "vnf-4")) + len(a.WhoCan("get", "secrets", "", "")) +
			len(a.WhoCan("get", "nodes", "proxy", ""))
	}
	b.ReportMetric(float64(findings), "findings")
	b.ReportMetric(float64(grants), "grants")
}
