package detect

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/vnfguard/vnfguard/internal/finding"
)

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		file string
		want []string // each must occur in the error text
	}{
		{"cel-type.yaml", []string{"cel-type.yaml:4:16: rule type-error: condition: has type string, want bool"}},
		{"cel-syntax-block.yaml", []string{
			"cel-syntax-block.yaml:8:37: rule syntax-error: condition: Syntax error: mismatched input ')'",
			"cel-syntax-block.yaml:13:45: rule folded-error: condition: undeclared reference to 'nosuchvar'",
			"cel-syntax-block.yaml:17:45: rule plain-multiline-error: condition: undeclared reference to 'nosuchvar'"}},
		{"cel-undeclared.yaml", []string{"cel-undeclared.yaml:3:40: rule undeclared: condition: undeclared reference to 'nosuchvar'"}},
		{"output.yaml", []string{"output.yaml:4:", "rule bad-output: output: undeclared reference to 'nosuch'"}},
		{"unclosed-output.yaml", []string{"unclosed-output.yaml:4:19: rule unclosed: output: unclosed ${"}},
		{"unknown-field.yaml", []string{"unknown-field.yaml:3:5:", `unknown field "condtion"`}},
		{"severity.yaml", []string{"severity.yaml:4:15: rule sev:", `unknown severity "urgent"`}},
		{"technique.yaml", []string{"technique.yaml:5:16: rule tech:", `unknown technique "T1609"`}},
		{"mitigation.yaml", []string{"mitigation.yaml:5:26: rule mit:", `unknown mitigation "M9999"`}},
		{"dup.yaml", []string{"dup.yaml:5:5: rule same: duplicate id (first at line 2)"}},
		{"no-condition.yaml", []string{"no-condition.yaml:2:5: rule nocond: condition is required"}},
		{"no-id.yaml", []string{"no-id.yaml:2:5: id is required"}},
		{"top-key.yaml", []string{"top-key.yaml:1:1:", `unknown key "rule"`}},
		{"syntax.yaml", []string{"syntax.yaml: not valid YAML"}},
		{"not-list.yaml", []string{"not-list.yaml:1:8: rules: want a list"}},
		// A misspelt field of the event is a compile error at its position, in conditions and outputs alike.
		{"cel-field-typo.yaml", []string{"cel-field-typo.yaml:5:22: rule typo: condition: undefined field 'resourc'",
			"cel-field-typo.yaml:9:", "rule typo-in-output: output: undefined field 'usernme'"}},
		// Empty rule files are errors, not packs of no rules.
		{"empty.yaml", []string{"empty.yaml: the file is empty: a rule file holds a rules: list with at least one rule"}},
		{"comment-only.yaml", []string{"comment-only.yaml: the file is empty"}},
		{"no-rules.yaml", []string{"no-rules.yaml:1:1: no rules"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			rules, err := LoadPaths(filepath.Join("testdata", "bad", tt.file))
			if err == nil {
				t.Fatalf("loaded %d rules, want an error", len(rules))
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
			var pe *PositionError
			if !errors.As(err, &pe) || pe.File == "" {
				t.Errorf("error %v is not a *PositionError naming the file", err)
			}
		})
	}
}

