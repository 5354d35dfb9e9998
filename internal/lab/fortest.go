package lab

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"
)

// StartForTest starts a control plane (API server and etcd only) for a test that needs a real one: the test fails
// at once when the binaries are missing (never skips: CI builds them), and the control plane stops and the
// context is cancelled when the test ends. within bounds the whole test.
func StartForTest(t testing.TB, within time.Duration) (context.Context, *ControlPlane) {
	t.Helper()
	dir := DefaultBinDir()
	if err := CheckBinaries(dir, false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), within)
	t.Cleanup(cancel)
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cp, err := Start(ctx, Options{BinDir: dir, WorkDir: t.TempDir(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cp.Stop)
	return ctx, cp
}
