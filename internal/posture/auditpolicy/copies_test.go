package auditpolicy

import (
	"bytes"
	"os"
	"testing"
)

// The plain manifest and the Helm chart ship the recommended policy itself: one source, byte-identical copies.
func TestCopiesAreIdentical(t *testing.T) {
	for _, path := range []string{"../../../deploy/audit-policy.yaml", "../../../deploy/helm/vnfguard/files/audit-policy.yaml"} {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, Recommended()) {
			t.Errorf("%s differs from internal/posture/auditpolicy/recommended.yaml: copy it over (cp internal/posture/auditpolicy/recommended.yaml %s)", path, path[len("../../../"):])
		}
	}
}
