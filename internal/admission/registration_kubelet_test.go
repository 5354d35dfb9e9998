package admission

import (
	"slices"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apiserver/pkg/cel/environment"

	"github.com/google/cel-go/cel"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/danger"
)

// kubelet.vnfguard.io fails closed on CONNECT nodes/proxy, cluster-scoped, and its one match condition, compiled in
// the API server's own CEL environment, sends exactly the paths danger.KubeletSessionOf calls a session: a metrics
// scrape through the proxy never waits on vnfguard, and an outage never opens a session.
func TestKubeletWebhook(t *testing.T) {
	vwc := WebhookConfiguration(RegistrationOptions{Config: config.Default(), URL: "https://127.0.0.1:8443", CABundle: []byte(testCA)})
	i := slices.IndexFunc(vwc.Webhooks, func(w admissionregistrationv1.ValidatingWebhook) bool { return w.Name == KubeletWebhook })
	if i < 0 {
		t.Fatalf("no %s in %v", KubeletWebhook, webhookNames(vwc))
	}
	hook := &vwc.Webhooks[i]
	if *hook.FailurePolicy != admissionregistrationv1.Fail || hook.NamespaceSelector != nil || hook.ObjectSelector != nil {
		t.Errorf("failurePolicy %s, namespaceSelector %v, objectSelector %v; want Fail and no selector", *hook.FailurePolicy, hook.NamespaceSelector, hook.ObjectSelector)
	}
	if len(hook.Rules) != 1 || len(hook.Rules[0].Resources) != 1 || hook.Rules[0].Resources[0] != "nodes/proxy" ||
		len(hook.Rules[0].Operations) != 1 || hook.Rules[0].Operations[0] != admissionregistrationv1.Connect ||
		*hook.Rules[0].Scope != admissionregistrationv1.ClusterScope {
		t.Errorf("rules %+v, want CONNECT on nodes/proxy, cluster-scoped", hook.Rules)
	}
	if len(hook.MatchConditions) != 1 {
		t.Fatalf("matchConditions %+v, want the session condition alone", hook.MatchConditions)
	}
	env, err := environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion(), true).NewExpressionsEnv().Extend(
		cel.Variable("request", cel.DynType), cel.Variable("object", cel.DynType), cel.Variable("oldObject", cel.DynType))
	if err != nil {
		t.Fatal(err)
	}
	ast, iss := env.Compile(hook.MatchConditions[0].Expression)
	if iss.Err() != nil {
		t.Fatal(iss.Err())
	}
	prg, err := env.Program(ast)
	if err != nil {
		t.Fatal(err)
	}
	sent := func(object map[string]any) bool {
		out, _, err := prg.Eval(map[string]any{"request": map[string]any{}, "object": object, "oldObject": nil})
		if err != nil {
			t.Fatalf("object %v: %v", object, err)
		}
		return out.Value() == true
	}
	for _, c := range danger.KubeletSessionCases {
		if got := sent(map[string]any{"kind": "NodeProxyOptions", "path": c.Path}); got != c.Session {
			t.Errorf("path %q: sent %v, want %v", c.Path, got, c.Session)
		}
	}
	if sent(map[string]any{"kind": "NodeProxyOptions"}) {
		t.Error("a request without a path (the kubelet's root) is sent")
	}
}
