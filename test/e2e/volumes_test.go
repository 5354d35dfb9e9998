package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/lab"
)

// udrVolume is the PersistentVolume the lab's set-up made for the UDR's claim (Retain).
var udrVolume = "lab-" + lab.UDR.Namespace + "-" + lab.UDR.Storage[0]

// TestTerminatedVolumeCannotBeRebound (issue 10, item 4): after the scenario has terminated the UDR, its volume is
// retained and still bound to its claim. Mallory, with stolen cluster-admin rights, takes it in her own namespace:
// a claim naming the volume, a pod mounting that claim, and an edit of the volume's claimRef that hands it to her
// claim. Without vnfguard's registration all three are admitted and her claim binds: the attack is real. With it,
// each of the three is denied by lifecycle-data and leaves a finding naming her and FGT1609.501.
func TestTerminatedVolumeCannotBeRebound(t *testing.T) {
	run(t)
	env := suite.env
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	admin, _ := env.CP.ClientFor(lab.Admin)
	mallory, _ := env.CP.ClientFor(lab.Attacker)
	ns := lab.Sandbox

	orig, err := admin.CoreV1().PersistentVolumes().Get(ctx, udrVolume, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if orig.Spec.ClaimRef == nil || orig.Spec.ClaimRef.Name != lab.UDR.Storage[0] || orig.Spec.ClaimRef.UID == "" {
		t.Fatalf("the UDR's volume is not bound to its claim after the scenario: claimRef %+v, phase %s", orig.Spec.ClaimRef, orig.Status.Phase)
	}

	// Without vnfguard: the attack works.
	if err := env.Guard.Unregister(ctx); err != nil {
		t.Fatal(err)
	}
	reregistered := false
	defer func() {
		if !reregistered {
			if err := env.Guard.Register(context.WithoutCancel(ctx)); err != nil {
				t.Errorf("register vnfguard again: %v", err)
			}
		}
	}()
	if _, err := mallory.CoreV1().PersistentVolumeClaims(ns).Create(ctx, lootClaim(ns, "loot"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("without vnfguard, mallory's claim naming the volume: %v", err)
	}
	if _, err := mallory.CoreV1().Pods(ns).Create(ctx, lootPod(ns, "loot-dump", "loot"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("without vnfguard, mallory's pod mounting it: %v", err)
	}
	if err := setClaimRef(ctx, mallory, &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: ns, Name: "loot"}); err != nil {
		t.Fatalf("without vnfguard, mallory's claimRef edit: %v", err)
	}
	var phase corev1.PersistentVolumeClaimPhase
	err = wait.PollUntilContextTimeout(ctx, time.Second, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		pvc, err := admin.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "loot", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		phase = pvc.Status.Phase
		return phase == corev1.ClaimBound, nil
	})
	if err != nil {
		t.Fatalf("without vnfguard, mallory's claim did not bind the terminated UDR's volume (phase %q): %v", phase, err)
	}
	t.Logf("without vnfguard: claim %s/loot, pod %s/loot-dump and the claimRef edit admitted; the claim bound volume %s", ns, ns, udrVolume)

	// Put the volume back to the UDR's claim, and mallory's pod away; her claim stays, naming the volume.
	if err := admin.CoreV1().Pods(ns).Delete(ctx, "loot-dump", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	if err := setClaimRef(ctx, admin, orig.Spec.ClaimRef.DeepCopy()); err != nil {
		t.Fatalf("restore the volume's claimRef: %v", err)
	}

	// With vnfguard: each step is denied.
	if err := env.Guard.Register(ctx); err != nil {
		t.Fatal(err)
	}
	reregistered = true
	for _, step := range []struct {
		name string
		do   func() error
	}{
		{"claim naming the volume", func() error {
			_, err := mallory.CoreV1().PersistentVolumeClaims(ns).Create(ctx, lootClaim(ns, "loot-2"), metav1.CreateOptions{})
			return err
		}},
		{"pod mounting a claim that names the volume", func() error {
			_, err := mallory.CoreV1().Pods(ns).Create(ctx, lootPod(ns, "loot-dump-2", "loot"), metav1.CreateOptions{})
			return err
		}},
		{"claimRef edit handing the volume to her claim", func() error {
			return setClaimRef(ctx, mallory, &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: ns, Name: "loot"})
		}},
		{"claimRef cleared", func() error { return setClaimRef(ctx, mallory, nil) }},
	} {
		t.Run(step.name, func(t *testing.T) {
			before := env.Guard.FindingCount()
			err := step.do()
			if !lab.IsWebhookDenial(err) {
				t.Fatalf("want a vnfguard denial, got %v", err)
			}
			if !containsAll(err.Error(), "lifecycle-data", finding.AccessingTerminatedVNF, lab.UDR.InstanceID) {
				t.Errorf("denial does not name lifecycle-data, %s and the UDR instance: %v", finding.AccessingTerminatedVNF, err)
			}
			fs := waitDenial(ctx, before, "lifecycle-data")
			i := slices.IndexFunc(fs, func(f finding.Finding) bool { return f.Action == "denied" && f.Rule == "lifecycle-data" })
			if i < 0 {
				t.Fatalf("no lifecycle-data denial finding: %s", describe(fs))
			}
			if f := fs[i]; f.Identity != lab.Attacker || f.Technique != finding.AccessingTerminatedVNF || f.Severity != finding.Critical {
				t.Errorf("finding names %s, %s, %s; want %s, %s, critical", f.Identity, f.Technique, f.Severity, lab.Attacker, finding.AccessingTerminatedVNF)
			}
		})
	}
	pv, err := admin.CoreV1().PersistentVolumes().Get(ctx, udrVolume, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.UID != orig.Spec.ClaimRef.UID {
		t.Errorf("the volume's claimRef changed under vnfguard: %+v", pv.Spec.ClaimRef)
	}
}

func lootClaim(ns, name string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: new(string),
			VolumeName:       udrVolume,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
}

func lootPod(ns, name, claim string) *corev1.Pod {
	spec := lab.RestrictedPodSpec("dump", lab.ImageRef("tools/busybox"), []string{"tar", "czf", "-", "/data"})
	spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data", ReadOnly: true}}
	spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim, ReadOnly: true},
	}}}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: spec}
}

// setClaimRef sets the UDR volume's claimRef as the client, as `kubectl edit pv` does (get, change, update).
func setClaimRef(ctx context.Context, cs kubernetes.Interface, ref *corev1.ObjectReference) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		pv, err := cs.CoreV1().PersistentVolumes().Get(ctx, udrVolume, metav1.GetOptions{})
		if err != nil {
			return err
		}
		pv.Spec.ClaimRef = ref
		_, err = cs.CoreV1().PersistentVolumes().Update(ctx, pv, metav1.UpdateOptions{})
		return err
	})
}

// waitDenial waits up to three seconds for a denial finding of check after the first before findings, and returns
// the findings after them. It waits for that check's finding, not any denial: the registration probe's denials (one
// per probe, written to vnfguard's stdout as the webhook answers) can still be on their way when a step begins.
func waitDenial(ctx context.Context, before int, check string) []finding.Finding {
	deadline := time.Now().Add(3 * time.Second)
	for {
		fs := suite.env.Guard.Findings()[before:]
		if slices.ContainsFunc(fs, func(f finding.Finding) bool { return f.Action == "denied" && f.Rule == check }) || time.Now().After(deadline) {
			return fs
		}
		suite.env.Guard.WaitFindings(ctx, before+len(fs), time.Until(deadline))
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
