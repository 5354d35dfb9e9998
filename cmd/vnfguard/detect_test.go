package main

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"

	"github.com/vnfguard/vnfguard/internal/finding"
)

func TestDetectFile(t *testing.T) {
	code, out, errOut := runCLI(t, "detect", "--file", "../../internal/audit/testdata/mixed.jsonl", "-o", "json")
	if code != exitFindings {
		t.Fatalf("exit %d, want %d (high findings); stderr %s", code, exitFindings, errOut)
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	n := 0
	for sc.Scan() {
		var f finding.Finding
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatalf("line %d is not a finding: %v: %s", n+1, err, sc.Text())
		}
		if f.Rule == "" || f.Technique == "" || f.Source != "audit" || f.Evidence["auditID"] == "" {
			t.Errorf("finding lacks rule, technique, source or audit ID: %s", sc.Text())
		}
		n++
	}
	if n == 0 {
		t.Fatal("no findings")
	}
	// The malformed lines are logged with their position and skipped; the stream goes on past them.
	for _, want := range []string{`"line":2`, `"line":4`, "skipped a malformed audit event"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr does not say %s:\n%s", want, errOut)
		}
	}
	if code, _, errOut := runCLI(t, "detect", "--file", "../../internal/audit/testdata/mixed.jsonl", "--fail-on", "urgent"); code != exitError || !strings.Contains(errOut, "--fail-on") {
		t.Errorf("a bad --fail-on must be a usage error: %d %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "detect"); code != exitError || !strings.Contains(errOut, "--file is required") {
		t.Errorf("detect without --file: %d %s", code, errOut)
	}
}

func TestRulesCommands(t *testing.T) {
	if code, out, errOut := runCLI(t, "rules", "test"); code != 0 || !strings.Contains(out, " 0 failed") {
		t.Fatalf("built-in rule cases: exit %d\n%s\n%s", code, out, errOut)
	}
	code, _, errOut := runCLI(t, "rules", "validate", "../../internal/detect/testdata/bad")
	if code != exitError || !strings.Contains(errOut, ".yaml:") {
		t.Errorf("validating bad rules must fail naming the file and position: exit %d %s", code, errOut)
	}
}
