package danger

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

func TestGrantCases(t *testing.T) {
	for _, tc := range GrantCases {
		got := DangerousGrants(tc.Rules)
		if (len(got) > 0) != tc.Dangerous {
			t.Errorf("%s: grants %v, the table says dangerous=%v", tc.Name, got, tc.Dangerous)
		}
	}
}

func TestBindingCases(t *testing.T) {
	for _, tc := range BindingCases {
		got := PowerfulBinding(tc.Binding)
		if (len(got) > 0) != tc.Powerful {
			t.Errorf("%s: %v, the table says powerful=%v", tc.Name, got, tc.Powerful)
		}
	}
}

// TestGrantsDetail: what each grant names, and that apiGroups and resourceNames count as in the API server.
func TestGrantsDetail(t *testing.T) {
	rules := []rbacv1.PolicyRule{
		rule(core, []string{"pods", "pods/exec"}, []string{"create", "get"}),
		rule(core, []string{"secrets"}, []string{"get"}, "a", "b"),
	}
	gs := Grants(rules)
	want := []string{"create pods", "create pods/exec", "get pods/exec", "get secrets"}
	if len(gs) != len(want) {
		t.Fatalf("Grants = %+v, want %v", gs, want)
	}
	for i, g := range gs {
		if g.What != want[i] {
			t.Errorf("grant %d = %q, want %q", i, g.What, want[i])
		}
	}
	if gs[3].Names == nil || gs[3].Rule != 1 || gs[0].Names != nil {
		t.Errorf("resourceNames not carried: %+v", gs)
	}
}

func TestRuleAllows(t *testing.T) {
	r := rule([]string{"*"}, []string{"*/exec"}, []string{"*"})
	if !RuleAllows(&r, &Request{Verb: "get", Resource: "pods", Subresource: "exec"}) {
		t.Error("*/exec with * verbs should allow get pods/exec")
	}
	if RuleAllows(&r, &Request{Verb: "get", Resource: "pods"}) {
		t.Error("*/exec should not allow get pods")
	}
}
