package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vnfguard/vnfguard/internal/finding"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// loadScan reads testdata/scan.json: five findings over three severities' worth of rules, two VNF instances with
// findings, one without, unbound findings, file/line evidence, and a message and evidence value carrying markup.
func loadScan(t testing.TB) *Report {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "scan.json"))
	if err != nil {
		t.Fatal(err)
	}
	var in struct {
		Tool, Version, Target string
		Started, Finished     time.Time
		Instances             map[string]string
		Findings              []finding.Finding
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		t.Fatalf("testdata/scan.json: %v", err)
	}
	return &Report{Tool: in.Tool, Version: in.Version, Target: in.Target, Started: in.Started, Finished: in.Finished, Instances: in.Instances, Findings: in.Findings}
}

func render(t testing.TB, format string, r *Report) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, format, r); err != nil {
		t.Fatalf("Write(%s): %v", format, err)
	}
	return buf.Bytes()
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/report -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; got:\n%s", name, got)
	}
}

func TestFormatsAndUnknownFormat(t *testing.T) {
	if got := Formats(); !slices.Equal(got, []string{"table", "json", "sarif", "html"}) {
		t.Errorf("Formats() = %v", got)
	}
	Formats()[0] = "changed"
	if Formats()[0] != "table" {
		t.Error("Formats must return a copy")
	}
	for _, bad := range []string{"", "yaml", "TABLE", "sarif2"} {
		var buf bytes.Buffer
		err := Write(&buf, bad, loadScan(t))
		if err == nil {
			t.Errorf("Write(%q) accepted an unknown format", bad)
			continue
		}
		for _, want := range Formats() {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Write(%q) error %q does not name %q", bad, err, want)
			}
		}
		if buf.Len() != 0 {
			t.Errorf("Write(%q) wrote %d bytes before failing", bad, buf.Len())
		}
	}
}

func TestParseFailOn(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    finding.Severity
		wantErr bool
	}{
		{in: "critical", want: finding.Critical},
		{in: "HIGH", want: finding.High},
		{in: " medium ", want: finding.Medium},
		{in: "low", want: finding.Low},
		{in: "info", want: finding.Info},
		{in: "none", want: finding.Critical + 1},
		{in: "urgent", wantErr: true},
		{in: "", wantErr: true},
	} {
		got, err := ParseFailOn(tc.in)
		if (err != nil) != tc.wantErr || (!tc.wantErr && got != tc.want) {
			t.Errorf("ParseFailOn(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.wantErr)
		}
		if tc.wantErr && err != nil && !strings.Contains(err.Error(), "none") {
			t.Errorf("ParseFailOn(%q) error %q should list none among the choices", tc.in, err)
		}
	}
	fs := loadScan(t).Findings
	if !Reached(fs, finding.Critical) || Reached(fs, finding.Critical+1) || Reached(nil, finding.Info) {
		t.Error("Reached: the fixture has a critical finding, nothing reaches none, no findings reach nothing")
	}
}

func TestSortOrder(t *testing.T) {
	r := loadScan(t)
	before := slices.Clone(r.Findings)
	v := newView(r)
	var ids []string
	for _, f := range v.findings {
		ids = append(ids, f.ID)
	}
	want := []string{"f-crit-create", "f-high-exec", "f-med-priv", "f-low-netpol", "f-info-audit"}
	if !slices.Equal(ids, want) {
		t.Errorf("order = %v, want %v", ids, want)
	}
	if !slices.EqualFunc(r.Findings, before, func(a, b finding.Finding) bool { return a.ID == b.ID }) {
		t.Error("Write must not reorder the caller's findings")
	}
	// Same severity: technique, then rule, then object.
	same := []finding.Finding{
		{ID: "3", Severity: finding.High, Technique: "FGT5013", Rule: "b", Object: finding.ObjectRef{Kind: "Pod", Name: "a"}},
		{ID: "2", Severity: finding.High, Technique: "FGT5013", Rule: "a", Object: finding.ObjectRef{Kind: "Pod", Name: "z"}},
		{ID: "4", Severity: finding.High, Technique: "FGT5013", Rule: "b", Object: finding.ObjectRef{Kind: "Pod", Name: "b"}},
		{ID: "1", Severity: finding.High, Technique: "FGT1609.501", Rule: "z"},
	}
	Sort(same)
	var got []string
	for _, f := range same {
		got = append(got, f.ID)
	}
	if !slices.Equal(got, []string{"1", "2", "3", "4"}) {
		t.Errorf("tie-break order = %v", got)
	}
}

// TestDeterministic renders the fixture in every format from two different input orders: the bytes must match.
func TestDeterministic(t *testing.T) {
	a, b := loadScan(t), loadScan(t)
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(b.Findings), func(i, j int) { b.Findings[i], b.Findings[j] = b.Findings[j], b.Findings[i] })
	for _, format := range Formats() {
		if x, y := render(t, format, a), render(t, format, b); !bytes.Equal(x, y) {
			t.Errorf("%s output depends on the input order", format)
		}
	}
}

