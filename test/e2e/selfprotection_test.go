package e2e

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/vnfguard/vnfguard/internal/admission"
	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/lab"
)

// selfLab is a control plane of its own (these tests take vnfguard's registration and a namespace's protection
// away, which the shared scenario must not see) with its audit webhook pointed at vnfguard.
type selfLab struct {
	cp         *lab.ControlPlane
	binary     string
	inventory  string
	dir        string
	configBase string
}

func startSelfLab(t *testing.T) *selfLab {
	t.Helper()
	binDir := lab.DefaultBinDir()
	dir := t.TempDir()
	binary, err := lab.PrepareE2E(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	s := &selfLab{binary: binary, dir: dir}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if s.cp, err = lab.Start(ctx, lab.Options{BinDir: binDir, WorkDir: filepath.Join(dir, "lab"), Logger: logger, AuditToVNFGuard: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.cp.Stop)
	s.inventory = filepath.Join(dir, "inventory.yaml")
	if _, err := lab.NewNFVO(s.inventory, lab.UPF, lab.UDR).Write(); err != nil {
		t.Fatal(err)
	}
	s.configBase = lab.ConfigYAML(s.inventory)
	return s
}

// guard starts vnfguard with the lab's configuration plus extra, and serve flags args.
func (s *selfLab) guard(t *testing.T, name, extra string, args ...string) *lab.Guard {
	t.Helper()
	path := filepath.Join(s.dir, name+".yaml")
	if err := os.WriteFile(path, []byte(s.configBase+extra), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	g, err := s.cp.StartVNFGuard(ctx, s.binary, path, args...)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// waitFinding waits up to timeout for a finding after the first n that matches.
func waitFinding(g *lab.Guard, n int, timeout time.Duration, match func(finding.Finding) bool) (finding.Finding, bool) {
	deadline := time.Now().Add(timeout)
	for {
		fs := g.Findings()
		if len(fs) > n {
			if i := slices.IndexFunc(fs[n:], match); i >= 0 {
				return fs[n+i], true
			}
		}
		if time.Now().After(deadline) {
			return finding.Finding{}, false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func rogueDeployment(ns string) *appsv1.Deployment {
	labels := map[string]string{"app": "miner"}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "miner", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: lab.RestrictedPodSpec("miner", lab.ImageRef("5gc/upf"), []string{"/xmrig"})},
		},
	}
}

func ptr[T any](v T) *T { return &v }

const removeProtectedLabel = `{"metadata":{"labels":{"vnfguard.io/protected":null}}}`

// TestSelfProtection shows, against the real API server, both attacks on vnfguard's guard rails and what stops them:
// taking a namespace out of protection (item 2) and deleting vnfguard's own registration (item 3).
func TestSelfProtection(t *testing.T) {
	s := startSelfLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	attacker, _ := s.cp.ClientFor(lab.Attacker)
	admin, _ := s.cp.ClientFor(lab.Admin)
	protected := map[string]string{"vnfguard.io/protected": "true"}

	t.Run("namespace protection", func(t *testing.T) {
		g := s.guard(t, "protection", "")
		defer g.Stop()

		// Without the control: the registration as it was before namespaces.vnfguard.io existed.
		vwcs := admin.AdmissionregistrationV1().ValidatingWebhookConfigurations()
		vwc, err := vwcs.Get(ctx, "vnfguard", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		full := vwc.DeepCopy()
		// The registration is whole again when this subtest ends, even if it fails: the next ones start from it.
		t.Cleanup(func() {
			cur, err := vwcs.Get(context.Background(), "vnfguard", metav1.GetOptions{})
			if err == nil && !slices.ContainsFunc(cur.Webhooks, func(w admissionregistrationv1.ValidatingWebhook) bool { return w.Name == admission.NamespacesWebhook }) {
				cur.Webhooks = full.Webhooks
				if _, err := vwcs.Update(context.Background(), cur, metav1.UpdateOptions{}); err != nil {
					t.Errorf("restore the registration: %v", err)
				}
			}
		})
		vwc.Webhooks = slices.DeleteFunc(vwc.Webhooks, func(w admissionregistrationv1.ValidatingWebhook) bool { return w.Name == admission.NamespacesWebhook })
		if _, err := vwcs.Update(ctx, vwc, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := s.cp.EnsureNamespace(ctx, "vnf-open", protected); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second) // the API server picks up webhook configuration changes asynchronously
		if _, err := attacker.AppsV1().Deployments("vnf-open").Create(ctx, rogueDeployment("vnf-open"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); !lab.IsWebhookDenial(err) {
			t.Fatalf("a rogue Deployment in a protected namespace: %v, want a denial (vnf-instantiation)", err)
		}
		if _, err := attacker.CoreV1().Namespaces().Patch(ctx, "vnf-open", types.MergePatchType, []byte(removeProtectedLabel), metav1.PatchOptions{}); err != nil {
			t.Fatalf("without the control, mallory's label removal: %v, want it allowed", err)
		}
		// vnfguard judges protection from its namespace informer, which sees the label removal a moment later: the
		// attack is real once it has (a CI run created the Deployment a few milliseconds too early).
		var createErr error
		if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
			_, createErr = attacker.AppsV1().Deployments("vnf-open").Create(ctx, rogueDeployment("vnf-open"), metav1.CreateOptions{})
			return createErr == nil, nil
		}); err != nil {
			t.Fatalf("without the control, the rogue Deployment after the label removal: %v, want it created within 10 s (the attack is real)", createErr)
		}
		t.Log("without the control: label removed by mallory, rogue Deployment created")
		if f, ok := waitFinding(g, 0, 10*time.Second, func(f finding.Finding) bool {
			return f.Source == "audit" && f.Rule == "namespace-protection-removed" && f.Identity == lab.Attacker
		}); !ok || f.Severity != finding.Critical {
			t.Errorf("no critical audit finding for the label removal within 10 s (got %+v)", f)
		}

		// With the control.
		full.ResourceVersion = ""
		if err := vwcs.Delete(ctx, "vnfguard", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := vwcs.Create(ctx, full, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := s.cp.EnsureNamespace(ctx, "vnf-guarded", protected); err != nil {
			t.Fatal(err)
		}
		n := g.FindingCount()
		var patchErr error
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, patchErr = attacker.CoreV1().Namespaces().Patch(ctx, "vnf-guarded", types.MergePatchType, []byte(removeProtectedLabel), metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}})
			if lab.IsWebhookDenial(patchErr) || time.Now().After(deadline) {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		_, patchErr = attacker.CoreV1().Namespaces().Patch(ctx, "vnf-guarded", types.MergePatchType, []byte(removeProtectedLabel), metav1.PatchOptions{})
		if !lab.IsWebhookDenial(patchErr) || !strings.Contains(patchErr.Error(), "namespace-protection") {
			t.Fatalf("with the control, mallory's label removal: %v, want a namespace-protection denial", patchErr)
		}
		for _, via := range []string{"", "status"} {
			ns, err := attacker.CoreV1().Namespaces().Get(ctx, "vnf-guarded", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			delete(ns.Labels, "vnfguard.io/protected")
			if via == "" {
				_, err = attacker.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{})
			} else {
				_, err = attacker.CoreV1().Namespaces().UpdateStatus(ctx, ns, metav1.UpdateOptions{})
			}
			if !lab.IsWebhookDenial(err) {
				t.Errorf("label removal by an update (subresource %q): %v, want a denial", via, err)
			}
		}
		if err := attacker.CoreV1().Namespaces().Delete(ctx, "vnf-guarded", metav1.DeleteOptions{}); !lab.IsWebhookDenial(err) {
			t.Errorf("delete of the protected namespace: %v, want a denial", err)
		}
		if _, err := attacker.AppsV1().Deployments("vnf-guarded").Create(ctx, rogueDeployment("vnf-guarded"), metav1.CreateOptions{}); !lab.IsWebhookDenial(err) {
			t.Errorf("the rogue Deployment: %v, want a denial (the namespace is still protected)", err)
		}
		if f, ok := waitFinding(g, n, 5*time.Second, func(f finding.Finding) bool {
			return f.Source == "admission" && f.Rule == "namespace-protection" && f.Action == "denied" && f.Identity == lab.Attacker
		}); !ok || f.Severity != finding.Critical || f.Object.Name != "vnf-guarded" {
			t.Errorf("no critical admission finding for the denied label removal (got %+v)", f)
		}
		if f, ok := waitFinding(g, n, 10*time.Second, func(f finding.Finding) bool {
			return f.Source == "audit" && f.Rule == "namespace-protection-removed" && f.Identity == lab.Attacker && f.Object.Name == "vnf-guarded"
		}); !ok || f.Severity != finding.Critical {
			t.Errorf("no critical audit finding for the refused label removal within 10 s (got %+v)", f)
		}
		// An administrator may, and still leaves a critical finding.
		n = g.FindingCount()
		if _, err := admin.CoreV1().Namespaces().Patch(ctx, "vnf-guarded", types.MergePatchType, []byte(removeProtectedLabel), metav1.PatchOptions{}); err != nil {
			t.Fatalf("the administrator's label removal: %v, want it allowed", err)
		}
		if f, ok := waitFinding(g, n, 5*time.Second, func(f finding.Finding) bool {
			return f.Source == "admission" && f.Rule == "namespace-protection" && f.Action == "allowed" && f.Identity == lab.Admin
		}); !ok || f.Severity != finding.Critical {
			t.Errorf("no critical admission finding for the administrator's label removal (got %+v)", f)
		}
	})

	t.Run("registration watchdog", func(t *testing.T) {
		url, err := s.cp.GuardURL()
		if err != nil {
			t.Fatal(err)
		}
		vwcs := attacker.AdmissionregistrationV1().ValidatingWebhookConfigurations()
		peirates := func() error {
			_, err := attacker.CoreV1().Pods("default").Create(ctx, lab.PeiratesPod("default", "peirates"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			return err
		}
		for _, reapply := range []bool{false, true} {
			mode := map[bool]string{false: "report-only", true: "reapply"}[reapply]
			t.Run(mode, func(t *testing.T) {
				extra := "self:\n  registration: {reapply: " + map[bool]string{false: "false", true: "true"}[reapply] + "}\n"
				g := s.guard(t, "watchdog-"+mode, extra, "--webhook-url", url+"/validate", "--webhook-ca-file", s.cp.CAFile)
				defer g.Stop()
				// The lab registered exactly what webhook-config renders: no drift, however the API server stored it.
				time.Sleep(2 * time.Second)
				if m, err := g.Metrics(ctx); err != nil || !strings.Contains(m, `vnfguard_registration_drift{webhookconfiguration="vnfguard"} 0`) {
					t.Fatalf("before the attack: vnfguard_registration_drift is not 0 (%v):\n%s", err, grep(m, "vnfguard_registration"))
				}
				if slices.ContainsFunc(g.Findings(), func(f finding.Finding) bool { return f.Rule == admission.DriftRule }) {
					t.Fatalf("a drift finding for the registration as rendered: %+v", g.Findings())
				}
				n := g.FindingCount()
				deleted := time.Now()
				if err := vwcs.Delete(ctx, "vnfguard", metav1.DeleteOptions{}); err != nil {
					t.Fatalf("mallory deletes vnfguard's registration: %v", err)
				}
				f, ok := waitFinding(g, n, 5*time.Second, func(f finding.Finding) bool { return f.Rule == admission.DriftRule && f.Resolved.IsZero() })
				if !ok || f.Severity != finding.Critical || f.Technique != finding.MaliciousVNFInstantiation || !strings.Contains(f.Message, "is deleted") {
					t.Fatalf("no critical registration-drift finding within 5 s of the deletion (got %+v)", f)
				}
				t.Logf("drift finding %.1f s after the deletion: %s", f.Time.Sub(deleted).Seconds(), f.Message)
				if m, err := g.Metrics(ctx); err != nil || !strings.Contains(m, `vnfguard_registration_drifts_total{webhookconfiguration="vnfguard"} 1`) {
					t.Errorf("vnfguard_registration_drifts_total is not 1 (%v):\n%s", err, grep(m, "vnfguard_registration"))
				}
				if a, ok := waitFinding(g, n, 10*time.Second, func(f finding.Finding) bool {
					return f.Source == "audit" && f.Rule == "vnfguard-object-changed" && f.Identity == lab.Attacker
				}); !ok || a.Severity != finding.Critical || a.Technique != finding.MaliciousVNFInstantiation {
					t.Errorf("no critical vnfguard-object-changed audit finding for mallory's delete within 10 s (got %+v)", a)
				}
				if !reapply {
					if m, _ := g.Metrics(ctx); !strings.Contains(m, `vnfguard_registration_drift{webhookconfiguration="vnfguard"} 1`) {
						t.Errorf("vnfguard_registration_drift is not 1 after the deletion:\n%s", grep(m, "vnfguard_registration"))
					}
					// The attack is real: with the registration gone, the API server admits a Peirates pod.
					deadline := time.Now().Add(30 * time.Second)
					var err error
					for err = peirates(); err != nil && time.Now().Before(deadline); err = peirates() {
						time.Sleep(500 * time.Millisecond)
					}
					if err != nil {
						t.Fatalf("without the registration a Peirates pod is still refused: %v", err)
					}
					t.Log("registration deleted and not re-applied: a Peirates pod is admitted")
					return
				}
				// Re-apply: the registration is back as rendered, and the Peirates pod is denied again.
				deadline := time.Now().Add(30 * time.Second)
				var perr error
				for perr = peirates(); !lab.IsWebhookDenial(perr) && time.Now().Before(deadline); perr = peirates() {
					time.Sleep(250 * time.Millisecond)
				}
				if !lab.IsWebhookDenial(perr) {
					t.Fatalf("after the re-apply a Peirates pod is not denied: %v", perr)
				}
				t.Logf("registration re-applied: Peirates pod denied again %.1f s after the deletion", time.Since(deleted).Seconds())
				live, err := admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, "vnfguard", metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if len(live.Webhooks) < 3 {
					t.Errorf("re-applied registration has %d webhooks", len(live.Webhooks))
				}
				if _, ok := waitFinding(g, n, 10*time.Second, func(f finding.Finding) bool { return f.Rule == admission.DriftRule && !f.Resolved.IsZero() }); !ok {
					t.Errorf("no resolution of the drift after the re-apply")
				}
				if m, _ := g.Metrics(ctx); !strings.Contains(m, `vnfguard_registration_drift{webhookconfiguration="vnfguard"} 0`) {
					t.Errorf("vnfguard_registration_drift is not back to 0:\n%s", grep(m, "vnfguard_registration"))
				}
				// A weakened registration is drift too, and is put back.
				n = g.FindingCount()
				live.Webhooks[0].FailurePolicy = ptr(admissionregistrationv1.Ignore)
				if _, err := vwcs.Update(ctx, live, metav1.UpdateOptions{}); err != nil {
					t.Fatal(err)
				}
				if f, ok := waitFinding(g, n, 5*time.Second, func(f finding.Finding) bool { return f.Rule == admission.DriftRule && f.Resolved.IsZero() }); !ok || !strings.Contains(f.Message, "failurePolicy") {
					t.Errorf("no drift finding naming failurePolicy within 5 s (got %+v)", f)
				}
			})
		}
	})
}

func grep(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
