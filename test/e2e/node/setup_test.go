package node

import (
	"os"
	"testing"

	"github.com/vnfguard/vnfguard/internal/lab"
)

// prepare checks that the real node can run here and builds vnfguard into the test's directory.
func prepare(t *testing.T) (dir, binary string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the real node (kubelet, containerd, a bridge) needs root")
	}
	if err := lab.CheckNodeBinaries(lab.DefaultBinDir()); err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	binary, err := lab.PrepareE2E(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	return dir, binary
}
