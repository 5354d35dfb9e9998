package auditpolicy

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: no input makes Parse panic or accept a policy without rules, its errors are *ParseError naming the
// file, and an accepted policy can be judged.
func FuzzParse(f *testing.F) {
	f.Add(Recommended())
	for _, tt := range parseCases {
		f.Add([]byte(tt.in))
	}
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	needs := Needs()
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.File != "fuzz.yaml" || pe.Line < 0 {
				t.Fatalf("error %v (%T): want a *ParseError naming the file", err, err)
			}
			return
		}
		if p.Rules() == 0 || len(p.ruleLines) != p.Rules() || len(p.ruleOmitLines) != p.Rules() {
			t.Fatalf("accepted with %d rules, %d rule lines", p.Rules(), len(p.ruleLines))
		}
		if p.Rules() > 100 {
			return // judging is linear in the rules; the fuzzer's time is better spent on the decoder
		}
		for _, n := range needs[:3] {
			for _, g := range p.Gaps(n) {
				if g.PolicyRule >= p.Rules() || g.Line < 0 {
					t.Fatalf("gap %+v out of the policy's %d rules", g, p.Rules())
				}
			}
		}
	})
}
