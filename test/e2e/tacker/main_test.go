package tacker

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vnfguard/vnfguard/internal/lab"
)

// suite is the control plane, the Tacker tree and the binary the test uses, set up once.
var suite struct {
	once   sync.Once
	err    error
	root   string
	tmp    string
	binary string
	tree   string
	cp     *lab.ControlPlane
	logger *slog.Logger
}

func TestMain(m *testing.M) {
	code := m.Run()
	if suite.cp != nil {
		suite.cp.Stop()
	}
	if suite.tmp != "" && code == 0 {
		os.RemoveAll(suite.tmp)
	} else if suite.tmp != "" {
		fmt.Fprintf(os.Stderr, "tacker e2e: logs kept in %s\n", suite.tmp)
	}
	os.Exit(code)
}

func start(t *testing.T) *lab.ControlPlane {
	t.Helper()
	suite.once.Do(func() { suite.err = setUp() })
	if suite.err != nil {
		t.Fatal(suite.err)
	}
	return suite.cp
}

func setUp() error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	suite.root = lab.RepoRoot(wd)
	if suite.root == "" {
		return fmt.Errorf("tacker e2e: %s is not inside the vnfguard repository", wd)
	}
	binDir := lab.DefaultBinDir()
	if err := lab.CheckBinaries(binDir, false); err != nil {
		return fmt.Errorf("tacker e2e needs the real control plane: %w", err)
	}
	// The Tacker tree: given, or built (cached) by the project's own script.
	suite.tree = os.Getenv(lab.TackerTreeEnv)
	if suite.tree == "" {
		out, err := exec.Command("bash", filepath.Join(suite.root, "hack", "tacker-tree.sh")).Output()
		if err != nil {
			return fmt.Errorf("tacker e2e: hack/tacker-tree.sh: %w", err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		suite.tree = lines[len(lines)-1]
	}
	if suite.tmp, err = os.MkdirTemp("", "vnfguard-tacker-"); err != nil {
		return err
	}
	suite.binary = filepath.Join(suite.tmp, "vnfguard")
	if err := lab.BuildVNFGuard(suite.root, suite.binary); err != nil {
		return err
	}
	suite.logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	suite.cp, err = lab.Start(ctx, lab.Options{BinDir: binDir, WorkDir: filepath.Join(suite.tmp, "lab"), Logger: suite.logger,
		LeastPrivilegeVNFM: true})
	return err
}
