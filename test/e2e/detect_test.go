package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/lab"
)

// TestDetectionFromAuditLog runs `vnfguard detect` over the real API server's audit log of the whole scenario, as
// an operator would for forensics: the accesses to VNF pods and the attacker's stream of denied requests leave
// their findings, and the benign VNFM lifecycle leaves none. The inventory is read as it is after the scenario (both VNFs terminated),
// so an exec into the UPF shows as an exec into a dormant VNF here.
func TestDetectionFromAuditLog(t *testing.T) {
	run(t)
	fs := detectOffline(t, "--config", suite.env.Guard.ConfigPath)
	has := func(identity string, match func(f finding.Finding) bool) bool {
		for _, f := range fs {
			if f.Identity == identity && match(f) {
				return true
			}
		}
		return false
	}
	rule := func(ids ...string) func(f finding.Finding) bool {
		return func(f finding.Finding) bool {
			for _, id := range ids {
				if f.Rule == id {
					return true
				}
			}
			return false
		}
	}
	for _, want := range []struct {
		what, identity string
		match          func(finding.Finding) bool
	}{
		// Admission denied every attack workload, so the workload rules (which report writes that happened) stay
		// quiet; the stream of denials itself is the finding.
		{"mallory's stream of admission denials", "mallory", rule("repeated-admission-denials")},
		{"exec into a VNF pod by a cluster admin", "ops-admin", rule("exec-dormant-vnf", "exec-running-vnf")},
		{"exec over WebSocket (verb get)", "ops-admin", func(f finding.Finding) bool {
			return strings.HasPrefix(f.Rule, "exec-") && f.Evidence["verb"] == "get"
		}},
		{"exec by break-glass", "oncall", rule("break-glass-exec", "exec-dormant-vnf")},
	} {
		if !has(want.identity, want.match) {
			t.Errorf("no finding for %s by %s among %d findings", want.what, want.identity, len(fs))
		}
	}
	for _, f := range fs {
		switch f.Identity {
		case "tacker-vnfm", "system:kube-controller-manager", "system:kube-scheduler":
			t.Errorf("the benign lifecycle produced a finding: %s by %s on %s: %s", f.Rule, f.Identity, f.Object.String(), f.Message)
		}
	}
}

// detectOffline runs `vnfguard detect --file` over the API server's audit log of the run with the extra flags,
// expecting exit 1 (critical findings), and returns its findings, each checked for rule, source and audit ID.
func detectOffline(t *testing.T, flags ...string) []finding.Finding {
	t.Helper()
	args := append([]string{"detect", "--file", suite.env.CP.AuditLogFile, "-o", "json", "--fail-on", "critical"}, flags...)
	cmd := exec.Command(filepath.Join(suite.tmp, "vnfguard"), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 1 {
		t.Fatalf("detect %v: %v (want exit 1: critical findings)\n%s", flags, err, stderr.String())
	}
	var fs []finding.Finding
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var f finding.Finding
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatalf("not a finding line: %v: %s", err, sc.Text())
		}
		if f.Rule == "" || f.Source != "audit" || f.Evidence["auditID"] == "" {
			t.Errorf("finding without rule, source or audit ID: %s", sc.Text())
		}
		fs = append(fs, f)
	}
	return fs
}

// TestLiveAuditDetection: the API server's audit webhook backend feeds `vnfguard serve` (durable queue, rule pack,
// live cluster view), and the accesses to VNFs show up as audit findings on vnfguard's stdout within seconds —
// including what admission allowed (the break-glass exec) — while the benign lifecycle adds none.
func TestLiveAuditDetection(t *testing.T) {
	run(t)
	deadline := time.Now().Add(5 * time.Second)
	want := []struct {
		what, identity string
		match          func(finding.Finding) bool
	}{
		{"the break-glass exec into the running UPF", "oncall", func(f finding.Finding) bool { return f.Rule == "break-glass-exec" }},
		{"an exec into the STOPPED UPF", "ops-admin", func(f finding.Finding) bool {
			return f.Rule == "exec-dormant-vnf" && f.Technique == finding.AccessingTerminatedVNF && f.Severity == finding.Critical && f.VNFInstance != ""
		}},
		{"an exec into the running UPF by a non-break-glass admin", "ops-admin", func(f finding.Finding) bool { return f.Rule == "exec-running-vnf" }},
		{"a read of the STOPPED UPF's Secret", "ops-admin", func(f finding.Finding) bool {
			return f.Rule == "read-dormant-vnf-data" && f.Technique == finding.AccessingTerminatedVNF && f.Object.Name == lab.UPFSecret
		}},
	}
	var audit []finding.Finding
	for {
		audit = audit[:0]
		for _, f := range suite.env.Guard.Findings() {
			if f.Source == "audit" {
				audit = append(audit, f)
			}
		}
		missing := 0
		for _, w := range want {
			if !slices.ContainsFunc(audit, func(f finding.Finding) bool { return f.Identity == w.identity && w.match(f) }) {
				missing++
				if time.Now().After(deadline) {
					t.Errorf("no audit finding for %s by %s within 5 s of the scenario's end", w.what, w.identity)
				}
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, f := range audit {
		switch f.Identity {
		case "tacker-vnfm", "system:kube-controller-manager", "system:kube-scheduler":
			t.Errorf("the benign lifecycle produced an audit finding: %s by %s on %s: %s", f.Rule, f.Identity, f.Object.String(), f.Message)
		}
	}
	t.Logf("%d audit findings", len(audit))
}
