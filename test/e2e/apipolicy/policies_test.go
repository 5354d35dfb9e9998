package apipolicy

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
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/vnfguard/vnfguard/internal/apipolicy"
	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/lab"
)

// TestPoliciesHoldWithoutVNFGuard: vnfguard with admission.mode policies admits the VNFM's benign lifecycle through
// the API server's policies alone (no webhook is registered); puts back a binding the attacker deletes, with a
// drift finding and an audit finding naming the attacker; then, stopped, leaves the API server refusing exec and kubectl debug into the STOPPED UPF, a pod
// mounting the terminated UDR's claim, a privileged pod, a host-mounting pod, a fake VNF pod, a rewrite of the
// lifecycle parameters and the removal of the UPF namespace's protection label. With the policies deleted, every one
// of those requests goes through.
func TestPoliciesHoldWithoutVNFGuard(t *testing.T) {
	dir := t.TempDir()
	binary, err := lab.PrepareE2E(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// The API server's audit webhook goes to vnfguard: who switched the policies off is in the audit trail only.
	cp, err := lab.Start(ctx, lab.Options{BinDir: lab.DefaultBinDir(), WorkDir: filepath.Join(dir, "lab"), Logger: logger, AdmissionPolicies: true, AuditToVNFGuard: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Stop()
	env, err := lab.StartPoliciesGuard(ctx, cp, binary)
	if err != nil {
		t.Fatal(err)
	}
	stderr := env.Guard.StderrFile
	defer func() {
		if t.Failed() {
			if data, err := os.ReadFile(stderr); err == nil {
				t.Logf("vnfguard's log:\n%s", lastLines(string(data), 40))
			}
		}
	}()
	admin, adminConfig := cp.ClientFor(lab.Admin)
	if vwc, err := admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().List(ctx, metav1.ListOptions{}); err != nil || len(vwc.Items) != 0 {
		t.Fatalf("policies mode must register no webhook: %v %v", vwc, err)
	}
	waitPolicies(ctx, t, env)

	results, err := lab.RunScenario(ctx, env, lab.PoliciesLifecycleScenario())
	if err != nil {
		t.Fatal(err)
	}
	report(t, "lifecycle under the API server's policies", results)

	// The attacker deletes a binding while vnfguard runs: it is applied again, and the deletion is a finding twice:
	// the keeper's drift (what is gone) and the audit trail's (who took it).
	mallory, _ := cp.ClientFor(lab.Attacker)
	before := env.Guard.FindingCount()
	name := apipolicy.Prefix + "lifecycle-access"
	if err := mallory.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("attacker deletes binding %s: %v", name, err)
	}
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := admin.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Get(ctx, name, metav1.GetOptions{})
		return err == nil, nil
	}); err != nil {
		t.Fatalf("binding %s not applied again after its deletion: %v", name, err)
	}
	drift := false
	for end := time.Now().Add(10 * time.Second); !drift && time.Now().Before(end); {
		for _, f := range env.Guard.Findings()[before:] {
			if f.Rule == apipolicy.DriftRule && f.Object.Name == name {
				drift = true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !drift {
		t.Errorf("no %s finding for the deleted binding %s", apipolicy.DriftRule, name)
	}
	audited := false
	for end := time.Now().Add(15 * time.Second); !audited && time.Now().Before(end); {
		for _, f := range env.Guard.Findings()[before:] {
			if f.Source == "audit" && f.Rule == "vnfguard-object-changed" && f.Identity == lab.Attacker && f.Object.Name == name {
				audited = f.Severity == finding.Critical && f.Technique == finding.MaliciousVNFInstantiation
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !audited {
		t.Errorf("no critical vnfguard-object-changed audit finding naming %s for mallory's deletion of binding %s", lab.Attacker, name)
	}

	// vnfguard down: the API server alone.
	env.Guard.Kill()
	env.Guard = nil
	results, err = lab.RunScenario(ctx, env, lab.Scenario{Name: "dormant attacks, vnfguard down", Steps: lab.DormantAttacks(lab.Denied)})
	if err != nil {
		t.Fatal(err)
	}
	report(t, "attacks with vnfguard down", results)
	for _, r := range results {
		if r.Verdict == lab.Denied && !strings.Contains(r.Message, "vnfguard denied (in the API server)") {
			t.Errorf("%s: denied, but not by vnfguard's policy: %s", r.Step.Name, r.Message)
		}
	}

	// An administrator (the only one params-guard lets) deletes the UDR namespace's parameters: the binding for
	// protected namespaces requires them, so the terminated UDR's claim stays out of reach.
	dyn, err := dynamic.NewForConfig(adminConfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := dyn.Resource(apipolicy.ParamsGVR).Namespace(lab.UDR.Namespace).Delete(ctx, apipolicy.ParamsName, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("administrator deletes the UDR namespace's lifecycle parameters: %v", err)
	}
	steps := lab.DormantAttacks(lab.Denied)
	mount := slices.IndexFunc(steps, func(s lab.Step) bool { return s.Name == "mount terminated VNF's PVC" })
	step := steps[mount]
	step.Name, step.ExpectCheck = "mount terminated VNF's PVC, parameters deleted", ""
	// The API server learns of the deletion from its informer a moment later: until then the policy still reads the
	// old parameters and refuses the mount for the claim itself. Refused every time, then for the missing parameters.
	deadline := time.Now().Add(10 * time.Second)
	for {
		results, err = lab.RunScenario(ctx, env, lab.Scenario{Name: "parameters deleted", Steps: []lab.Step{step}})
		if err != nil {
			t.Fatal(err)
		}
		if results[0].Verdict != lab.Denied {
			report(t, "without the parameters", results)
			t.Fatalf("the terminated UDR's claim was mounted once its parameters were deleted: %s", results[0].Message)
		}
		if strings.Contains(results[0].Message, "no params found") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the claim's mount was not refused for the missing parameters within 10 s: %s", results[0].Message)
		}
		time.Sleep(100 * time.Millisecond)
	}
	report(t, "without the parameters", results)

	// The attack twin namespace-protection stops is real: with its binding gone (vnfguard still down), the attacker
	// takes the UPF's namespace out of protection, and the other policies, all in force, then let a fake VNF in.
	unprotectAndInstantiate(ctx, t, cp, admin)

	// The control: the same requests once the policies are gone.
	if err := apipolicy.Remove(ctx, admin); err != nil {
		t.Fatal(err)
	}
	waitNoPolicies(ctx, t, env)
	results, err = lab.RunScenario(ctx, env, lab.Scenario{Name: "control: no policies", Steps: lab.DormantAttacks(lab.Allowed)})
	if err != nil {
		t.Fatal(err)
	}
	report(t, "the same requests without the policies", results)
}

func report(t *testing.T, what string, results []lab.StepResult) {
	t.Helper()
	for _, r := range results {
		t.Logf("%s: %-40s %-8s %s", what, r.Step.Name, r.Verdict, firstLine(r.Message))
		if !r.OK() {
			t.Errorf("%s: step %q: %s", what, r.Step.Name, strings.Join(r.Problems, "; "))
		}
	}
}

func firstLine(s string) string {
	if len(s) > 240 {
		s = s[:240] + "…"
	}
	return s
}

// waitPolicies waits until the API server enforces every policy vnfguard applies: a policy takes effect once the
// API server's policy informer has it, and a probe (a privileged pod, dry run) shows when that is.
func waitPolicies(ctx context.Context, t *testing.T, env *lab.Env) {
	t.Helper()
	if err := lab.WaitPoliciesEnforced(ctx, env.CP, true); err != nil {
		t.Fatal(err)
	}
}

func waitNoPolicies(ctx context.Context, t *testing.T, env *lab.Env) {
	t.Helper()
	if err := lab.WaitPoliciesEnforced(ctx, env.CP, false); err != nil {
		t.Fatal(err)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// unprotectAndInstantiate deletes the binding of twin namespace-protection, removes the UPF namespace's protection
// label as the attacker and creates a fake UPF pod there (a dry run), which the API server must then let through;
// the label and the binding are put back before it returns.
func unprotectAndInstantiate(ctx context.Context, t *testing.T, cp *lab.ControlPlane, admin kubernetes.Interface) {
	t.Helper()
	mallory, _ := cp.ClientFor(lab.Attacker)
	bindings := admin.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings()
	name := apipolicy.Prefix + "namespace-protection"
	binding, err := bindings.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := bindings.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	restore := []byte(`{"metadata":{"labels":{"vnfguard.io/protected":"true"}}}`)
	defer func() {
		if _, err := admin.CoreV1().Namespaces().Patch(ctx, lab.UPF.Namespace, types.MergePatchType, restore, metav1.PatchOptions{}); err != nil {
			t.Errorf("put back the protection label of %s: %v", lab.UPF.Namespace, err)
		}
		binding.ResourceVersion = ""
		if _, err := bindings.Create(ctx, binding, metav1.CreateOptions{}); err != nil {
			t.Errorf("put back binding %s: %v", name, err)
		}
	}()
	remove := []byte(`{"metadata":{"labels":{"vnfguard.io/protected":null}}}`)
	var patchErr error
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 15*time.Second, true, func(ctx context.Context) (bool, error) {
		_, patchErr = mallory.CoreV1().Namespaces().Patch(ctx, lab.UPF.Namespace, types.MergePatchType, remove, metav1.PatchOptions{})
		return patchErr == nil, nil
	}); err != nil {
		t.Fatalf("without twin namespace-protection, the attacker's removal of %s's protection label: %v, want it let through within 15 s", lab.UPF.Namespace, patchErr)
	}
	// The API server's namespace informer, which the bindings' selectors read, sees the label gone a moment later.
	var createErr error
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 15*time.Second, true, func(ctx context.Context) (bool, error) {
		_, createErr = mallory.CoreV1().Pods(lab.UPF.Namespace).Create(ctx, lab.RoguePod(), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return createErr == nil, nil
	}); err != nil {
		t.Fatalf("namespace %s out of protection, the fake UPF pod: %v, want it let through by the remaining policies within 15 s", lab.UPF.Namespace, createErr)
	}
	t.Logf("without twin namespace-protection: %s taken out of protection by %s, then a fake UPF pod admitted", lab.UPF.Namespace, lab.Attacker)
}
