package lifecycle

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vnfguard/vnfguard/internal/lab"
)

// suite is the control plane and the binary every test shares, started on first use.
var suite struct {
	once   sync.Once
	err    error
	tmp    string
	binary string
	cp     *lab.ControlPlane
	logger *slog.Logger
}

func TestMain(m *testing.M) {
	code := m.Run()
	if suite.cp != nil {
		suite.cp.Stop()
	}
	if suite.tmp != "" && code == 0 {
		os.RemoveAll(suite.tmp)
	} else if suite.tmp != "" {
		fmt.Fprintf(os.Stderr, "lifecycle e2e: logs and vnfguard's output kept in %s\n", suite.tmp)
	}
	os.Exit(code)
}

// start builds vnfguard and starts the control plane, once.
func start(t *testing.T) *lab.ControlPlane {
	t.Helper()
	suite.once.Do(func() { suite.err = setUp() })
	if suite.err != nil {
		t.Fatal(suite.err)
	}
	return suite.cp
}

func setUp() error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	root := lab.RepoRoot(wd)
	if root == "" {
		return fmt.Errorf("lifecycle e2e: %s is not inside the vnfguard repository", wd)
	}
	binDir := lab.DefaultBinDir()
	if err := lab.CheckBinaries(binDir, false); err != nil {
		return fmt.Errorf("lifecycle e2e needs the real control plane: %w", err)
	}
	if suite.tmp, err = os.MkdirTemp("", "vnfguard-lifecycle-"); err != nil {
		return err
	}
	suite.binary = filepath.Join(suite.tmp, "vnfguard")
	if err := lab.BuildVNFGuard(root, suite.binary); err != nil {
		return err
	}
	suite.logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	suite.cp, err = lab.Start(ctx, lab.Options{BinDir: binDir, WorkDir: filepath.Join(suite.tmp, "lab"), Logger: suite.logger})
	return err
}

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
	cmd := exec.CommandContext(ctx, suite.binary, args...)
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
