package lifecycle

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/lab"
)

// The instances of the one-shot report: a STOPPED UPF whose pods still run, a terminated UDR whose PVC and Secret
// were left behind, and an INSTANTIATED SMF whose declared pod does not exist.
const (
	stoppedUPF    = "0c0e6f1a-upf-stopped"
	terminatedUDR = "7d3b9e52-udr-terminated"
	driftingSMF   = "a41f0c77-smf-drifting"
	onceNamespace = "vnf-once"
)

const onceInventory = `apiVersion: vnfguard.io/v1alpha1
kind: Inventory
vnfInstances:
  - id: ` + stoppedUPF + `
    vnfdId: upf-vnfd
    vnfProductName: UPF
    instantiationState: INSTANTIATED
    instantiatedVnfInfo:
      flavourId: simple
      vnfState: STOPPED
      metadata: {namespace: ` + onceNamespace + `}
  - id: ` + terminatedUDR + `
    vnfdId: udr-vnfd
    vnfProductName: UDR
    instantiationState: NOT_INSTANTIATED
  - id: ` + driftingSMF + `
    vnfdId: smf-vnfd
    vnfProductName: SMF
    instantiationState: INSTANTIATED
    instantiatedVnfInfo:
      flavourId: simple
      vnfState: STARTED
      metadata: {namespace: ` + onceNamespace + `}
      vnfcResourceInfo:
        - {id: vnfc-0, vduId: smf, computeResource: {resourceId: smf-0, vimLevelResourceType: StatefulSet}}
`

// TestReconcileOnce: `vnfguard reconcile --once -o json` against the live cluster and an inventory reports one
// finding of each kind, with its technique, severity and VNF instance, and exits 1 (findings at or above high).
func TestReconcileOnce(t *testing.T) {
	cp := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	protected(t, ctx, cp, onceNamespace)
	admin, _ := cp.ClientFor(lab.Admin)

	upf := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "upf", Namespace: onceNamespace, Labels: instanceLabels(stoppedUPF)},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "upf"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "upf"}},
				Spec:       lab.RestrictedPodSpec("upf", lab.UPF.Image(), nil),
			},
		},
	}
	if _, err := admin.AppsV1().Deployments(onceNamespace).Create(ctx, upf, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CoreV1().PersistentVolumeClaims(onceNamespace).Create(ctx, pvc(onceNamespace, "udr-data", instanceLabels(terminatedUDR)), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CoreV1().Secrets(onceNamespace).Create(ctx, secret(onceNamespace, "udr-subscribers", instanceLabels(terminatedUDR)), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rogue := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "cryptominer", Namespace: onceNamespace},
		Spec: lab.RestrictedPodSpec("miner", lab.UPF.Image(), []string{"/bin/xmrig"})}
	if _, err := admin.CoreV1().Pods(onceNamespace).Create(ctx, rogue, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the UPF Deployment's pod", func() bool {
		pods, err := admin.CoreV1().Pods(onceNamespace).List(ctx, metav1.ListOptions{LabelSelector: "app=upf"})
		return err == nil && len(pods.Items) == 1
	})

	dir := t.TempDir()
	inventory := filepath.Join(dir, "inventory.yaml")
	if err := os.WriteFile(inventory, []byte(onceInventory), 0o644); err != nil {
		t.Fatal(err)
	}
	configPath := filepath.Join(dir, "vnfguard.yaml")
	if err := os.WriteFile(configPath, []byte(lab.ConfigYAML(inventory)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runVNFGuard(t, ctx, "reconcile", "--once", "-o", "json", "--config", configPath, "--kubeconfig", cp.Kubeconfig(lab.VNFGuard))
	if code != 1 {
		t.Fatalf("exit %d, want 1 (findings at or above high)\nstdout: %s\nstderr: %s", code, out, stderr)
	}
	var fs []finding.Finding
	if err := json.Unmarshal(out, &fs); err != nil {
		t.Fatalf("-o json is not a JSON array of findings: %v\n%s", err, out)
	}
	want := []struct {
		rule, technique, instance, kind, name string
	}{
		{"reconcile-rogue", finding.MaliciousVNFInstantiation, "", "Pod", "cryptominer"},
		{"reconcile-zombie", finding.AccessingTerminatedVNF, stoppedUPF, "Pod", "upf-"},
		{"reconcile-residual", finding.AccessingTerminatedVNF, terminatedUDR, "PersistentVolumeClaim", "udr-data"},
		{"reconcile-residual", finding.AccessingTerminatedVNF, terminatedUDR, "Secret", "udr-subscribers"},
		{"reconcile-drift", finding.MaliciousVNFInstantiation, driftingSMF, "Pod", "smf-0"},
	}
	for _, w := range want {
		found := false
		for _, f := range fs {
			if f.Rule == w.rule && f.Object.Kind == w.kind && strings.HasPrefix(f.Object.Name, w.name) && f.Object.Namespace == onceNamespace {
				found = true
				if f.Technique != w.technique || f.VNFInstance != w.instance || f.Source != "reconcile" || f.Message == "" || len(f.Mitigations) == 0 {
					t.Errorf("%s on %s %s: technique %q instance %q source %q mitigations %v; want %s, %q, reconcile\n%s",
						w.rule, w.kind, f.Object.Name, f.Technique, f.VNFInstance, f.Source, f.Mitigations, w.technique, w.instance, f.Message)
				}
			}
		}
		if !found {
			t.Errorf("no %s finding on %s %s/%s*; got:\n%s", w.rule, w.kind, onceNamespace, w.name, describe(fs))
		}
	}
	// Nothing else in the namespace: the kube-root-ca.crt ConfigMap, the default ServiceAccount's objects and the
	// UPF's own ReplicaSet are not findings of their own.
	for _, f := range fs {
		if f.Object.Namespace == onceNamespace && f.Object.Kind == "ConfigMap" {
			t.Errorf("unexpected finding on a ConfigMap: %s", f.Message)
		}
	}

	// The table says the same, with a summary line.
	code, table, stderr := runVNFGuard(t, ctx, "reconcile", "--once", "--config", configPath, "--kubeconfig", cp.Kubeconfig(lab.VNFGuard), "--fail-on", "critical")
	if !strings.Contains(string(table), "reconcile-residual") || !strings.Contains(string(table), "1 rogue") {
		t.Errorf("table output lacks the findings or the summary (exit %d):\n%s\n%s", code, table, stderr)
	}
}

func ptr[T any](v T) *T { return &v }

// waitFor polls cond every 100 ms until it holds or ctx ends.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func describe(fs []finding.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("  " + f.Rule + " " + f.Object.String() + " [" + f.VNFInstance + "] " + f.Message + "\n")
	}
	return b.String()
}
