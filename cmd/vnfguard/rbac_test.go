package main

import (
	"os"
	"strings"
	"testing"
)

// deploy/rbac.yaml is what `vnfguard rbac --config examples/config.yaml` prints: the shipped manifest never drifts
// from the code that the end-to-end tests run under.
func TestShippedRBACIsCurrent(t *testing.T) {
	code, out, errOut := runCLI(t, "rbac", "--config", "../../examples/config.yaml")
	if code != exitClean {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	shipped, err := os.ReadFile("../../deploy/rbac.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if out != string(shipped) {
		t.Errorf("deploy/rbac.yaml is out of date: run `bin/vnfguard rbac --config examples/config.yaml > deploy/rbac.yaml`\n%s", out)
	}
	// The example protects vnf-5gc by name: its Secrets are readable through a RoleBinding there, and only there.
	if !strings.Contains(out, "kind: RoleBinding") || !strings.Contains(out, "namespace: vnf-5gc") {
		t.Errorf("no RoleBinding in vnf-5gc, which the example protects by name:\n%s", out)
	}
}

func TestRBACOptions(t *testing.T) {
	code, out, _ := runCLI(t, "rbac", "--data-namespace", "vnf-smf", "--reapply", "--namespace", "security", "-o", "json")
	if code != exitClean {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{`"namespace": "vnf-smf"`, `"name": "vnfguard-registration"`, `"namespace": "security"`, `"kind": "List"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
	if code, _, errOut := runCLI(t, "rbac", "-o", "xml"); code != exitError || !strings.Contains(errOut, "yaml or json") {
		t.Errorf("-o xml: exit %d, %q; want a usage error", code, errOut)
	}
}
