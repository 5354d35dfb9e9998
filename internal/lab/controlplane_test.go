package lab

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// startControlPlane starts the real control plane for a test. Missing binaries fail the test with the command
// that builds them: the lab is part of what `make test` proves, never skipped.
func startControlPlane(t *testing.T) *ControlPlane {
	t.Helper()
	dir := DefaultBinDir()
	if err := CheckBinaries(dir, false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	started := time.Now()
	cp, err := Start(ctx, Options{BinDir: dir, WorkDir: t.TempDir(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("control plane started in %.1f s at %s", time.Since(started).Seconds(), cp.URL)
	t.Cleanup(cp.Stop)
	return cp
}

// TestControlPlaneWithoutVNFGuard starts the control plane alone and runs the whole scenario against it: every
// identity authenticates as itself, the benign lifecycle works (controllers, scheduler, kwok), and every attack
// step is ALLOWED — which proves that the denials of the end-to-end test come from vnfguard, not from RBAC.
func TestControlPlaneWithoutVNFGuard(t *testing.T) {
	cp := startControlPlane(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	wantGroups := map[string]string{Admin: "system:masters", VNFM: GroupVNFM, BreakGlass: GroupBreakGlass, ControllerManager: "system:masters"}
	for _, name := range Identities() {
		cs, _ := cp.ClientFor(name)
		review, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("SelfSubjectReview as %s: %v", name, err)
		}
		if got := review.Status.UserInfo.Username; got != name {
			t.Errorf("token of %s authenticates as %q", name, got)
		}
		if g, ok := wantGroups[name]; ok && !contains(review.Status.UserInfo.Groups, g) {
			t.Errorf("%s is in groups %v, want %s among them", name, review.Status.UserInfo.Groups, g)
		}
		if cp.Kubeconfig(name) == "" {
			t.Errorf("no kubeconfig written for %s", name)
		}
	}
	anon, _ := cp.ClientFor("nobody")
	if _, err := anon.CoreV1().Pods("default").List(ctx, metav1.ListOptions{}); err == nil {
		t.Error("an unknown identity got an authorised client; want the anonymous one, which RBAC refuses")
	}

	nfvo := NewNFVO(cp.WorkDir+"/inventory.yaml", UPF, UDR)
	env := &Env{CP: cp, NFVO: nfvo, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	results, err := RunScenario(ctx, env, DefaultScenario())
	if err != nil {
		t.Fatal(err)
	}
	for i := range results {
		r := &results[i]
		want := r.Step.Expect
		if want == Denied {
			want = Allowed // nothing but vnfguard may deny these
		}
		if r.Verdict != want {
			t.Errorf("step %d %s (%s as %s): verdict %s, want %s without vnfguard: %s %s", i+1, r.Step.Name, r.Step.Request, r.Step.Identity, r.Verdict, want, r.Message, r.Detail)
		}
	}
	if t.Failed() {
		var b strings.Builder
		_ = RenderTable(&b, results)
		t.Log("\n" + b.String())
	}
}

func TestStartReportsMissingBinaries(t *testing.T) {
	_, err := Start(context.Background(), Options{BinDir: t.TempDir()})
	var missing *MissingBinariesError
	if !errors.As(err, &missing) {
		t.Fatalf("Start with an empty BinDir: got %v, want a *MissingBinariesError", err)
	}
	if len(missing.Missing) != 5 {
		t.Errorf("missing %v, want all five binaries", missing.Missing)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestFreePortsAreDistinct(t *testing.T) {
	for range 200 {
		ports, err := freePorts(2)
		if err != nil {
			t.Fatal(err)
		}
		if ports[0] == ports[1] {
			t.Fatalf("freePorts(2) returned port %d twice", ports[0])
		}
	}
}
