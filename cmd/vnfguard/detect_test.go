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

// detect --inventory-history judges each event with the lifecycle state of its own time. The UPF ran, was STOPPED
// from 10:05 to 10:10, and runs again today: with today's inventory the exec and the Secret read during the stop
// look like work on a running VNF (and the read like nothing at all).
func TestDetectReplaysTheInventoryHistory(t *testing.T) {
	keys := func(out string) []string {
		var got []string
		sc := bufio.NewScanner(strings.NewReader(out))
		for sc.Scan() {
			var f finding.Finding
			if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
				t.Fatalf("not a finding: %v: %s", err, sc.Text())
			}
			got = append(got, f.Evidence["auditID"]+" "+f.Rule+" "+f.Evidence["vnfState"])
		}
		return got
	}
	const dir = "testdata/timeline/"
	_, out, errOut := runCLI(t, "detect", "--file", dir+"audit.jsonl", "--inventory-history", dir+"history.jsonl")
	want := []string{"tl-2 exec-running-vnf INSTANTIATED", "tl-3 exec-dormant-vnf STOPPED", "tl-4 read-dormant-vnf-data STOPPED"}
	if got := keys(out); strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("with the history: %q, want %q; stderr %s", got, want, errOut)
	}
	_, out, errOut = runCLI(t, "detect", "--file", dir+"audit.jsonl", "--inventory", dir+"inventory.yaml")
	today := []string{"tl-2 exec-running-vnf INSTANTIATED", "tl-3 exec-running-vnf INSTANTIATED"}
	if got := keys(out); strings.Join(got, "; ") != strings.Join(today, "; ") {
		t.Errorf("with today's inventory (the misjudgement the history corrects): %q, want %q; stderr %s", got, today, errOut)
	}
	for _, bad := range [][]string{
		{"--inventory-history", dir + "history.jsonl", "--inventory", dir + "inventory.yaml"},
		{"--inventory-history", dir + "history.jsonl", "--follow"},
		{"--inventory-history", dir + "audit.jsonl"}, // not a history: names the file and line
		{"--inventory-history", dir + "missing.jsonl"},
	} {
		code, _, errOut := runCLI(t, append([]string{"detect", "--file", dir + "audit.jsonl"}, bad...)...)
		if code != exitError || !strings.Contains(errOut, "inventory") {
			t.Errorf("%v: exit %d, stderr %s; want a usage error about the inventory", bad, code, errOut)
		}
	}
}
