package apipolicy

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/ext"
	admregv1 "k8s.io/api/admissionregistration/v1"
	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

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

// Render makes one policy and binding per group of twins and mode — the pod and workload twins together, so that
// the API server converts the object once — each validation naming its check, the lifecycle twins' policies with
// the VNFLifecycle parameters (allowed when absent: the policies refuse themselves in protected namespaces).
func TestRender(t *testing.T) {
	cfg := parse(t, "checks: {reverse-shell: {mode: warn}, host-takeover: {mode: audit}}\n")
	set, err := Render(cfg)
	if err != nil {
		t.Fatal(err)
	}
	joint := PolicyName(JointGroup, config.Enforce)
	want := []string{PolicyName("workloads", config.Audit), Prefix + "kubelet-session", Prefix + "lifecycle", Prefix + "lifecycle-access", Prefix + "namespace-protection", Prefix + "params-guard", joint,
		Prefix + "workloads", Prefix + "workloads-warn"}
	slices.Sort(want)
	if got := set.Names(); !slices.Equal(got, want) {
		t.Fatalf("policies %v, want %v", got, want)
	}
	var seen, jointChecks []string
	for _, p := range set.Policies {
		bindings := set.BindingsOf(p.Name)
		if len(bindings) == 0 {
			t.Fatalf("%s: no binding", p.Name)
		}
		b := bindings[0]
		checks := strings.Split(p.Annotations[CheckAnnotation], ",")
		if p.Name == joint {
			jointChecks = checks
		} else {
			seen = append(seen, checks...)
		}
		if p.Labels[ManagedByLabel] != ManagedBy || !slices.Contains(PolicyNames(), p.Name) {
			t.Errorf("%s: labels %v, not among the names RBAC grants", p.Name, p.Labels)
		}
		for _, b := range bindings {
			if !slices.Contains(PolicyNames(), b.Name) || b.Spec.PolicyName != p.Name {
				t.Errorf("binding %s of %s: not among the names RBAC grants, or binds %s", b.Name, p.Name, b.Spec.PolicyName)
			}
		}
		if p.Spec.FailurePolicy == nil || *p.Spec.FailurePolicy != admregv1.Fail {
			t.Errorf("%s: failurePolicy %v, want Fail", p.Name, p.Spec.FailurePolicy)
		}
		want := admregv1.Deny
		switch {
		case strings.HasSuffix(p.Name, "-warn"):
			want = admregv1.Warn
		case strings.HasSuffix(p.Name, "-audit"):
			want = admregv1.Audit
		}
		for _, c := range checks {
			if actions(cfg.ModeOf(c))[0] != want {
				t.Errorf("%s holds check %s in mode %s", p.Name, c, cfg.ModeOf(c))
			}
		}
		if !slices.Equal(b.Spec.ValidationActions, []admregv1.ValidationAction{want}) {
			t.Errorf("%s: actions %v, want %s", p.Name, b.Spec.ValidationActions, want)
		}
		params := p.Spec.ParamKind != nil
		if wantParams := slices.ContainsFunc(checks, func(c string) bool {
			return slices.Contains([]string{"lifecycle-access", "lifecycle-data", "vnf-instantiation"}, c)
		}); params != wantParams {
			t.Errorf("%s: paramKind %v", p.Name, p.Spec.ParamKind)
		}
		// Where a binding applies: a joint policy only in the protected namespaces (the default protects by label);
		// the policies of its groups only outside them; another policy with parameters in both; one without, everywhere.
		notFound := map[string]admregv1.ParameterNotFoundActionType{}
		for _, b := range bindings {
			if (b.Spec.ParamRef != nil) != params || params && b.Spec.ParamRef.Name != ParamsName {
				t.Errorf("%s: paramRef %v", b.Name, b.Spec.ParamRef)
				continue
			}
			if params {
				notFound[b.Name] = *b.Spec.ParamRef.ParameterNotFoundAction
			}
		}
		grouped := p.Name == Prefix+"workloads" || p.Name == Prefix+"lifecycle"
		switch {
		case p.Name == joint:
			if len(bindings) != 1 || notFound[p.Name+byLabel] != admregv1.DenyAction || !constantProtected(p, "true") {
				t.Errorf("%s: bindings %v, protected not the constant true", p.Name, notFound)
			}
		case grouped:
			if len(bindings) != 1 || b.Spec.MatchResources == nil || len(b.Spec.MatchResources.NamespaceSelector.MatchExpressions) != 1 ||
				params && notFound[p.Name] != admregv1.AllowAction || !constantProtected(p, "false") {
				t.Errorf("%s: binding %+v, protected not the constant false", p.Name, b.Spec)
			}
		case params:
			if len(bindings) != 2 || notFound[p.Name] != admregv1.AllowAction || notFound[p.Name+protectedByLabel] != admregv1.DenyAction {
				t.Errorf("%s: bindings %v", p.Name, notFound)
			}
		default:
			if len(bindings) != 1 || b.Spec.MatchResources != nil {
				t.Errorf("%s: %d bindings for a policy without parameters, the first %+v", p.Name, len(bindings), b.Spec)
			}
		}
		for _, v := range p.Spec.Validations {
			if !slices.ContainsFunc(checks, func(c string) bool { return strings.Contains(v.Message, "["+c+" ") }) {
				t.Errorf("%s: message %q names none of its checks %v as the webhook would", p.Name, v.Message, checks)
			}
		}
	}
	slices.Sort(seen)
	if !slices.Equal(seen, Checks()) {
		t.Errorf("the policies hold the twins %v, want every twin once: %v", seen, Checks())
	}
	var grouped []string
	for _, name := range []string{Prefix + "workloads", Prefix + "lifecycle"} {
		for _, p := range set.Policies {
			if p.Name == name {
				grouped = append(grouped, strings.Split(p.Annotations[CheckAnnotation], ",")...)
			}
		}
	}
	slices.Sort(grouped)
	if !slices.Equal(jointChecks, grouped) {
		t.Errorf("the joint policy holds %v, want the twins of its groups in its mode: %v", jointChecks, grouped)
	}
	off := parse(t, "podSecurity: {everywhere: privileged, protected: privileged}\n")
	set, err = Render(off)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range set.Policies {
		if strings.Contains(p.Annotations[CheckAnnotation], "pod-security") {
			t.Error("pod-security twin rendered although every level is privileged")
		}
	}
}

