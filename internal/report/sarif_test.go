package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/report/sariftest"
)

// sarifSchema is the official OASIS SARIF 2.1.0 schema kept in testdata/ (see testdata/README.md).
var sarifSchema = sariftest.Schema

func validateSARIF(t testing.TB, out []byte) error {
	t.Helper()
	sch, err := sarifSchema()
	if err != nil {
		t.Fatalf("compile the SARIF schema: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
	if err != nil {
		return err
	}
	if err := sch.Validate(inst); err != nil {
		return fmt.Errorf("%#v", err) // the detailed form names every failing keyword and location
	}
	return nil
}

type sarifDoc struct {
	Schema  string `json:"$schema"`
	Version string
	Runs    []struct {
		Tool struct {
			Driver struct {
				Name, Version, InformationURI string
				Rules                         []struct {
					ID                                      string
					ShortDescription, FullDescription, Help struct{ Text string }
					DefaultConfiguration                    struct{ Level string }
					Properties                              struct{ Tags []string }
				}
			}
		}
		Results []struct {
			RuleID    string
			RuleIndex int
			Level     string
			Message   struct{ Text string }
			Locations []struct {
				PhysicalLocation *struct {
					ArtifactLocation struct{ URI string }
					Region           *struct{ StartLine int }
				}
				LogicalLocations []struct{ Name, FullyQualifiedName, Kind string }
			}
			PartialFingerprints map[string]string
			Properties          map[string]any
		}
	}
}

func TestSARIFValidatesAgainstTheOfficialSchema(t *testing.T) {
	for name, r := range map[string]*Report{
		"fixture": loadScan(t),
		"empty":   {},
		"nil":     nil,
		"odd": {Findings: []finding.Finding{{
			Rule: "", Technique: "", Mitigations: []string{"", "M1018", "M1018", "FGT5013"}, Severity: finding.Severity(9),
			Evidence: map[string]string{"file": "C:\\exports\\a b.yaml", "line": "-3"},
		}, {
			Rule: "r", Technique: "FGT5013", Mitigations: []string{"FGT5013"}, Evidence: map[string]string{"file": "x:y/%zz#?.yaml", "line": "0"},
		}}},
	} {
		t.Run(name, func(t *testing.T) {
			out := render(t, FormatSARIF, r)
			if err := validateSARIF(t, out); err != nil {
				t.Fatalf("SARIF does not validate: %v\n%s", err, out)
			}
		})
	}
}

func TestSARIFContent(t *testing.T) {
	out := render(t, FormatSARIF, loadScan(t))
	var doc sarifDoc
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != "2.1.0" || doc.Schema != SARIFSchema || len(doc.Runs) != 1 {
		t.Fatalf("log: version %q schema %q runs %d", doc.Version, doc.Schema, len(doc.Runs))
	}
	run := doc.Runs[0]
	d := run.Tool.Driver
	if d.Name != "vnfguard" || d.Version != "v0.5.0-test" || d.InformationURI != InformationURI {
		t.Errorf("driver: %+v", d)
	}
	var ruleIDs []string
	for _, r := range d.Rules {
		ruleIDs = append(ruleIDs, r.ID)
		if r.ShortDescription.Text == "" || r.FullDescription.Text == "" || r.Help.Text == "" || len(r.Properties.Tags) == 0 {
			t.Errorf("rule %s lacks descriptions or tags: %+v", r.ID, r)
		}
	}
	if strings.Join(ruleIDs, " ") != "apiserver-audit-log network-no-default-deny rbac-create-pods rbac-pods-exec workload-privileged" {
		t.Errorf("rules are one per rule ID, sorted: %v", ruleIDs)
	}
	exec := d.Rules[3]
	if strings.Join(exec.Properties.Tags, " ") != "FGT1609.501 M1018 M1026" || exec.DefaultConfiguration.Level != "error" ||
		!strings.Contains(exec.Help.Text, "M1018 (User Account Management") {
		t.Errorf("rbac-pods-exec rule: %+v", exec)
	}
	if len(run.Results) != 5 {
		t.Fatalf("results: %d", len(run.Results))
	}
	for _, res := range run.Results {
		if d.Rules[res.RuleIndex].ID != res.RuleID {
			t.Errorf("result %s points at rule %d (%s)", res.RuleID, res.RuleIndex, d.Rules[res.RuleIndex].ID)
		}
	}
	wantLevels := []string{"error", "error", "warning", "note", "note"}
	for i, res := range run.Results {
		if res.Level != wantLevels[i] {
			t.Errorf("result %d (%s) level %q, want %q", i, res.Properties["severity"], res.Level, wantLevels[i])
		}
	}
	crit := run.Results[0]
	loc := crit.Locations[0]
	if loc.LogicalLocations[0].FullyQualifiedName != "ClusterRoleBinding/deployers" || loc.LogicalLocations[0].Kind != "resource" {
		t.Errorf("logical location: %+v", loc.LogicalLocations)
	}
	if loc.PhysicalLocation == nil || loc.PhysicalLocation.ArtifactLocation.URI != "manifests/rbac.yaml" || loc.PhysicalLocation.Region.StartLine != 12 {
		t.Errorf("physical location: %+v", loc.PhysicalLocation)
	}
	if crit.PartialFingerprints[fingerprintKey] != "f-crit-create" || crit.Properties["subject"] != "system:serviceaccount:vnf-a:deployer" ||
		crit.Properties["technique"] != "FGT5013" || crit.Properties["vnfInstance"] != "inst-a" || crit.Properties["severity"] != "critical" {
		t.Errorf("critical result: %+v", crit)
	}
	priv := run.Results[2]
	if got := priv.Locations[0].PhysicalLocation.ArtifactLocation.URI; got != "file:///srv/exported%20manifests/pods.yaml" {
		t.Errorf("absolute path with a space: %q", got)
	}
	if unbound := run.Results[3]; unbound.Locations[0].PhysicalLocation != nil || unbound.Properties["vnfInstance"] != nil {
		t.Errorf("a cluster finding has no file and no instance: %+v", unbound)
	}
}

// TestSchemaRejectsBrokenSARIF proves that the validator above is not a rubber stamp: documents that break the
// SARIF schema in different ways must fail.
func TestSchemaRejectsBrokenSARIF(t *testing.T) {
	valid := render(t, FormatSARIF, loadScan(t))
	if err := validateSARIF(t, valid); err != nil {
		t.Fatalf("baseline must validate: %v", err)
	}
	for name, breakIt := range map[string]func(doc map[string]any){
		"wrong version":         func(doc map[string]any) { doc["version"] = "2.0.0" },
		"no runs":               func(doc map[string]any) { delete(doc, "runs") },
		"unknown top-level key": func(doc map[string]any) { doc["findings"] = []any{} },
		"level critical":        func(doc map[string]any) { result(doc)["level"] = "critical" },
		"no message":            func(doc map[string]any) { delete(result(doc), "message") },
		"ruleIndex below -1":    func(doc map[string]any) { result(doc)["ruleIndex"] = -5 },
		"startLine 0": func(doc map[string]any) {
			loc := result(doc)["locations"].([]any)[0].(map[string]any)
			loc["physicalLocation"].(map[string]any)["region"].(map[string]any)["startLine"] = 0
		},
		"driver without name": func(doc map[string]any) {
			delete(doc["runs"].([]any)[0].(map[string]any)["tool"].(map[string]any)["driver"].(map[string]any), "name")
		},
		"informationUri not a URI": func(doc map[string]any) {
			doc["runs"].([]any)[0].(map[string]any)["tool"].(map[string]any)["driver"].(map[string]any)["informationUri"] = "not a uri"
		},
		"duplicate tags": func(doc map[string]any) {
			rule := doc["runs"].([]any)[0].(map[string]any)["tool"].(map[string]any)["driver"].(map[string]any)["rules"].([]any)[0].(map[string]any)
			rule["properties"].(map[string]any)["tags"] = []any{"M1018", "M1018"}
		},
	} {
		t.Run(name, func(t *testing.T) {
			var doc map[string]any
			if err := json.Unmarshal(valid, &doc); err != nil {
				t.Fatal(err)
			}
			breakIt(doc)
			broken, err := json.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			if err := validateSARIF(t, broken); err == nil {
				t.Errorf("the schema accepted a document with %s", name)
			}
		})
	}
}

// result returns the first result of the first run.
func result(doc map[string]any) map[string]any {
	return doc["runs"].([]any)[0].(map[string]any)["results"].([]any)[0].(map[string]any)
}

func TestFileURI(t *testing.T) {
	for in, want := range map[string]string{
		"manifests/rbac.yaml":       "manifests/rbac.yaml",
		"/srv/a b/c.yaml":           "file:///srv/a%20b/c.yaml",
		"a:b.yaml":                  "./a:b.yaml",
		"dir/100%.yaml":             "dir/100%25.yaml",
		"dir/#x?.yaml":              "dir/%23x%3F.yaml",
		"../exported/pods.json":     "../exported/pods.json",
		"/srv/ümlaut/namespace.yml": "file:///srv/%C3%BCmlaut/namespace.yml",
	} {
		if got := fileURI(in); got != want {
			t.Errorf("fileURI(%q) = %q, want %q", in, got, want)
		}
	}
}
