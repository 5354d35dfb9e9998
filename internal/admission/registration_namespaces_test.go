package admission

import (
	"slices"
	"testing"

	"github.com/google/cel-go/cel"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"

	"github.com/vnfguard/vnfguard/internal/config"
)

// TestNamespacesWebhook: the webhook that sees updates and deletes of the protected Namespace objects has no
// namespaceSelector (the API server would match it against the new labels and miss the removal), fails closed,
// and its match condition on oldObject agrees with config.IsProtected for every kind of selector.
func TestNamespacesWebhook(t *testing.T) {
	env, err := cel.NewEnv(cel.Variable("oldObject", cel.DynType), cel.Variable("request", cel.DynType))
	if err != nil {
		t.Fatal(err)
	}
	namespaces := []struct {
		name   string
		labels map[string]string
	}{
		{"vnf-upf", map[string]string{"vnfguard.io/protected": "true"}},
		{"vnf-upf", map[string]string{"vnfguard.io/protected": "false"}},
		{"core", nil},
		{"edge-1", map[string]string{"tier": "5gc", "site": "edge"}},
		{"edge-2", map[string]string{"tier": "ran"}},
		{"lab", map[string]string{"tier": "web", "scratch": ""}},
		{"bare", nil},
	}
	for _, doc := range []string{
		"", // the default selector
		"protectedNamespaces: {names: [core, vnf-amf]}",
		"protectedNamespaces: {names: [core], selector: {matchExpressions: [{key: tier, operator: In, values: [5gc, ran]}]}}",
		"protectedNamespaces: {selector: {matchLabels: {tier: 5gc, site: edge}}}",
		"protectedNamespaces: {selector: {matchExpressions: [{key: tier, operator: NotIn, values: [web]}, {key: scratch, operator: DoesNotExist}]}}",
		"protectedNamespaces: {selector: {matchExpressions: [{key: site, operator: Exists}]}}",
	} {
		cfg := config.Default()
		if doc != "" {
			cfg = mustConfig(t, doc)
		}
		vwc := WebhookConfiguration(RegistrationOptions{Config: cfg, URL: "https://127.0.0.1:8443", CABundle: []byte(testCA)})
		i := slices.IndexFunc(vwc.Webhooks, func(w admissionregistrationv1.ValidatingWebhook) bool { return w.Name == NamespacesWebhook })
		if i < 0 {
			t.Fatalf("%q: no %s webhook among %v", doc, NamespacesWebhook, webhookNames(vwc))
		}
		w := vwc.Webhooks[i]
		if w.NamespaceSelector != nil || w.ObjectSelector != nil || *w.FailurePolicy != admissionregistrationv1.Fail {
			t.Errorf("%q: namespaceSelector %v objectSelector %v failurePolicy %s; want none, none, Fail", doc, w.NamespaceSelector, w.ObjectSelector, *w.FailurePolicy)
		}
		ops := map[string]string{}
		for _, r := range w.Rules {
			if r.Scope == nil || *r.Scope != admissionregistrationv1.ClusterScope {
				t.Errorf("%q: rule %+v is not cluster-scoped", doc, r)
			}
			for _, res := range r.Resources {
				for _, op := range r.Operations {
					ops[res] += string(op)
				}
			}
		}
		if want := map[string]string{"namespaces": "UPDATEDELETE", "namespaces/status": "UPDATE", "namespaces/finalize": "UPDATE"}; !mapsEqual(ops, want) {
			t.Errorf("%q: rules %v, want %v", doc, ops, want)
		}
		var cond string
		for _, mc := range w.MatchConditions {
			if mc.Name == "was-protected" {
				cond = mc.Expression
			}
		}
		ast, iss := env.Compile(cond)
		if iss.Err() != nil {
			t.Fatalf("%q: condition %s: %v", doc, cond, iss.Err())
		}
		prg, err := env.Program(ast)
		if err != nil {
			t.Fatal(err)
		}
		for _, ns := range namespaces {
			md := map[string]any{"name": ns.name}
			if ns.labels != nil {
				md["labels"] = ns.labels
			}
			out, _, err := prg.Eval(map[string]any{"oldObject": map[string]any{"metadata": md}, "request": map[string]any{}})
			if err != nil {
				t.Fatalf("%q: condition on %s %v: %v", doc, ns.name, ns.labels, err)
			}
			if got, want := out.Value() == true, cfg.IsProtected(ns.name, ns.labels); got != want {
				t.Errorf("%q: namespace %s %v: condition %v, config.IsProtected %v\n%s", doc, ns.name, ns.labels, got, want, cond)
			}
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
