package workloads

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/vnfguard/vnfguard/internal/lab"
)

const protected = "vnf-smf"

func rc(namespace, name string, labels map[string]string, spec corev1.PodSpec) *corev1.ReplicationController {
	one := int32(1)
	return &corev1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels},
		Spec: corev1.ReplicationControllerSpec{Replicas: &one, Selector: map[string]string{"app": name},
			Template: &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}}, Spec: spec}},
	}
}

func TestReplicationControllersGoverned(t *testing.T) {
	dir := t.TempDir()
	binary, err := lab.PrepareE2E(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	inventory := filepath.Join(dir, "inventory.yaml")
	configPath := filepath.Join(dir, "vnfguard.yaml")
	for path, data := range map[string]string{
		inventory: `apiVersion: vnfguard.io/v1alpha1
kind: Inventory
vnfInstances:
  - {id: smf-1, vnfdId: smf-vnfd, vnfProvider: Acme, vnfProductName: SMF, instantiationState: INSTANTIATED,
     instantiatedVnfInfo: {flavourId: simple, vnfState: STOPPED, metadata: {namespace: ` + protected + `}}}
`,
		configPath: `apiVersion: vnfguard.io/v1alpha1
kind: Config
protectedNamespaces: {names: [` + protected + `]}
identities:
  vnfm: {users: [` + lab.VNFM + `]}
inventory: {file: inventory.yaml}
`,
	} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cp, err := lab.Start(ctx, lab.Options{BinDir: lab.DefaultBinDir(), WorkDir: filepath.Join(dir, "lab"), Logger: logger, APIServerOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Stop()
	for _, ns := range []string{lab.Sandbox, protected} {
		if err := cp.EnsureNamespace(ctx, ns, nil); err != nil {
			t.Fatal(err)
		}
	}
	admin, _ := cp.ClientFor(lab.Admin)
	attacker, _ := cp.ClientFor(lab.Attacker)
	// The SMF instance's controller, scaled to zero when the NFVO stopped it.
	stoppedRC := rc(protected, "smf", map[string]string{"tacker_vnf_instance_id": "smf-1"}, lab.PeiratesPod(protected, "x").Spec)
	zero := int32(0)
	stoppedRC.Spec.Replicas = &zero
	stoppedRC.Spec.Template.Spec = corev1.PodSpec{Containers: []corev1.Container{{Name: "smf", Image: "registry.5gc.example/5gc/smf:1"}}}
	if _, err := admin.CoreV1().ReplicationControllers(protected).Create(ctx, stoppedRC, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	dryRun := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	attacks := []struct {
		name  string
		check string
		do    func(cs *kubernetes.Clientset) error
	}{
		{"Peirates pod template in a ReplicationController", "host-takeover", func(cs *kubernetes.Clientset) error {
			_, err := cs.CoreV1().ReplicationControllers(lab.Sandbox).Create(ctx, rc(lab.Sandbox, "peirates", nil, lab.PeiratesPod(lab.Sandbox, "p").Spec), dryRun)
			return err
		}},
		{"rogue ReplicationController in a protected namespace", "vnf-instantiation", func(cs *kubernetes.Clientset) error {
			spec := corev1.PodSpec{Containers: []corev1.Container{{Name: "miner", Image: "registry.5gc.example/5gc/smf:1"}}}
			_, err := cs.CoreV1().ReplicationControllers(protected).Create(ctx, rc(protected, "rogue", nil, spec), dryRun)
			return err
		}},
		{"scaling the stopped SMF's ReplicationController up", "lifecycle-scale", func(cs *kubernetes.Clientset) error {
			_, err := cs.CoreV1().ReplicationControllers(protected).UpdateScale(ctx, "smf",
				&autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "smf", Namespace: protected}, Spec: autoscalingv1.ScaleSpec{Replicas: 3}},
				metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
			return err
		}},
	}
	// Without vnfguard every attack is accepted: they are real.
	for _, a := range attacks {
		if err := a.do(attacker); err != nil {
			t.Fatalf("%s, before vnfguard: %v; the attack must work without the control", a.name, err)
		}
	}
	if _, err := cp.StartVNFGuard(ctx, binary, configPath); err != nil {
		t.Fatal(err)
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			err := a.do(attacker)
			if err == nil || !lab.IsWebhookDenial(err) || !strings.Contains(err.Error(), "["+a.check+" ") {
				t.Fatalf("got %v, want an admission-webhook denial by %s", err, a.check)
			}
		})
	}
}
