package lab

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

// RuntimeStack is vnfguard watching the real node from below the API server: serve with /runtime, the node agent
// on the node's containerd, and one VNF instance (Edge) whose pod runs on the node.
type RuntimeStack struct {
	Guard *Guard
	Agent *NodeAgent
	NFVO  *NFVO
	// Edge is the VNF, its package pinning the node's image; Pod its running pod (Edge.Workload).
	Edge VNF
	Pod  *corev1.Pod
}

// EdgeVNF is the real node's VNF of the runtime tests: one pod, in a protected namespace of its own.
var EdgeVNF = VNF{InstanceID: "edge-1", VnfdID: "vnfd-edge", Product: "EDGE", Namespace: "vnf-edge", WorkloadKind: "Pod", Workload: "edge-0", Container: "edge"}

// StartRuntimeStack starts serve (`--runtime` for the agent's ServiceAccount, guardArgs appended), the node agent
// (agentArgs appended) and the Edge VNF, instantiated by the VNFM, its pod Running on the real node.
func (cp *ControlPlane) StartRuntimeStack(ctx context.Context, binary string, guardArgs, agentArgs []string) (*RuntimeStack, error) {
	n := cp.node
	if n == nil {
		return nil, fmt.Errorf("lab: the runtime stack needs the real node (Options.RealNode)")
	}
	s := &RuntimeStack{Edge: EdgeVNF}
	s.Edge.PinnedImage = n.VNFImage()
	s.NFVO = NewNFVO(filepath.Join(cp.WorkDir, "inventory.yaml"), s.Edge)
	s.NFVO.Set(s.Edge, vnf.Instantiated, vnf.Started)
	if _, err := s.NFVO.Write(); err != nil {
		return nil, err
	}
	configPath, err := WriteConfig(cp.WorkDir, s.NFVO.Path, n.Registry()+"/")
	if err != nil {
		return nil, err
	}
	admin := cp.clients[Admin]
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.Edge.Namespace,
		Labels: map[string]string{protectedLabel: "true"}}}, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("lab: namespace %s: %w", s.Edge.Namespace, err)
	}
	if s.Guard, err = cp.StartVNFGuard(ctx, binary, configPath, append([]string{"--runtime", "--runtime-agent", NodeAgentUser("vnfguard")}, guardArgs...)...); err != nil {
		return nil, err
	}
	if s.Agent, err = cp.StartNodeAgent(ctx, binary, s.Guard, "vnfguard", agentArgs...); err != nil {
		return nil, err
	}
	s.Pod = n.VNFPod(s.Edge, s.Edge.Workload)
	if _, err := cp.clients[VNFM].CoreV1().Pods(s.Edge.Namespace).Create(ctx, s.Pod, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("lab: the VNFM's pod: %w", err)
	}
	if err := WaitPodRunning(ctx, admin, s.Edge.Namespace, s.Pod.Name, time.Minute); err != nil {
		return nil, err
	}
	return s, nil
}
