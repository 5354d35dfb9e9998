package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/report/sariftest"
)

var scanExample = []string{"-f", "../../examples/posture", "--config", "../../examples/config.yaml",
	"--inventory", "../../examples/posture-inventory.yaml", "--component-config", "../../examples/posture-components"}

// TestScanExampleSARIF: the offline scan of the example export is SARIF that the official schema accepts, with a
// result per finding.
func TestScanExampleSARIF(t *testing.T) {
	code, out, errOut := runCLI(t, append([]string{"scan", "-o", "sarif"}, scanExample...)...)
	if code != exitFindings {
		t.Fatalf("exit %d, want %d (high findings): %s", code, exitFindings, errOut)
	}
	if err := sariftest.Validate([]byte(out)); err != nil {
		t.Fatalf("-o sarif does not validate against the SARIF 2.1.0 schema: %v", err)
	}
	var sarif struct {
		Runs []struct{ Results []struct{ RuleID string } }
	}
	if err := json.Unmarshal([]byte(out), &sarif); err != nil || len(sarif.Runs) != 1 || len(sarif.Runs[0].Results) < 20 {
		t.Fatalf("want one run with the example's findings as results (at least 20); err %v", err)
	}
}

// TestScanExampleJSON: every area reports on the example export, each finding with technique, mitigations, severity
// and subject or object.
func TestScanExampleJSON(t *testing.T) {
	_, out, errOut := runCLI(t, append([]string{"scan", "-o", "json"}, scanExample...)...)
	var rep struct{ Findings []finding.Finding }
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("-o json: %v\n%s", err, errOut)
	}
	areas := map[string]bool{}
	for _, f := range rep.Findings {
		if f.Technique == "" || len(f.Mitigations) == 0 || (f.Identity == "" && f.Object.Name == "") {
			t.Errorf("finding %s lacks technique, mitigations or subject/object: %+v", f.Rule, f)
		}
		switch {
		case strings.HasPrefix(f.Rule, "rbac-"):
			areas["rbac"] = true
		case strings.HasPrefix(f.Rule, "exposure-"):
			areas["exposure"] = true
		case strings.HasPrefix(f.Rule, "posture-"):
			areas["workloads"] = true
		case f.Rule == "exposed-service" || f.Rule == "no-default-deny" || f.Rule == "host-network":
			areas["network"] = true
		}
	}
	for _, a := range []string{"rbac", "exposure", "workloads", "network"} {
		if !areas[a] {
			t.Errorf("no %s finding in the example scan", a)
		}
	}
}

// TestScanWhoCan: who-can lists the subject and the binding that grant the right, and nobody else.
func TestScanWhoCan(t *testing.T) {
	code, out, errOut := runCLI(t, "scan", "rbac", "--who-can", "create", "pods", "-n", "vnf-upf", "-f", "../../examples/posture")
	if code != 0 || !strings.Contains(out, "Group system:authenticated") || !strings.Contains(out, "RoleBinding vnf-upf/everyone-creates") {
		t.Fatalf("exit %d:\n%s\n%s", code, out, errOut)
	}
	if strings.Contains(out, "User bob") {
		t.Errorf("bob may only exec in vnf-udr, yet is listed as able to create pods in vnf-upf:\n%s", out)
	}
	_, out, _ = runCLI(t, "scan", "rbac", "--who-can", "get", "pods/exec", "-n", "vnf-udr", "-f", "../../examples/posture", "-o", "json")
	if !strings.Contains(out, `"name": "bob"`) || !strings.Contains(out, "vnf-operator") {
		t.Errorf("get pods/exec in vnf-udr: bob through the aggregated vnf-operator role is missing:\n%s", out)
	}
	if code, _, errOut := runCLI(t, "scan", "rbac", "--who-can", "create", "-f", "../../examples/posture"); code != exitError || !strings.Contains(errOut, "usage") {
		t.Errorf("--who-can without a resource: exit %d, %s; want a usage error", code, errOut)
	}
}
