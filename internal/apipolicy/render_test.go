package apipolicy

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/ext"
	admregv1 "k8s.io/api/admissionregistration/v1"
	authnv1 "k8s.io/api/authentication/v1"

	"github.com/vnfguard/vnfguard/internal/config"
)

func parse(t *testing.T, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte("apiVersion: vnfguard.io/v1alpha1\nkind: Config\ninventory: {file: inv.yaml}\n" + yaml))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// eval evaluates a rendered CEL condition with cel-go, the API server's CEL, over a request and a namespace.
func eval(t *testing.T, expr string, request, namespace map[string]any) bool {
	t.Helper()
	env, err := cel.NewEnv(cel.OptionalTypes(), ext.Strings(),
		cel.Variable("request", cel.DynType), cel.Variable("namespaceObject", cel.DynType))
	if err != nil {
		t.Fatal(err)
	}
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		t.Fatalf("%s: %v", expr, iss.Err())
	}
	prg, err := env.Program(ast)
	if err != nil {
		t.Fatal(err)
	}
	var ns any = namespace
	if namespace == nil {
		ns = nil
	}
	out, _, err := prg.Eval(map[string]any{"request": request, "namespaceObject": ns})
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return out.Value().(bool)
}

// The rendered protection condition says what config.Config.IsProtected says, for names, labels and every selector
// operator.
func TestProtectedMatchesConfig(t *testing.T) {
	cfg := parse(t, `protectedNamespaces:
  names: [vnf-core]
  selector:
    matchLabels: {vnfguard.io/protected: "true"}
    matchExpressions:
      - {key: tier, operator: In, values: [core, edge]}
      - {key: scratch, operator: DoesNotExist}
      - {key: env, operator: NotIn, values: [lab]}
      - {key: owner, operator: Exists}
`)
	r := &renderer{cfg: cfg}
	expr, err := r.protected()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		labels map[string]string
	}{
		{"vnf-core", nil},
		{"a", nil},
		{"b", map[string]string{"vnfguard.io/protected": "true", "tier": "core", "owner": "x"}},
		{"c", map[string]string{"vnfguard.io/protected": "true", "tier": "core", "owner": "x", "scratch": ""}},
		{"d", map[string]string{"vnfguard.io/protected": "true", "tier": "core", "owner": "x", "env": "lab"}},
		{"e", map[string]string{"vnfguard.io/protected": "true", "tier": "core", "owner": "x", "env": "prod"}},
		{"f", map[string]string{"vnfguard.io/protected": "false", "tier": "core", "owner": "x"}},
		{"g", map[string]string{"vnfguard.io/protected": "true", "tier": "lab", "owner": "x"}},
		{"h", map[string]string{"vnfguard.io/protected": "true", "tier": "edge"}},
	}
	for _, c := range cases {
		labels := map[string]any{}
		for k, v := range c.labels {
			labels[k] = v
		}
		ns := map[string]any{"metadata": map[string]any{"name": c.name, "labels": labels}}
		if c.labels == nil {
			ns = map[string]any{"metadata": map[string]any{"name": c.name}}
		}
		got := eval(t, expr, map[string]any{"namespace": c.name}, ns)
		if want := cfg.IsProtected(c.name, c.labels); got != want {
			t.Errorf("namespace %s %v: CEL says protected=%v, the configuration %v", c.name, c.labels, got, want)
		}
	}
	if eval(t, expr, map[string]any{"namespace": ""}, nil) {
		t.Error("a cluster-scoped request (no namespaceObject) is protected")
	}
	bad := parse(t, "protectedNamespaces: {selector: {matchLabels: {a: b}}}\n")
	bad.ProtectedNamespaces.Selector.MatchExpressions = append(bad.ProtectedNamespaces.Selector.MatchExpressions, struct {
		Key      string   `yaml:"key"`
		Operator string   `yaml:"operator"`
		Values   []string `yaml:"values"`
	}{Key: "k", Operator: "Gt"})
	if _, err := Render(bad); err == nil || !strings.Contains(err.Error(), `operator "Gt"`) {
		t.Errorf("an operator the API server's selector lacks renders: %v", err)
	}
}

