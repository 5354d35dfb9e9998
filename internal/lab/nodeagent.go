package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NodeAgentServiceAccount is the ServiceAccount the lab's node agent authenticates as, in vnfguard's namespace.
const NodeAgentServiceAccount = "vnfguard-node"

// NodeAgentUser is the agent's user name, for serve's --runtime-agent.
func NodeAgentUser(namespace string) string {
	return "system:serviceaccount:" + namespace + ":" + NodeAgentServiceAccount
}

// NodeAgent is `vnfguard node` on the real node, run as the DaemonSet's pod would run it (root, the host's PID
// namespace and /proc, the node's containerd socket), with a token of its ServiceAccount.
type NodeAgent struct {
	Binary, LogFile string
	args            []string
	proc            *process
}

// StartNodeAgent creates the agent's ServiceAccount in namespace (vnfguard's) with a token from the TokenRequest
// API, and starts `binary node` reporting to guard's /runtime. extraArgs are appended.
func (cp *ControlPlane) StartNodeAgent(ctx context.Context, binary string, guard *Guard, namespace string, extraArgs ...string) (*NodeAgent, error) {
	n := cp.node
	if n == nil {
		return nil, fmt.Errorf("lab: the node agent needs the real node (Options.RealNode)")
	}
	admin := cp.clients[Admin]
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("lab: namespace %s: %w", namespace, err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: NodeAgentServiceAccount, Namespace: namespace}}
	if _, err := admin.CoreV1().ServiceAccounts(namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("lab: node agent ServiceAccount: %w", err)
	}
	// Its one permission: the kubelet's probe counts (nodes/metrics), which account for exec probes.
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "vnfguard-node"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"nodes/metrics"}, Verbs: []string{"get"}}}}
	if _, err := admin.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("lab: node agent ClusterRole: %w", err)
	}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "vnfguard-node"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: NodeAgentServiceAccount, Namespace: namespace}}}
	if _, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("lab: node agent ClusterRoleBinding: %w", err)
	}
	tr, err := admin.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, NodeAgentServiceAccount,
		&authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: ptrTo[int64](3600)}}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("lab: node agent token: %w", err)
	}
	dir := filepath.Join(cp.WorkDir, "node-agent")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(tr.Status.Token), 0o600); err != nil {
		return nil, err
	}
	a := &NodeAgent{Binary: binary, LogFile: filepath.Join(dir, "agent.log"), args: append([]string{"node",
		"--containerd-socket", n.socket(), "--node-name", n.Name, "--intake-url", guard.URL + "/runtime", "--intake-ca", cp.CAFile,
		"--token-file", tokenFile, "--proc-root", "/proc", "--log-level", "debug",
		"--kubelet-url", n.kubeletURL(), "--kubelet-ca", cp.CAFile}, extraArgs...)}
	if err := a.Start(ctx); err != nil {
		return nil, err
	}
	cp.mu.Lock()
	cp.agents = append(cp.agents, a)
	cp.mu.Unlock()
	return a, nil
}

// Start starts the agent (again) and waits until it follows containerd.
func (a *NodeAgent) Start(ctx context.Context) error {
	following := func() int {
		data, _ := os.ReadFile(a.LogFile) // appended to by every run
		return strings.Count(string(data), `"following containerd"`)
	}
	before := following()
	p, err := startProcess("vnfguard-node", a.Binary, a.args, a.LogFile, nil)
	if err != nil {
		return err
	}
	a.proc = p
	return waitFor(ctx, 30*time.Second, p, "node agent following containerd", func(context.Context) (bool, error) {
		return following() > before, nil
	})
}

// Kill ends the agent with SIGKILL: nothing is flushed, nothing handed over.
func (a *NodeAgent) Kill() {
	if a.proc == nil || a.proc.exited() {
		return
	}
	_ = a.proc.cmd.Process.Signal(syscall.SIGKILL)
	<-a.proc.done
}

// Stop stops the agent with SIGTERM.
func (a *NodeAgent) Stop() { a.proc.stop(10 * time.Second) }

// Pid is the agent's process ID (for its CPU and memory).
func (a *NodeAgent) Pid() int { return a.proc.cmd.Process.Pid }

// VNFImage is the real node's VNF image pinned by digest (repo@sha256:...), what a package declares for it.
func (n *Node) VNFImage() string {
	return strings.TrimSuffix(n.Images.VNF, ":1") + "@" + n.Images.VNFDigest
}

// VNFPod is a pod of v's instance on the real node, as a VNFM creates it: the instance label on the pod, the
// package's image, a restricted spec, placed on the real node, with an exec readiness probe every 2 s (the
// kubelet's own execs, which are no bypass of the API server).
func (n *Node) VNFPod(v VNF, name string) *corev1.Pod {
	spec := restrictedPodSpec(v.Container, n.VNFImage(), []string{"/bin/sleep", "3600"})
	spec.NodeName = n.Name
	spec.Tolerations = []corev1.Toleration{{Key: RealNodeTaint, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
	spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"cat", "/etc/hostname"}}},
		PeriodSeconds: 2}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: v.Namespace, Labels: workloadLabels(v)}, Spec: spec}
}