func TestLoadUserRulesOverride(t *testing.T) {
	pack, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	user, err := LoadPaths(filepath.Join("testdata", "user", "override.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	merged, err := Merge(pack, user)
	if err != nil {
		t.Fatal(err)
	}
	if len(merged) != len(pack)+1 {
		t.Fatalf("merged %d rules, want %d (one replaced, one added)", len(merged), len(pack)+1)
	}
	byID := map[string]*Rule{}
	for _, r := range merged {
		byID[r.ID] = r
	}
	if r := byID["exec-running-vnf"]; r == nil || r.Enabled || !strings.Contains(r.Source, "override.yaml") {
		t.Errorf("exec-running-vnf not replaced by the disabled user rule: %+v", r)
	}
	site := byID["site-exec-anywhere"]
	if site == nil || site.Severity != finding.Low || len(site.Tags) != 1 || site.Tags[0] != "site" {
		t.Fatalf("user rule not added as written: %+v", site)
	}
	e, err := NewEngine(merged, Env{})
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Rules()) != len(merged)-1 {
		t.Errorf("engine has %d rules, want the %d enabled ones", len(e.Rules()), len(merged)-1)
	}
	// The directory holds a second file that defines site-exec-anywhere again: an error naming both places.
	_, err = LoadPaths(filepath.Join("testdata", "user"))
	if err == nil || !strings.Contains(err.Error(), "rule site-exec-anywhere: duplicate id (first defined at testdata/user/dup-of-override.yml:2)") {
		t.Errorf("duplicate id across files: got %v", err)
	}
	if _, err := NewEngine(append(merged, site), Env{}); err == nil {
		t.Error("NewEngine accepted a duplicate id")
	}
}

// A one-line override switches a built-in rule off and keeps the rest of it; one that names no built-in rule is
// an error naming where it is.
func TestOverrideEnabled(t *testing.T) {
	pack, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	user, err := LoadPaths(filepath.Join("testdata", "override", "disable.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	merged, err := Merge(pack, user)
	if err != nil {
		t.Fatal(err)
	}
	if len(merged) != len(pack) {
		t.Fatalf("merged %d rules, want the %d built-in ones", len(merged), len(pack))
	}
	var builtin, switched *Rule
	for i, r := range merged {
		if r.ID == "exec-running-vnf" {
			builtin, switched = pack[i], r
		}
	}
	if switched == nil || switched.Enabled || switched.Override || switched.Condition != builtin.Condition || switched.Severity != builtin.Severity ||
		!strings.Contains(switched.Source, "enabled: false at testdata/override/disable.yaml:2") {
		t.Fatalf("exec-running-vnf after the override: %+v", switched)
	}
	if !builtin.Enabled {
		t.Error("the override changed the built-in pack itself")
	}
	e, err := NewEngine(merged, Env{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range e.Rules() {
		if r.ID == "exec-running-vnf" {
			t.Error("the engine runs the disabled rule")
		}
	}
	if _, err := NewEngine(user, Env{}); err == nil || !strings.Contains(err.Error(), "only switches a rule on or off") {
		t.Errorf("an override given to the engine unmerged: %v", err)
	}

	unknown, err := LoadPaths(filepath.Join("testdata", "override", "unknown.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Merge(pack, unknown); err == nil || !strings.Contains(err.Error(), "testdata/override/unknown.yaml:2: rule no-such-builtin-rule: enabled: false names no built-in rule") {
		t.Errorf("override of no built-in rule: %v", err)
	}
}

func TestLoadRulesFS(t *testing.T) {
	fsys := fstest.MapFS{
		"a.yaml":       {Data: []byte("rules:\n  - id: a\n    condition: \"true\"\n    severity: info\n")},
		"b.yml":        {Data: []byte("rules:\n  - id: b\n    condition: \"false\"\n    severity: critical\n    enabled: false\n")},
		"tests/x.yaml": {Data: []byte("not: rules")},
		"README.md":    {Data: []byte("# not a rule file")},
	}
	rules, err := LoadRules(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 2 || rules[0].ID != "a" || rules[1].ID != "b" || rules[1].Enabled || rules[1].Severity != finding.Critical {
		t.Fatalf("got %+v", rules)
	}
	if rules[0].Output != "" || rules[0].Source != "a.yaml:2" {
		t.Errorf("rule a: output %q source %q", rules[0].Output, rules[0].Source)
	}
	if _, err := LoadPaths(filepath.Join("testdata", "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v, want ErrNotExist", err)
	}
}

func TestCompileOutput(t *testing.T) {
	tests := []struct {
		tmpl  string
		parts int
		err   string
	}{
		{"plain text", 1, ""},
		{"${event.verb}", 1, ""},
		{"a ${event.verb} b ${ {'k': 'v'}['k'] } c", 5, ""},
		{"costs $$5 ${'}'}", 2, ""},
		{"${", 0, "1:1: unclosed ${"},
		{"x\ny ${nosuch}", 0, "2:5: undeclared reference to 'nosuch'"},
	}
	for _, tt := range tests {
		parts, err := compileOutput(tt.tmpl)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: error %v, want %q", tt.tmpl, err, tt.err)
			}
			continue
		}
		if err != nil || len(parts) != tt.parts {
			t.Errorf("%q: %d parts, error %v; want %d parts", tt.tmpl, len(parts), err, tt.parts)
		}
	}
}

// TestOutputsPlannedOnFirstUse holds outputs to being planned only when their rule first finds something: no
// output program of the built-in pack is kept from load (each would hold its own copy of cel-go's overload table),
// and one planned on use renders what the template says.
func TestOutputsPlannedOnFirstUse(t *testing.T) {
	pack, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	programs := 0
	for _, r := range pack {
		for _, p := range r.output {
			if p.prog == nil {
				continue
			}
			programs++
			if p.prog.prog != nil {
				t.Errorf("rule %s: output part %q was kept planned from load", r.ID, p.prog.expr)
			}
		}
	}
	if programs == 0 {
		t.Fatal("the built-in pack's outputs have no expression: the test checks nothing")
	}
	parts, err := compileOutput("x ${ {'k': 'v'}['k'] }")
	if err != nil || len(parts) != 2 || parts[1].str != nil {
		t.Fatalf("parts %+v, error %v; want literal text and one part only CEL renders", parts, err)
	}
	prog, err := parts[1].prog.get()
	if err != nil {
		t.Fatal(err)
	}
	if v, _, err := prog.Eval(map[string]any{}); err != nil || valueString(v) != "v" {
		t.Errorf("planned on use, the part renders %v (error %v), want v", v, err)
	}
}