// The rendered identity condition says what config.IdentitySet.Matches says.
func TestIdentityMatchesConfig(t *testing.T) {
	set := config.IdentitySet{Users: []string{"tacker"}, Groups: []string{"vnfm", `quote"d`}, ServiceAccounts: []string{"nfvo:tacker", "mano:*"}}
	users := []authnv1.UserInfo{
		{Username: "tacker"}, {Username: "mallory", Groups: []string{"system:authenticated"}}, {Username: "x", Groups: []string{"vnfm"}},
		{Username: "y", Groups: []string{`quote"d`}}, {Username: "system:serviceaccount:nfvo:tacker"}, {Username: "system:serviceaccount:nfvo:other"},
		{Username: "system:serviceaccount:mano:anything"}, {Username: "system:serviceaccount:manofake:x"},
	}
	expr := identity(set)
	for _, u := range users {
		groups := make([]any, len(u.Groups))
		for i, g := range u.Groups {
			groups[i] = g
		}
		got := eval(t, expr, map[string]any{"userInfo": map[string]any{"username": u.Username, "groups": groups}}, nil)
		if want := set.Matches(&u); got != want {
			t.Errorf("%s %v: CEL says %v, the configuration %v", u.Username, u.Groups, got, want)
		}
	}
	if identity(config.IdentitySet{}) != "false" {
		t.Error("an empty identity set matches someone")
	}
}

// Render makes one policy and one binding per twin, in the check's configured mode, the lifecycle twins with the
// VNFLifecycle parameters (allowed when absent: the policies refuse themselves in protected namespaces).
func TestRender(t *testing.T) {
	cfg := parse(t, "checks: {reverse-shell: {mode: warn}, host-takeover: {mode: audit}}\n")
	set, err := Render(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := set.Names(); !slices.Equal(got, prefixed(Checks())) {
		t.Fatalf("policies %v, want one per twin %v", got, Checks())
	}
	for i, p := range set.Policies {
		b := set.Bindings[i]
		check := p.Annotations[CheckAnnotation]
		if b.Name != p.Name || b.Spec.PolicyName != p.Name || p.Labels[ManagedByLabel] != ManagedBy {
			t.Errorf("%s: binding %s for %s, labels %v", p.Name, b.Name, b.Spec.PolicyName, p.Labels)
		}
		if p.Spec.FailurePolicy == nil || *p.Spec.FailurePolicy != admregv1.Fail {
			t.Errorf("%s: failurePolicy %v, want Fail", p.Name, p.Spec.FailurePolicy)
		}
		want := admregv1.Deny
		switch check {
		case "reverse-shell":
			want = admregv1.Warn
		case "host-takeover":
			want = admregv1.Audit
		}
		if !slices.Equal(b.Spec.ValidationActions, []admregv1.ValidationAction{want}) {
			t.Errorf("%s: actions %v, want %s", p.Name, b.Spec.ValidationActions, want)
		}
		params := p.Spec.ParamKind != nil
		if params != slices.Contains([]string{"lifecycle-access", "lifecycle-data", "vnf-instantiation"}, check) {
			t.Errorf("%s: paramKind %v", p.Name, p.Spec.ParamKind)
		}
		if params && (p.Spec.ParamKind.Kind != ParamsKind || b.Spec.ParamRef == nil || b.Spec.ParamRef.Name != ParamsName ||
			*b.Spec.ParamRef.ParameterNotFoundAction != admregv1.AllowAction) {
			t.Errorf("%s: parameters %v %v", p.Name, p.Spec.ParamKind, b.Spec.ParamRef)
		}
		for _, v := range p.Spec.Validations {
			if !strings.Contains(v.Message, "["+check+" ") {
				t.Errorf("%s: message %q does not name the check as the webhook does", p.Name, v.Message)
			}
		}
	}
	off := parse(t, "podSecurity: {everywhere: privileged, protected: privileged}\n")
	set, err = Render(off)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(set.Names(), Prefix+"pod-security") {
		t.Error("pod-security twin rendered although every level is privileged")
	}
}

func prefixed(checks []string) []string {
	out := make([]string, len(checks))
	for i, c := range checks {
		out[i] = Prefix + c
	}
	return out
}
