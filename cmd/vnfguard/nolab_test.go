package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The production binary carries no control-plane launcher: internal/lab (which starts etcd and kube-apiserver,
// writes kubeconfigs and mints tokens) is linked only into cmd/vnfguard-lab and the tests.
func TestProductionBinaryHasNoLab(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasSuffix(pkg, "/internal/lab") {
			t.Fatalf("cmd/vnfguard links %s", pkg)
		}
	}
}
