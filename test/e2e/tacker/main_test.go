package tacker

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vnfguard/vnfguard/internal/lab"
)

// suite is the control plane (its VNFM identity least-privileged, as a real Tacker's VIM registration is) and the
// binary the tests share.
var suite = &lab.Suite{Name: "tacker e2e", Options: lab.Options{LeastPrivilegeVNFM: true}}

func TestMain(m *testing.M) { os.Exit(suite.Main(m)) }

// tacker is the Tacker tree: given in VNFGUARD_TACKER_TREE, or built (and cached) by the project's own script.
var tacker struct {
	once sync.Once
	tree string
	err  error
}

func start(t *testing.T) (*lab.ControlPlane, string) {
	t.Helper()
	cp := suite.Start(t)
	tacker.once.Do(func() {
		if tacker.tree = os.Getenv(lab.TackerTreeEnv); tacker.tree != "" {
			return
		}
		out, err := exec.Command("bash", filepath.Join(suite.Root, "hack", "tacker-tree.sh")).Output()
		if err != nil {
			tacker.err = fmt.Errorf("tacker e2e: hack/tacker-tree.sh: %w", err)
			return
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		tacker.tree = lines[len(lines)-1]
	})
	if tacker.err != nil {
		t.Fatal(tacker.err)
	}
	return cp, tacker.tree
}