// constantProtected says whether the policy's "protected" was the constant value and written into its readers
// (inlineVariables): no such variable, no read of it, and the twins' "!variables.protected ||" now "!value ||".
func constantProtected(p admregv1.ValidatingAdmissionPolicy, value string) bool {
	if variable(p, "protected") != "" {
		return false
	}
	written := false
	for _, e := range expressionsOf(&p.Spec) {
		if strings.Contains(*e, "variables.protected") {
			return false
		}
		written = written || strings.Contains(*e, "!"+value+" ||")
	}
	return written
}

// variable is the expression of a policy's variable, "" when it has none of that name.
func variable(p admregv1.ValidatingAdmissionPolicy, name string) string {
	for _, v := range p.Spec.Variables {
		if v.Name == name {
			return v.Expression
		}
	}
	return ""
}

// A twin's validations apply only to what the twin matches, inside a policy that matches more: vnf-instantiation's
// gate leaves VolumeSnapshots (lifecycle-data's) alone.
func TestGateOf(t *testing.T) {
	set, err := Render(parse(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range set.Policies {
		if p.Name != Prefix+"lifecycle" {
			continue
		}
		for _, v := range p.Spec.Validations {
			snapshots := strings.Contains(v.Message, "[lifecycle-data ")
			gate, _, found := strings.Cut(strings.TrimPrefix(v.Expression, "!variables."), " || ")
			gated := found && strings.HasPrefix(v.Expression, "!variables.applies") && strings.Contains(variable(p, gate), "request.resource.resource")
			if gated == snapshots {
				t.Errorf("validation %q: gated by resource %v", v.Message, gated)
			}
		}
		return
	}
	t.Fatal("no lifecycle policy")
}

// The binding for the namespaces that are not protected leaves out exactly the protected ones where the selector
// allows it, so that a protected namespace is judged once.
func TestBindingsSplitProtection(t *testing.T) {
	set, err := Render(parse(t, "protectedNamespaces: {names: [vnf-core], selector: {matchLabels: {vnfguard.io/protected: \"true\"}}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range set.BindingsOf(Prefix + "lifecycle-access") {
		sel := b.Spec.MatchResources.NamespaceSelector
		switch b.Name {
		case Prefix + "lifecycle-access":
			if len(sel.MatchExpressions) != 2 || sel.MatchExpressions[0].Operator != "NotIn" || sel.MatchExpressions[1].Operator != "NotIn" ||
				sel.MatchExpressions[1].Key != "vnfguard.io/protected" {
				t.Errorf("others: %+v", sel)
			}
		case Prefix + "lifecycle-access" + protectedByName:
			if sel.MatchExpressions[0].Operator != "In" || sel.MatchExpressions[0].Values[0] != "vnf-core" {
				t.Errorf("by name: %+v", sel)
			}
		case Prefix + "lifecycle-access" + protectedByLabel:
			if sel.MatchLabels["vnfguard.io/protected"] != "true" {
				t.Errorf("by label: %+v", sel)
			}
		default:
			t.Errorf("unexpected binding %s", b.Name)
		}
	}
	if n := len(set.BindingsOf(Prefix + "lifecycle-access")); n != 3 {
		t.Errorf("%d bindings, want 3", n)
	}
}

// The bindings' namespace selectors divide the namespaces as config.Config.IsProtected does: where the selector can
// be inverted, each namespace is selected by exactly one of them (so a protected namespace is judged once, by the
// joint policy, and an unprotected one never by it); where it cannot, the protected ones are still selected by one
// protected binding only, and every unprotected one by the others' binding.
func TestScopeDividesNamespaces(t *testing.T) {
	namespaces := []struct {
		name   string
		labels map[string]string
	}{
		{"vnf-core", nil},
		{"vnf-core", map[string]string{"vnfguard.io/protected": "true"}},
		{"default", nil},
		{"labelled", map[string]string{"vnfguard.io/protected": "true"}},
		{"other-value", map[string]string{"vnfguard.io/protected": "false"}},
		{"tiered", map[string]string{"tier": "core"}},
		{"both", map[string]string{"vnfguard.io/protected": "true", "tier": "core"}},
	}
	for _, tc := range []struct {
		yaml  string
		exact bool
	}{
		{"", true},
		{"protectedNamespaces: {names: [vnf-core]}\n", true},
		{"protectedNamespaces: {names: [vnf-core], selector: {matchLabels: {vnfguard.io/protected: \"true\"}}}\n", true},
		{"protectedNamespaces: {selector: {matchExpressions: [{key: tier, operator: NotIn, values: [core]}]}}\n", true},
		{"protectedNamespaces: {names: [vnf-core], selector: {matchExpressions: [{key: tier, operator: Exists}]}}\n", true},
		{"protectedNamespaces: {names: [vnf-core], selector: {matchLabels: {vnfguard.io/protected: \"true\", tier: core}}}\n", false},
	} {
		cfg := parse(t, tc.yaml)
		s, err := (&renderer{cfg: cfg}).scope()
		if err != nil {
			t.Fatal(err)
		}
		if s.exact != tc.exact {
			t.Errorf("%q: exact %v, want %v", tc.yaml, s.exact, tc.exact)
		}
		selects := func(sel *metav1.LabelSelector, name string, nsLabels map[string]string) bool {
			if sel == nil {
				return false
			}
			all := map[string]string{"kubernetes.io/metadata.name": name}
			for k, v := range nsLabels {
				all[k] = v
			}
			ls, err := metav1.LabelSelectorAsSelector(sel)
			if err != nil {
				t.Fatal(err)
			}
			return ls.Matches(labels.Set(all))
		}
		for _, ns := range namespaces {
			protected := cfg.IsProtected(ns.name, ns.labels)
			others := selects(s.others, ns.name, ns.labels)
			byName, byLabel := selects(s.byName, ns.name, ns.labels), selects(s.byLabel, ns.name, ns.labels)
			if protected != (byName || byLabel) || byName && byLabel {
				t.Errorf("%q: namespace %s %v: protected %v, by name %v, by label %v", tc.yaml, ns.name, ns.labels, protected, byName, byLabel)
			}
			if !protected && !others || tc.exact && protected && others {
				t.Errorf("%q: namespace %s %v: protected %v, selected by the others' binding %v", tc.yaml, ns.name, ns.labels, protected, others)
			}
		}
	}
}

// Without the parameters' kind, the Set keeps no policy that reads them, and the workload twins are bound in every
// namespace: no joint policy judges them in the protected ones then.
func TestWithoutParams(t *testing.T) {
	set, err := Render(parse(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(set.Names(), PolicyName(JointGroup, config.Enforce)) {
		t.Fatalf("policies %v: no joint policy", set.Names())
	}
	without := set.WithoutParams()
	if got, want := without.Names(), []string{Prefix + "kubelet-session", Prefix + "namespace-protection", Prefix + "params-guard", Prefix + "workloads"}; !slices.Equal(got, want) {
		t.Fatalf("without parameters: policies %v, want %v", got, want)
	}
	for _, b := range without.Bindings {
		if b.Spec.MatchResources != nil || b.Spec.ParamRef != nil {
			t.Errorf("binding %s: %+v, want every namespace without parameters", b.Name, b.Spec)
		}
	}
	for _, p := range without.Policies {
		if p.Name != Prefix+"workloads" {
			continue
		}
		readsNamespace := slices.ContainsFunc(expressionsOf(&p.Spec), func(e *string) bool { return strings.Contains(*e, "namespaceObject") })
		if constantProtected(p, "false") || !readsNamespace {
			t.Error("the workloads policy bound everywhere takes every namespace for unprotected: it does not read the namespace's protection")
		}
	}
}

// TestDropUnreadVariables: a spec declares the variables its validations, message expressions, audit annotations and
// match conditions read, through other variables too (variables.x and variables.?x), in their order; a variable
// only a dropped message read goes; an expression that names variables another way keeps them all; and one that
// does not parse is an error.
func TestDropUnreadVariables(t *testing.T) {
	vars := func(names ...string) []admregv1.Variable {
		var out []admregv1.Variable
		for _, n := range names {
			out = append(out, admregv1.Variable{Name: n, Expression: map[string]string{
				"a": "variables.b.size() > 0", "b": "object.spec.?containers.orValue([])", "c": "1", "d": "variables.?e.orValue(0)",
				"e": "2", "f": "3", "g": "4", "h": "5"}[n]})
		}
		return out
	}
	names := func(vs []admregv1.Variable) []string {
		var out []string
		for _, v := range vs {
			out = append(out, v.Name)
		}
		return out
	}
	spec := &admregv1.ValidatingAdmissionPolicySpec{
		Variables:        vars("a", "b", "c", "d", "e", "f", "g", "h"),
		Validations:      []admregv1.Validation{{Expression: "variables.a"}, {Expression: "true", MessageExpression: "string(variables.g)"}},
		AuditAnnotations: []admregv1.AuditAnnotation{{Key: "k", ValueExpression: "string(variables.d)"}},
		MatchConditions:  []admregv1.MatchCondition{{Name: "m", Expression: "variables.h == 5"}},
	}
	declared := func() []string {
		t.Helper()
		s := spec.DeepCopy()
		if err := dropUnreadVariables(s, parsedExpressions{}); err != nil {
			t.Fatal(err)
		}
		return names(s.Variables)
	}
	if got, want := declared(), []string{"a", "b", "d", "e", "g", "h"}; !slices.Equal(got, want) {
		t.Errorf("declared variables %v, want %v (c and f are read by nothing)", got, want)
	}
	spec.Validations[1].MessageExpression = ""
	if got, want := declared(), []string{"a", "b", "d", "e", "h"}; !slices.Equal(got, want) {
		t.Errorf("without the message expression: declared variables %v, want %v", got, want)
	}
	spec.Variables[2].Expression = "variables.f + 1" // c, read by nothing, reads f: both go
	if got, want := declared(), []string{"a", "b", "d", "e", "h"}; !slices.Equal(got, want) {
		t.Errorf("c reads f, nothing reads c: declared variables %v, want %v", got, want)
	}
	spec.Validations = append(spec.Validations, admregv1.Validation{Expression: "variables['c'] == 1"})
	if got := declared(); len(got) != 8 {
		t.Errorf("an expression reads variables['c']: declared variables %v, want all eight", got)
	}
	spec.Validations[2].Expression = "variables.a &&"
	if err := dropUnreadVariables(spec.DeepCopy(), parsedExpressions{}); err == nil || !strings.Contains(err.Error(), "variables.a &&") {
		t.Errorf("an expression that does not parse: error %v, want one that names it", err)
	}
}

// TestRenderedVariablesAllRead: every variable of every rendered policy is read by something, with static and with
// detailed messages, and the static joint policies declare fewer than the detailed ones (their messages' variables).
func TestRenderedVariablesAllRead(t *testing.T) {
	count := map[string]int{}
	for _, messages := range []string{"static", "detailed"} {
		set, err := Render(parse(t, "admission: {mode: policies, policyMessages: "+messages+"}\n"))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range set.Policies {
			read := p.Spec.DeepCopy()
			if err := dropUnreadVariables(read, parsedExpressions{}); err != nil {
				t.Fatal(err)
			}
			if len(read.Variables) != len(p.Spec.Variables) {
				t.Errorf("%s messages, policy %s: %d variables, %d of them read", messages, p.Name, len(p.Spec.Variables), len(read.Variables))
			}
			count[messages+" "+p.Name] = len(p.Spec.Variables)
		}
	}
	if s, d := count["static "+PolicyName("protected", config.Enforce)], count["detailed "+PolicyName("protected", config.Enforce)]; s == 0 || s >= d {
		t.Errorf("the protected namespaces' policy declares %d variables with static messages, %d with detailed: want fewer", s, d)
	}
}

// BenchmarkRender is what serve and `vnfguard admission-policies` pay once per configuration: both sets (with and
// without the parameters), their variables written out (inlineVariables parses every expression with cel-go).
//
//	go test -run '^$' -bench Render -benchmem ./internal/apipolicy/
func BenchmarkRender(b *testing.B) {
	cfg, err := config.Parse([]byte("apiVersion: vnfguard.io/v1alpha1\nkind: Config\ninventory: {file: inv.yaml}\n"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(cfg); err != nil {
			b.Fatal(err)
		}
	}
}
