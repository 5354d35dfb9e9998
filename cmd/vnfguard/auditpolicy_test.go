package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/posture/auditpolicy"
)

// TestAuditPolicyPrintsTheRecommended: what the command prints is the shipped policy, byte for byte.
func TestAuditPolicyPrintsTheRecommended(t *testing.T) {
	code, out, errOut := runCLI(t, "audit-policy")
	if code != 0 || out != string(auditpolicy.Recommended()) {
		t.Fatalf("exit %d, output differs from the recommended policy (%d bytes): %s", code, len(out), errOut)
	}
	code, out, _ = runCLI(t, "audit-policy", "--needs")
	if code != 0 || !strings.Contains(out, "rbac-powerful-binding") || !strings.Contains(out, "ResponseStarted") {
		t.Errorf("--needs: exit %d\n%s", code, out)
	}
}

// TestScanAuditPolicy: the recommended policy alone scans clean; the lab's former policy starves rules (exit 1,
// findings with file and line); an unreadable policy is exit 2 with the file and line, never "no findings".
func TestScanAuditPolicy(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("KUBECONFIG", filepath.Join(dir, "no-kubeconfig")) // no live cluster: the policy alone is scanned
	t.Setenv("HOME", dir)
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, auditpolicy.Recommended(), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI(t, "scan", "--audit-policy", good, "-o", "json"); code != 0 || strings.Contains(out, auditpolicy.RuleStarves) {
		t.Errorf("recommended policy: exit %d\n%s\n%s", code, out, errOut)
	}

	before := "../../internal/posture/auditpolicy/testdata/lab-before.yaml"
	code, out, errOut := runCLI(t, "scan", "--audit-policy", before, "-o", "json")
	if code != exitFindings {
		t.Fatalf("policy starving critical rules: exit %d, want %d: %s", code, exitFindings, errOut)
	}
	var rep struct{ Findings []finding.Finding }
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	starved := map[string]finding.Finding{}
	for _, f := range rep.Findings {
		starved[f.Evidence["starvedRule"]] = f
	}
	if f, ok := starved["rbac-powerful-binding"]; !ok || f.Evidence["file"] != before || f.Evidence["line"] == "" {
		t.Errorf("want rbac-powerful-binding starved, with file and line: %+v", starved)
	}

	// --rules: a rule switched off need not be fed.
	off := filepath.Join(dir, "off.yaml")
	if err := os.WriteFile(off, []byte("rules:\n  - {id: rbac-powerful-binding, enabled: false}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, out, _ = runCLI(t, "scan", "--audit-policy", before, "--rules", off, "-o", "json")
	if strings.Contains(out, `"starvedRule": "rbac-powerful-binding"`) || !strings.Contains(out, `"starvedRule": "rbac-dangerous-grant"`) {
		t.Errorf("with rbac-powerful-binding off:\n%s", out)
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n  - level: Everything\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ file, want string }{
		{bad, bad + ":4: invalid audit policy: rules[0].level"},
		{filepath.Join(dir, "absent.yaml"), "absent.yaml: no such file"},
	} {
		code, out, errOut := runCLI(t, "scan", "--audit-policy", tt.file)
		if code != exitError || !strings.Contains(errOut, tt.want) || out != "" {
			t.Errorf("%s: exit %d, stderr %q, stdout %q; want exit %d and %q", tt.file, code, errOut, out, exitError, tt.want)
		}
	}
	if code, _, errOut := runCLI(t, "scan", "--rules", off); code != exitError || !strings.Contains(errOut, "--rules is for --audit-policy") {
		t.Errorf("--rules alone: exit %d %s", code, errOut)
	}
}
