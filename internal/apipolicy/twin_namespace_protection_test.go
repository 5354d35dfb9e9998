package apipolicy

import (
	"context"
	"fmt"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/policy"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// The twin refuses what check namespace-protection refuses, and nothing else: a protected namespace's label removed
// or changed (by an update of the namespace, its status or finalize), a protected namespace deleted (by name or by
// label), by anyone but an administrator; and it lets through every other change of a namespace.
func TestNamespaceProtectionTwin(t *testing.T) {
	cfg := parse(t, `protectedNamespaces:
  names: [vnf-5gc]
  selector: {matchLabels: {vnfguard.io/protected: "true"}}
identities:
  administrators: {users: [alice], groups: ["vnfguard:admins"]}
`)
	c := compileSpec(t, twinSpec(t, cfg, "namespace-protection"))
	ns := func(name string, labels map[string]string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	}
	protected := map[string]string{"vnfguard.io/protected": "true", "team": "core"}
	cases := []struct {
		name     string
		old, new *corev1.Namespace // new nil: a DELETE
		sub      string
	}{
		{"label removed", ns("vnf-upf", protected), ns("vnf-upf", map[string]string{"team": "core"}), ""},
		{"label changed", ns("vnf-upf", protected), ns("vnf-upf", map[string]string{"vnfguard.io/protected": "false"}), ""},
		{"every label removed", ns("vnf-upf", protected), ns("vnf-upf", nil), ""},
		{"label removed through status", ns("vnf-upf", protected), ns("vnf-upf", nil), "status"},
		{"label removed through finalize", ns("vnf-upf", protected), ns("vnf-upf", nil), "finalize"},
		{"another label changed", ns("vnf-upf", protected), ns("vnf-upf", map[string]string{"vnfguard.io/protected": "true", "team": "edge"}), ""},
		{"label added", ns("sandbox", nil), ns("sandbox", protected), ""},
		{"unprotected namespace's labels changed", ns("sandbox", map[string]string{"team": "a"}), ns("sandbox", nil), ""},
		{"protected by name, label removed", ns("vnf-5gc", protected), ns("vnf-5gc", nil), ""},
		{"protected by label, deleted", ns("vnf-upf", protected), nil, ""},
		{"protected by name, deleted", ns("vnf-5gc", nil), nil, ""},
		{"unprotected, deleted", ns("sandbox", nil), nil, ""},
	}
	users := map[string]authnv1.UserInfo{
		"mallory":         {Username: "mallory", Groups: []string{"system:authenticated"}},
		"alice":           {Username: "alice", Groups: []string{"system:authenticated"}},
		"an admins' user": {Username: "bob", Groups: []string{"vnfguard:admins"}},
	}
	refused := 0
	for _, tc := range cases {
		for who, user := range users {
			desc := fmt.Sprintf("%s by %s", tc.name, who)
			_, failed := c.eval(t, namespaceInput(t, tc.old, tc.new, tc.sub, user))
			goRefuses := len(namespaceDenials(t, cfg, tc.old, tc.new, tc.sub, user)) > 0
			if (len(failed) > 0) != goRefuses {
				t.Errorf("%s: the twin refuses %v, the check refuses %v", desc, failed, goRefuses)
			}
			if len(failed) > 0 {
				refused++
				if !containsAll(failed[0], "Namespace "+tc.old.Name+": [namespace-protection FGT5013]", user.Username, "only vnfguard administrators") {
					t.Errorf("%s: message %q does not name the check, the namespace and the user", desc, failed[0])
				}
			}
		}
	}
	if refused != 7 {
		t.Errorf("%d requests refused, want 7 (the five ways out of protection and two deletions, by mallory)", refused)
	}
	// Nothing protected: nothing to judge.
	if spec := twinSpec(t, parse(t, "protectedNamespaces: {names: []}\n"), "namespace-protection"); spec != nil {
		t.Errorf("with no namespace protected the twin renders %+v, want nothing", spec)
	}
}

// namespaceInput is what the API server gives a policy for an UPDATE (new set) or DELETE of a Namespace: no
// namespaceObject, the namespace's name as the request's.
func namespaceInput(t *testing.T, old, new *corev1.Namespace, sub string, user authnv1.UserInfo) map[string]any {
	t.Helper()
	op, object := "DELETE", any(nil)
	if new != nil {
		op, object = "UPDATE", unstructuredOf(t, new)
	}
	groups := make([]any, len(user.Groups))
	for i, g := range user.Groups {
		groups[i] = g
	}
	return map[string]any{
		"request": map[string]any{"namespace": old.Name, "name": old.Name, "operation": op, "subResource": sub, "kind": map[string]any{"kind": "Namespace"},
			"userInfo": map[string]any{"username": user.Username, "groups": groups}},
		"object": object, "oldObject": unstructuredOf(t, old), "namespaceObject": nil,
	}
}

// namespaceDenials are check namespace-protection's denials of the same request.
func namespaceDenials(t *testing.T, cfg *config.Config, old, new *corev1.Namespace, sub string, user authnv1.UserInfo) []policy.Violation {
	t.Helper()
	ev, err := policy.New(policy.Environment{Config: cfg, Inventory: staticInventory{vnf.NewSnapshot("test", "v1", time.Now(), nil)}, Namespaces: staticNamespaces{}})
	if err != nil {
		t.Fatal(err)
	}
	req := &policy.Request{UID: "u", Operation: policy.Update, Kind: corev1.SchemeGroupVersion.WithKind("Namespace"),
		Resource: corev1.SchemeGroupVersion.WithResource("namespaces"), SubResource: sub, Name: old.Name, Namespace: old.Name,
		Object: new, OldObject: old, User: user}
	if new == nil {
		req.Operation, req.Object = policy.Delete, nil
	}
	var out []policy.Violation
	for _, v := range ev.Evaluate(context.Background(), req).Denials {
		if v.Check == "namespace-protection" {
			out = append(out, v)
		}
	}
	return out
}
