package node

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vnfguard/vnfguard/internal/lab"
)

// TestRealNodeCleanupAfterCrash: when the kubelet and containerd die (SIGKILL) with a pod running, so that neither
// the API server's deletion nor containerd can stop it, Stop still ends the pod's processes and shim and leaves no
// mount, cgroup, bridge or host path behind.
func TestRealNodeCleanupAfterCrash(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the real node (kubelet, containerd, a bridge) needs root")
	}
	if err := lab.CheckNodeBinaries(lab.DefaultBinDir()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute) // includes waiting for the real-node lock
	defer cancel()
	cp, err := lab.Start(ctx, lab.Options{BinDir: lab.DefaultBinDir(), WorkDir: filepath.Join(t.TempDir(), "lab"), RealNode: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Stop()
	node := cp.RealNode()
	if err := cp.EnsureNamespace(ctx, lab.Sandbox, nil); err != nil {
		t.Fatal(err)
	}
	admin, _ := cp.ClientFor(lab.Admin)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "survivor", Namespace: lab.Sandbox},
		Spec: corev1.PodSpec{NodeName: node.Name, AutomountServiceAccountToken: ptr(false),
			Containers: []corev1.Container{{Name: "app", Image: node.Images.VNF, Command: []string{"/bin/sleep", "3600"}}}},
	}
	if _, err := admin.CoreV1().Pods(lab.Sandbox).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := lab.WaitPodRunning(ctx, admin, lab.Sandbox, pod.Name, time.Minute); err != nil {
		t.Fatal(err)
	}

	killed := 0
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if (filepath.Base(args[0]) == "kubelet" || filepath.Base(args[0]) == "containerd") && strings.Contains(string(cmdline), node.Dir) {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatalf("kill %s (%d): %v", args[0], pid, err)
			}
			killed++
		}
	}
	if killed != 2 {
		t.Fatalf("killed %d processes, want the node's kubelet and containerd", killed)
	}
	cp.Stop()
	if left := node.Leftovers(); len(left) > 0 {
		t.Errorf("after Stop, the node left: %v", left)
	}
}
