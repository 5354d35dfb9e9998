package detect

import (
	"context"
	"strings"
	"testing"
)

// TestBuiltinPack runs every case under rules/tests against the embedded pack, and checks that every rule of the
// pack fires in some case, so that no rule ships untested.
func TestBuiltinPack(t *testing.T) {
	pack, suites := builtinSuites(t)
	if len(suites) == 0 {
		t.Fatal("no rule test suites under rules/tests")
	}
	fired := map[string]bool{}
	negatives := 0
	for _, s := range suites {
		results, err := RunSuite(context.Background(), pack, s)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range results {
			t.Run(strings.TrimSuffix(strings.TrimPrefix(r.File, "tests/"), ".yaml")+"/"+r.Case, func(t *testing.T) {
				if !r.Passed {
					for _, f := range r.Findings {
						t.Logf("finding %s: %s", f.Rule, f.Message)
					}
					t.Fatal(r.Problem)
				}
			})
			if len(r.Want) == 0 {
				negatives++
			}
			for id := range r.Got {
				fired[id] = true
			}
		}
	}
	for _, r := range pack {
		if !fired[r.ID] {
			t.Errorf("rule %s (%s) fires in no case under rules/tests", r.ID, r.Source)
		}
	}
	if negatives == 0 {
		t.Error("no negative cases")
	}
}
