package auditpolicy

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apiserver/pkg/audit/policy"
)

const head = "apiVersion: audit.k8s.io/v1\nkind: Policy\n"

// parseCases are bad and odd policies, with what Parse must say (the error's text and line, 0 for none) or "" for
// a policy kube-apiserver accepts.
var parseCases = []struct {
	name, in string
	wantErr  string
	wantLine int
	warning  string
}{
	{"empty", "", "empty file", 0, ""},
	{"blank", " \n\t\n", "empty file", 0, ""},
	{"syntax", head + "rules: [\n", "not YAML or JSON", 3, ""},
	{"binary", "\x00\x01\x02", "not YAML or JSON", 0, ""},
	{"a list", "- a\n- b\n", "not an audit policy", 1, ""},
	{"another kind", "apiVersion: v1\nkind: ConfigMap\n", "not an audit policy", 0, ""},
	{"v1beta1", "apiVersion: audit.k8s.io/v1beta1\nkind: Policy\nrules:\n- level: None\n", "audit.k8s.io/v1beta1", 0, ""},
	{"no apiVersion", "kind: Policy\nrules:\n- level: None\n", "no apiVersion", 0, ""},
	{"no rules", head + "rules: []\n", "no rules", 3, ""},
	{"rules absent", head + "omitStages: [RequestReceived]\n", "no rules", 0, ""},
	{"bad level", head + "rules:\n- level: None\n- level: Everything\n", `rules[1].level: Unsupported value: "Everything"`, 5, ""},
	{"misspelt level", head + "rules:\n- levle: Metadata\n", "rules[0].level: Required value", 4, `unknown field "rules[0].levle"`},
	{"bad stage", head + "rules:\n- level: Metadata\n  omitStages: [Later]\n", `rules[0].omitStages[0]: Invalid value: "Later"`, 5, ""},
	{"bad policy stage", head + "omitStages: [Soon]\nrules:\n- level: Metadata\n", `omitStages[0]: Invalid value: "Soon"`, 3, ""},
	{"resources and URLs", head + "rules:\n- level: Metadata\n  nonResourceURLs: [/api]\n  resources:\n  - group: \"\"\n", "rules[0].nonResourceURLs", 5, ""},
	{"ignored field", head + "rules:\n- level: Metadata\n  omitStage: [ResponseStarted]\n", "", 0, `test.yaml:5: unknown field "rules[0].omitStage"`},
	{"json", `{"apiVersion":"audit.k8s.io/v1","kind":"Policy","rules":[{"level":"Metadata"}]}`, "", 0, ""},
	{"no kind", "apiVersion: audit.k8s.io/v1\nrules:\n- level: None\n", "", 0, ""},
}

func TestParseErrors(t *testing.T) {
	for _, tt := range parseCases {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse("test.yaml", []byte(tt.in))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("error %v, want the policy accepted", err)
				}
				if tt.warning != "" && !strings.Contains(strings.Join(p.Warnings, "\n"), tt.warning) {
					t.Errorf("warnings %q, want %q", p.Warnings, tt.warning)
				}
				return
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T), want a *ParseError", err, err)
			}
			if pe.File != "test.yaml" || pe.Line != tt.wantLine || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q (line %d), want %q at line %d", err, pe.Line, tt.wantErr, tt.wantLine)
			}
			if tt.warning != "" && !strings.Contains(err.Error(), tt.warning) {
				t.Errorf("error %q does not name the ignored field %q", err, tt.warning)
			}
		})
	}
}

// Parse accepts exactly what kube-apiserver's own loader accepts.
func TestParseAgreesWithAPIServer(t *testing.T) {
	inputs := map[string][]byte{"recommended": Recommended()}
	for _, tt := range parseCases {
		inputs[tt.name] = []byte(tt.in)
	}
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs[f] = data
	}
	for name, data := range inputs {
		_, ours := Parse(name, data)
		theirs, apiErr := policy.LoadPolicyFromBytes(data)
		if (ours == nil) != (apiErr == nil) {
			t.Errorf("%s: Parse error %v, kube-apiserver's loader error %v", name, ours, apiErr)
		}
		if ours == nil && theirs == nil {
			t.Errorf("%s: accepted without a policy", name)
		}
	}
}

func TestRecommendedParses(t *testing.T) {
	p := RecommendedPolicy()
	if len(p.Warnings) > 0 {
		t.Errorf("the recommended policy has fields kube-apiserver ignores: %v", p.Warnings)
	}
	for i, l := range p.ruleLines {
		if l == 0 {
			t.Errorf("rules[%d] has no line", i)
		}
	}
}

// A field given twice is taken as kube-apiserver takes it, the last one: the rules in force, and their lines, are
// those of the second "rules" (the fuzzer found the lines counted from the first).
func TestParseDuplicateRulesTakesTheLast(t *testing.T) {
	data := []byte(`apiVersion: audit.k8s.io/v1
kind: Policy
rules:
  - level: None
  - level: Metadata
  - level: Request
rules:
  - level: RequestResponse
    resources: [{group: "", resources: ["pods"]}]
  - level: Metadata
`)
	p, err := Parse("dup.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := policy.LoadPolicyFromBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	if p.Rules() != 2 || len(theirs.Rules) != 2 || string(theirs.Rules[0].Level) != "RequestResponse" {
		t.Fatalf("rules: ours %d, kube-apiserver's %d (%v); want the second list's 2", p.Rules(), len(theirs.Rules), theirs.Rules)
	}
	if want := []int{8, 10}; !slices.Equal(p.ruleLines, want) {
		t.Errorf("rule lines %v, want %v (the second list's)", p.ruleLines, want)
	}
}
