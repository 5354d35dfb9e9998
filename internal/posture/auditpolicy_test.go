package posture

import (
	"context"
	"os"
	"testing"

	"github.com/vnfguard/vnfguard/internal/detect"
	"github.com/vnfguard/vnfguard/internal/posture/auditpolicy"
)

// The audit policy is judged in the scan, with the other posture findings: against the built-in pack by default,
// against the rules given otherwise (a rule switched off is not starved).
func TestScanJudgesAuditPolicy(t *testing.T) {
	data, err := os.ReadFile("auditpolicy/testdata/lab-before.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := auditpolicy.Parse("audit-policy.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	starved := func(rules []*detect.Rule) map[string]bool {
		fs, err := Scan(context.Background(), &Inputs{Target: "audit policy"}, Options{AuditPolicy: p, Rules: rules, Now: t0})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, f := range fs {
			if f.Rule == auditpolicy.RuleStarves {
				out[f.Evidence["starvedRule"]] = true
			}
		}
		return out
	}
	if got := starved(nil); !got["rbac-powerful-binding"] || !got["host-takeover-pod"] {
		t.Errorf("built-in pack: starved %v, want the binding and pod-spec rules", got)
	}
	pack, err := detect.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range pack {
		if r.ID == "rbac-powerful-binding" {
			r.Enabled = false
		}
	}
	if got := starved(pack); got["rbac-powerful-binding"] || !got["rbac-dangerous-grant"] {
		t.Errorf("with rbac-powerful-binding off: starved %v", got)
	}
	fs, err := Scan(context.Background(), &Inputs{Target: "audit policy"}, Options{AuditPolicy: auditpolicy.RecommendedPolicy(), Now: t0})
	if err != nil || len(fs) != 0 {
		t.Errorf("recommended policy, nothing else: %v, %+v", err, fs)
	}
}
