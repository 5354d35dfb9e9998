package auditpolicy

import (
	"testing"
)

// BenchmarkParse: reading the recommended policy as kube-apiserver does, with the line map.
func BenchmarkParse(b *testing.B) {
	data := Recommended()
	for b.Loop() {
		if _, err := Parse(RecommendedFile, data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJudge: the recommended policy judged against the whole needs table (every probe through the evaluator).
func BenchmarkJudge(b *testing.B) {
	p := RecommendedPolicy()
	var rules []RuleInfo
	for _, n := range Needs() {
		rules = append(rules, RuleInfo{ID: n.Rule})
	}
	for b.Loop() {
		if fs := Judge(p, rules, now); len(fs) != 0 {
			b.Fatal(fs)
		}
	}
}
