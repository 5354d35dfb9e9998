package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/vnfguard/vnfguard/internal/finding"
)

// FuzzWrite feeds arbitrary text into every string a finding carries. Write must never panic, the table must keep
// one line per finding, JSON and SARIF must be valid JSON, and SARIF must still validate against the official
// schema (file paths become URI references, lines become positive integers or nothing).
func FuzzWrite(f *testing.F) {
	f.Add("container is privileged", "file", "manifests/a.yaml", "rbac-create-pods", "system:anonymous", "upf-0", "inst-a", "12", 4)
	f.Add("<script>alert(1)</script>\n\t\r", "line", "-1", "", "", "", "", "x", 9)
	f.Add("\xff\xfe invalid utf-8 \u202e", "\x00", "a:b/c d%zz#?.yaml", "r\tule", "\u2028", "..", "\"", "99999999999999999999", -3)
	f.Add("", "", "", "", "", "", "", "", 0)
	f.Fuzz(func(t *testing.T, msg, evKey, evVal, rule, identity, name, instance, line string, sev int) {
		fs := []finding.Finding{{
			ID: finding.Key(rule, finding.ObjectRef{Kind: "Pod", Name: name}, instance), Rule: rule, Technique: rule,
			Mitigations: []string{identity, finding.MitigationAudit, identity}, Severity: finding.Severity(sev % 8),
			Message: msg, VNFInstance: instance, Identity: identity, Object: finding.ObjectRef{Kind: name, Namespace: evVal, Name: name},
			Evidence: map[string]string{evKey: evVal, "file": evVal, "line": line},
		}, {
			Rule: msg, Severity: finding.High, Message: identity, Evidence: map[string]string{"file": name, "line": line},
		}}
		r := &Report{Target: msg, Version: identity, Findings: fs, Instances: map[string]string{instance: msg, name: evVal}}
		for _, format := range Formats() {
			var buf bytes.Buffer
			if err := Write(&buf, format, r); err != nil {
				t.Fatalf("Write(%s): %v", format, err)
			}
			switch format {
			case FormatJSON:
				if !json.Valid(buf.Bytes()) {
					t.Fatalf("invalid JSON:\n%s", buf.Bytes())
				}
			case FormatSARIF:
				if !json.Valid(buf.Bytes()) {
					t.Fatalf("invalid SARIF JSON:\n%s", buf.Bytes())
				}
				if err := validateSARIF(t, buf.Bytes()); err != nil {
					t.Fatalf("SARIF does not validate: %v\n%s", err, buf.Bytes())
				}
			case FormatTable:
				if n := strings.Count(buf.String(), "\n"); n != len(fs)+3 {
					t.Fatalf("table has %d lines for %d findings:\n%s", n, len(fs), buf.Bytes())
				}
			case FormatHTML:
				if strings.Contains(strings.ToLower(buf.String()), "<script") {
					t.Fatalf("HTML carries a script element:\n%s", buf.Bytes())
				}
			}
		}
	})
}

// benchFindings makes n findings spread over rules, instances and severities, like a large cluster scan.
func benchFindings(n int) *Report {
	r := &Report{Target: "cluster https://127.0.0.1:6443", Instances: map[string]string{}}
	for i := range n {
		inst := fmt.Sprintf("inst-%03d", i%200)
		r.Instances[inst] = "upf, STARTED"
		obj := finding.ObjectRef{Kind: "RoleBinding", Namespace: fmt.Sprintf("vnf-%03d", i%200), Name: fmt.Sprintf("rb-%d", i)}
		rule := fmt.Sprintf("rbac-rule-%d", i%25)
		r.Findings = append(r.Findings, finding.Finding{
			ID: finding.Key(rule, obj, inst), Rule: rule, Technique: finding.MaliciousVNFInstantiation,
			Mitigations: []string{finding.MitigationUserAccounts}, Severity: finding.Severity(i % 5), VNFInstance: inst,
			Identity: fmt.Sprintf("system:serviceaccount:vnf:sa-%d", i), Object: obj,
			Message: "subject can create pods through a binding", Evidence: map[string]string{"file": "exported/rbac.yaml", "line": "7"},
		})
	}
	return r
}

// BenchmarkWrite renders 10 000 findings in each format.
func BenchmarkWrite(b *testing.B) {
	r := benchFindings(10_000)
	for _, format := range Formats() {
		b.Run(format, func(b *testing.B) {
			for b.Loop() {
				if err := Write(io.Discard, format, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzWriteFindingList: the list writers of the one report path (detect, findings list, reconcile) never panic,
// keep one table line per finding whatever the text holds, write valid JSON (an array, or one object a line), and
// refuse an unknown format naming the known ones.
func FuzzWriteFindingList(f *testing.F) {
	f.Add("container is privileged", "rbac-create-pods", "upf-1", "table", 3)
	f.Add("a\nb\tc\r\u2028", "\xff", "", "json", 9)
	f.Add("", "", "", "xml", -1)
	f.Fuzz(func(t *testing.T, msg, rule, instance, format string, sev int) {
		fs := []finding.Finding{{Rule: rule, Message: msg, VNFInstance: instance, Severity: finding.Severity(sev % 8), Object: finding.ObjectRef{Kind: "Pod", Name: msg}},
			{Rule: msg, Message: rule, Identity: instance}}
		var buf bytes.Buffer
		err := WriteFindingList(&buf, format, &Report{Findings: fs})
		known := false
		for _, k := range FindingListFormats {
			known = known || k == format
		}
		switch {
		case !known:
			if err == nil || !strings.Contains(err.Error(), "table, json, sarif, html") {
				t.Fatalf("format %q: error %v, want one naming the formats", format, err)
			}
			return
		case err != nil:
			t.Fatalf("WriteFindingList(%s): %v", format, err)
		}
		switch format {
		case FormatTable:
			if n := strings.Count(buf.String(), "\n"); n != len(fs)+1 {
				t.Fatalf("table has %d lines for %d findings:\n%s", n, len(fs), buf.Bytes())
			}
		case FormatJSON, FormatSARIF:
			if !json.Valid(buf.Bytes()) {
				t.Fatalf("invalid JSON:\n%s", buf.Bytes())
			}
		}
		buf.Reset()
		if err := WriteFindingLines(&buf, fs); err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
			if !json.Valid([]byte(line)) {
				t.Fatalf("invalid JSON line %q", line)
			}
		}
	})
}
