package lab

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Suite is what the tests of one end-to-end package share: the vnfguard binary, built once, and a control plane
// started on first use with Options; TestMain calls Main, which stops it after the tests and removes its files,
// or keeps them (and says where) when a test failed.
type Suite struct {
	// Name names the package in messages ("lifecycle e2e").
	Name string
	// Options start the control plane; BinDir, WorkDir and Logger are filled in.
	Options Options

	// Root is the repository, Tmp the suite's directory, Binary the vnfguard built into it; set by Start.
	Root, Tmp, Binary string
	CP                *ControlPlane
	Logger            *slog.Logger

	once sync.Once
	err  error
}

// Main runs the tests, then stops the control plane and removes the suite's files unless a test failed.
func (s *Suite) Main(m *testing.M) int {
	code := m.Run()
	if s.CP != nil {
		s.CP.Stop()
	}
	switch {
	case s.Tmp == "":
	case code == 0:
		os.RemoveAll(s.Tmp)
	default:
		fmt.Fprintf(os.Stderr, "%s: logs and vnfguard's output kept in %s\n", s.Name, s.Tmp)
	}
	return code
}

// Start builds vnfguard and starts the control plane, once; every later call returns the same (or fails the test
// with the same error).
func (s *Suite) Start(t testing.TB) *ControlPlane {
	t.Helper()
	s.once.Do(func() { s.err = s.setUp() })
	if s.err != nil {
		t.Fatal(s.err)
	}
	return s.CP
}

func (s *Suite) setUp() error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	if s.Root = RepoRoot(wd); s.Root == "" {
		return fmt.Errorf("%s: %s is not inside the vnfguard repository", s.Name, wd)
	}
	binDir := DefaultBinDir()
	if err := CheckBinaries(binDir, s.Options.APIServerOnly); err != nil {
		return fmt.Errorf("%s needs the real control plane: %w", s.Name, err)
	}
	if s.Tmp, err = os.MkdirTemp("", "vnfguard-e2e-"); err != nil {
		return err
	}
	s.Binary = filepath.Join(s.Tmp, "vnfguard")
	if err := BuildVNFGuard(s.Root, s.Binary); err != nil {
		return err
	}
	s.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	opts := s.Options
	opts.BinDir, opts.WorkDir, opts.Logger = binDir, filepath.Join(s.Tmp, "lab"), s.Logger
	s.CP, err = Start(ctx, opts)
	return err
}
