package lifecycle

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vnfguard/vnfguard/internal/lab"
)

// suite is the control plane and the binary every test shares, started on first use.
var suite = &lab.Suite{Name: "lifecycle e2e"}

func TestMain(m *testing.M) { os.Exit(suite.Main(m)) }

// start builds vnfguard and starts the control plane, once.
func start(t *testing.T) *lab.ControlPlane { return suite.Start(t) }

// protected creates a protected namespace.
func protected(t *testing.T, ctx context.Context, cp *lab.ControlPlane, name string) {
	t.Helper()
	if err := cp.EnsureNamespace(ctx, name, map[string]string{"vnfguard.io/protected": "true"}); err != nil {
		t.Fatal(err)
	}
}

// instanceLabels are the labels Tacker puts on the top-level objects it creates for an instance.
func instanceLabels(id string) map[string]string {
	return map[string]string{"tacker_vnf_instance_id": id}
}

func pvc(namespace, name string, labels map[string]string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
}

func secret(namespace, name string, labels map[string]string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels},
		StringData: map[string]string{"subscriber-key": "465B5CE8B199B49FAA5F0A2EE238A6BC"},
	}
}

// runVNFGuard runs the binary and returns its exit code, stdout and stderr.
func runVNFGuard(t *testing.T, ctx context.Context, args ...string) (int, []byte, string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, suite.Binary, args...)
	var stderr safeBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run vnfguard %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return code, out, stderr.String()
}

type safeBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *safeBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *safeBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
