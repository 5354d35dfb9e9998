package apipolicy

import (
	"maps"
	"slices"
	"strings"
	"testing"

	admregv1 "k8s.io/api/admissionregistration/v1"

	"github.com/vnfguard/vnfguard/internal/config"
)

// TestInlineVariables: constants are written in wherever read; a variable read once outside every comprehension,
// and a cheap one read at most three times outside every comprehension, are written into their readers; a variable
// read in a comprehension's loop or result (where a name of its text could mean the comprehension's own variable),
// read otherwise than by name, or named in a string stays declared; an expression that reads variables[...] keeps
// them all.
func TestInlineVariables(t *testing.T) {
	spec := func() *admregv1.ValidatingAdmissionPolicySpec {
		return &admregv1.ValidatingAdmissionPolicySpec{
			Variables: []admregv1.Variable{
				{Name: "on", Expression: "true"},
				{Name: "s", Expression: "object.spec"},
				{Name: "sChanged", Expression: "oldObject == null || oldObject.spec != variables.s"},
				{Name: "names", Expression: "variables.s.containers.map(c, c.name)"},
				{Name: "once", Expression: "variables.names.size()"},
				{Name: "inLoop", Expression: "object.metadata.name.size()"},
				{Name: "twice", Expression: "variables.names.filter(n, n.startsWith('x'))"},
				{Name: "kind", Expression: "request.kind.kind == 'Pod'"},
				{Name: "optional", Expression: "1"},
				{Name: "quoted", Expression: "2"},
				{Name: "user", Expression: "request.userInfo.username"},
			},
			Validations: []admregv1.Validation{
				{Expression: "!variables.on || variables.sChanged || variables.once > 0"},
				{Expression: "variables.names.all(n, n.size() < variables.inLoop && variables.on)"},
				{Expression: "variables.twice.size() == 0 || variables.kind", MessageExpression: "string(variables.twice) + 'variables.quoted'"},
				{Expression: "variables.kind && variables.?optional.orValue(0) == 1 && variables.quoted == 2"},
				{Expression: "cel.bind(request, 'shadow', variables.user) != ''"},
			},
			AuditAnnotations: []admregv1.AuditAnnotation{{Key: "kind", ValueExpression: "variables.kind ? 'pod' : 'other'"}},
		}
	}
	s := spec()
	if err := inlineVariables(s, parsedExpressions{}); err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, v := range s.Variables {
		kept = append(kept, v.Name)
	}
	// s is cheap and read twice (sChanged is not s); names is read by once, by twice and as a comprehension's range (three
	// times, not cheap).
	if want := []string{"names", "inLoop", "twice", "optional", "quoted", "user"}; !slices.Equal(kept, want) {
		t.Errorf("declared after inlining: %v, want %v", kept, want)
	}
	if got := s.Variables[0].Expression; got != "(object.spec).containers.map(c, c.name)" {
		t.Errorf("names: %q", got)
	}
	want := []string{
		"!true || (oldObject == null || oldObject.spec != (object.spec)) || (variables.names.size()) > 0",
		"variables.names.all(n, n.size() < variables.inLoop && true)",
		"variables.twice.size() == 0 || (request.kind.kind == 'Pod')",
		"(request.kind.kind == 'Pod') && variables.?optional.orValue(0) == 1 && variables.quoted == 2",
		"cel.bind(request, 'shadow', variables.user) != ''",
	}
	for i, v := range s.Validations {
		if v.Expression != want[i] {
			t.Errorf("validation %d: %q, want %q", i, v.Expression, want[i])
		}
	}
	if got := s.AuditAnnotations[0].ValueExpression; got != "(request.kind.kind == 'Pod') ? 'pod' : 'other'" {
		t.Errorf("audit annotation: %q", got)
	}
	if got := s.Validations[2].MessageExpression; got != "string(variables.twice) + 'variables.quoted'" {
		t.Errorf("message: %q (a string is not a read)", got)
	}

	// A fourth read of the cheap variable keeps it.
	s = spec()
	s.Validations = append(s.Validations, admregv1.Validation{Expression: "variables.kind"})
	if err := inlineVariables(s, parsedExpressions{}); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(s.Variables, func(v admregv1.Variable) bool { return v.Name == "kind" }) {
		t.Error("a cheap variable read four times was written out")
	}

	// variables[...] may read any of them: nothing is written out.
	s = spec()
	s.Validations = append(s.Validations, admregv1.Validation{Expression: "variables['once'] > 0"})
	if err := inlineVariables(s, parsedExpressions{}); err != nil {
		t.Fatal(err)
	}
	if len(s.Variables) != len(spec().Variables) || s.Validations[0].Expression != spec().Validations[0].Expression {
		t.Errorf("with variables['once'] read: %d variables, first validation %q; want all kept as they were", len(s.Variables), s.Validations[0].Expression)
	}

	// An expression that does not parse is an error that names it, not a policy half rewritten.
	s = spec()
	s.Validations[0].Expression = "variables.on ||"
	if err := inlineVariables(s, parsedExpressions{}); err == nil || !strings.Contains(err.Error(), "variables.on ||") {
		t.Errorf("an expression that does not parse: %v", err)
	}
}

// TestRenderedInlined: the policies Render makes declare no variable inlineVariables would write out, read no
// variable they do not declare, and the protected namespaces' joint policy declares fewer than its twins do.
func TestRenderedInlined(t *testing.T) {
	for _, messages := range []string{"static", "detailed"} {
		set, err := Render(parse(t, "admission: {mode: policies, policyMessages: "+messages+"}\n"))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range set.Policies {
			before := len(p.Spec.Variables)
			again := p.Spec.DeepCopy()
			if err := inlineVariables(again, parsedExpressions{}); err != nil {
				t.Fatal(err)
			}
			if len(again.Variables) != before {
				t.Errorf("%s messages, policy %s: %d variables, %d after inlining again", messages, p.Name, before, len(again.Variables))
			}
			declared := map[string]bool{}
			for _, v := range p.Spec.Variables {
				declared[v.Name] = true
			}
			for _, e := range expressionsOf(&p.Spec) {
				if *e == "" {
					continue
				}
				parsed, err := parsedExpressions{}.of(*e)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range parsed.reads {
					if !declared[r.name] {
						t.Errorf("%s messages, policy %s: reads variables.%s, which it does not declare: %s", messages, p.Name, r.name, *e)
					}
				}
			}
		}
	}
	cfg := parse(t, "admission: {mode: policies}\n")
	r := &renderer{cfg: cfg}
	groups, err := r.group(func(t twin) string { return PolicyName(t.group, config.Enforce) })
	if err != nil {
		t.Fatal(err)
	}
	twinVars := map[string]bool{}
	for _, g := range jointGroups {
		for _, p := range groups[PolicyName(g, config.Enforce)] {
			for _, v := range p.spec.Variables {
				twinVars[v.Name] = true
			}
		}
	}
	set, err := Render(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range set.Policies {
		if p.Name == PolicyName(JointGroup, config.Enforce) && len(p.Spec.Variables) >= len(twinVars) {
			t.Errorf("the joint policy declares %d variables, its twins %d (%v): want fewer", len(p.Spec.Variables), len(twinVars), slices.Sorted(maps.Keys(twinVars)))
		}
	}
}
