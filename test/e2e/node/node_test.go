package node

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vnfguard/vnfguard/internal/lab"
)

func TestRealNode(t *testing.T) {
	dir, binary := prepare(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute) // includes waiting for the real-node lock
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	started := time.Now()
	cp, err := lab.Start(ctx, lab.Options{BinDir: lab.DefaultBinDir(), WorkDir: filepath.Join(dir, "lab"), Logger: logger, RealNode: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Stop()
	node := cp.RealNode()
	t.Logf("control plane and real node %s Ready in %.1f s (pod network %s)", node.Name, time.Since(started).Seconds(), node.PodCIDR)
	scenarioStart := time.Now()

	admin, _ := cp.ClientFor(lab.Admin)
	attack, err := node.PrepareHostTakeover(cp.WorkDir)
	if err != nil {
		t.Fatal(err)
	}
	defer attack.Close()

	// (a) Control run, vnfguard not registered: the attack is real — the pod runs, its reverse shell reaches the
	// test's listener and reads the canary planted on the host through the hostPath mount.
	control, err := lab.RunScenario(ctx, &lab.Env{CP: cp, Logger: logger}, lab.HostTakeoverControl(attack))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range control {
		if !r.OK() {
			t.Fatalf("control run: %s: %s (%s)", r.Step.Name, strings.Join(r.Problems, "; "), r.Message)
		}
		t.Logf("control run: %s: %s", r.Step.Name, r.Detail)
	}

	// (b) With vnfguard: the same pod is denied (host-takeover and reverse-shell, with findings), and (c) the
	// on-call engineer's exec into a running pod of a protected namespace prints the command's output through the
	// API server and the kubelet and is recorded as break-glass.
	env, err := lab.StartGuard(ctx, cp, binary)
	if err != nil {
		t.Fatal(err)
	}
	results, err := lab.RunScenario(ctx, env, lab.RealNodeScenario(attack))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if !r.OK() {
			t.Errorf("%s: %s", r.Step.Name, strings.Join(r.Problems, "; "))
			continue
		}
		t.Logf("with vnfguard: %s: %s %s %v", r.Step.Name, r.Verdict, r.Detail, r.Checks)
	}
	if peirates := results[0]; !slices.Contains(peirates.Checks, "reverse-shell") {
		t.Errorf("the denial of the Peirates pod does not name reverse-shell: %v", peirates.Checks)
	}
	if _, err := admin.CoreV1().Pods(lab.Sandbox).Get(ctx, "peirates-real", metav1.GetOptions{}); err == nil {
		t.Error("the denied pod exists")
	}

	t.Logf("attack, denial and break-glass on the real node took %.1f s", time.Since(scenarioStart).Seconds())

	// Stop leaves nothing of the node behind: no mount, cgroup, bridge or host path it made, the kernel settings
	// the kubelet changed written back.
	stopStart := time.Now()
	cp.Stop()
	if left := node.Leftovers(); len(left) > 0 {
		t.Errorf("after Stop, the node left: %v", left)
	}
	t.Logf("Stop took %.1f s and left nothing of the node behind", time.Since(stopStart).Seconds())
}

func ptr[T any](v T) *T { return &v }