func TestTable(t *testing.T) {
	out := render(t, FormatTable, loadScan(t))
	golden(t, "scan.table.golden", out)
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) != 1+5+2 {
		t.Fatalf("want header, 5 findings, a blank line and the summary; got %d lines:\n%s", len(lines), out)
	}
	if !strings.HasPrefix(lines[0], "SEVERITY ") || !strings.Contains(lines[0], "VNF INSTANCE") || !strings.HasSuffix(lines[0], "MESSAGE") {
		t.Errorf("header: %q", lines[0])
	}
	if !strings.HasPrefix(lines[1], "CRITICAL ") || !strings.Contains(lines[1], "ClusterRoleBinding/deployers") || !strings.Contains(lines[1], "inst-a") {
		t.Errorf("first row is the critical finding: %q", lines[1])
	}
	if !strings.Contains(lines[5], "<none>") {
		t.Errorf("empty cells show <none>: %q", lines[5])
	}
	if want := "5 findings: 1 critical, 1 high, 1 medium, 1 low, 1 info"; lines[7] != want {
		t.Errorf("summary = %q, want %q", lines[7], want)
	}
	// Columns line up: MESSAGE starts at the same offset in every row's cell boundary.
	col := strings.Index(lines[0], "MESSAGE")
	for _, l := range lines[1:6] {
		if len(l) < col || l[col-1] != ' ' || l[col] == ' ' {
			t.Errorf("row not aligned on the MESSAGE column (%d): %q", col, l)
		}
	}
	if got := string(render(t, FormatTable, &Report{})); got != "No findings.\n" {
		t.Errorf("empty report: %q", got)
	}
}

func TestTableCellsCannotForgeRows(t *testing.T) {
	r := &Report{Findings: []finding.Finding{{
		Severity: finding.High, Rule: "r\tfake", Message: "line one\nCRITICAL\tFGT5013\tforged\r\n\u202eevil",
		Object: finding.ObjectRef{Kind: "Pod", Name: strings.Repeat("n", 500)},
	}}}
	out := string(render(t, FormatTable, r))
	if n := strings.Count(out, "\n"); n != 4 {
		t.Errorf("a crafted message must stay on its row: %d lines\n%s", n, out)
	}
	if strings.ContainsRune(out, '\u202e') || strings.Contains(out, "\t") {
		t.Errorf("control and bidi characters must not reach the terminal: %q", out)
	}
	if !strings.Contains(out, strings.Repeat("n", maxCell-len("Pod/")-1)+"…") {
		t.Errorf("long cells are cut with an ellipsis:\n%s", out)
	}
}

func TestJSON(t *testing.T) {
	out := render(t, FormatJSON, loadScan(t))
	var doc struct {
		Tool, Version, Target, Started, Finished string
		Summary                                  struct {
			Total                                 int
			BySeverity, ByTechnique, ByMitigation map[string]int
		}
		Instances map[string]string
		Findings  []map[string]any
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, out)
	}
	if doc.Tool != "vnfguard" || doc.Target != "files: manifests/, exported manifests/" || doc.Started != "2026-11-24T08:00:00Z" || doc.Finished != "2026-11-24T08:00:01Z" {
		t.Errorf("header: %+v", doc)
	}
	s := doc.Summary
	if s.Total != 5 || s.BySeverity["critical"] != 1 || s.BySeverity["info"] != 1 || len(s.BySeverity) != 5 {
		t.Errorf("bySeverity: %+v", s)
	}
	if s.ByTechnique["FGT5013"] != 3 || s.ByTechnique["FGT1609.501"] != 2 || len(s.ByTechnique) != 2 {
		t.Errorf("byTechnique: %v", s.ByTechnique)
	}
	if s.ByMitigation["M1018"] != 2 || s.ByMitigation["M1026"] != 2 || s.ByMitigation["M1030"] != 1 || s.ByMitigation["M1038"] != 1 || s.ByMitigation["M1047"] != 1 {
		t.Errorf("byMitigation: %v", s.ByMitigation)
	}
	first := doc.Findings[0]
	obj, _ := first["object"].(map[string]any)
	if first["technique"] != "FGT5013" || first["severity"] != "critical" || first["subject"] != "system:serviceaccount:vnf-a:deployer" ||
		first["techniqueName"] != "Malicious VNF Instantiation" || obj["kind"] != "ClusterRoleBinding" || obj["name"] != "deployers" ||
		first["objectName"] != "ClusterRoleBinding/deployers" || first["vnfInstance"] != "inst-a" {
		t.Errorf("first finding: %v", first)
	}
	if m, _ := first["mitigations"].([]any); len(m) != 1 || m[0] != "M1018" {
		t.Errorf("mitigations: %v", first["mitigations"])
	}
	if names, _ := first["mitigationNames"].(map[string]any); !strings.HasPrefix(names["M1018"].(string), "User Account Management") {
		t.Errorf("mitigationNames: %v", first["mitigationNames"])
	}
	if doc.Instances["inst-c"] != "amf, NOT_INSTANTIATED" {
		t.Errorf("instances: %v", doc.Instances)
	}
	// An empty report still has an (empty) findings array and every severity, for scripts.
	var empty map[string]any
	if err := json.Unmarshal(render(t, FormatJSON, nil), &empty); err != nil || empty["findings"] == nil {
		t.Errorf("empty report: %v %v", empty, err)
	}
}
