package policy

import (
	"context"
	"strings"
	"testing"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// agentPod is a pod of the node agent's DaemonSet as the DaemonSet controller creates it.
func agentPod() *corev1.Pod {
	socket := corev1.HostPathSocket
	yes, no, uid := true, false, int64(65532)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "vnfguard-node-x7k2p", Namespace: "vnfguard",
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "vnfguard-node", UID: "d1", Controller: &yes}}},
		Spec: corev1.PodSpec{
			ServiceAccountName: "vnfguard-node", HostPID: true,
			SecurityContext: &corev1.PodSecurityContext{RunAsUser: &uid},
			Containers: []corev1.Container{{Name: "node-agent", Image: "vnfguard/vnfguard:0.1.0", Args: []string{"node"},
				SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &yes,
					Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"NET_ADMIN"}}},
				VolumeMounts: []corev1.VolumeMount{{Name: "containerd-socket", MountPath: "/host/run/containerd/containerd.sock", ReadOnly: true}}}},
			Volumes: []corev1.Volume{{Name: "containerd-socket", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{
				Path: "/run/containerd/containerd.sock", Type: &socket}}}},
		},
	}
}

func TestNodeAgentException(t *testing.T) {
	cfg := config.Default()
	cfg.Self.Image = "vnfguard/vnfguard:0.1.0"
	ev, err := New(Environment{Config: cfg, Inventory: vnf.Static{Snap: vnf.Empty("none")}})
	if err != nil {
		t.Fatal(err)
	}
	judge := func(p *corev1.Pod, c *config.Config) *Decision {
		e := ev
		if c != nil {
			if e, err = New(Environment{Config: c, Inventory: vnf.Static{Snap: vnf.Empty("none")}}); err != nil {
				t.Fatal(err)
			}
		}
		return e.Evaluate(context.Background(), &Request{UID: "u", Operation: Create, Kind: corev1.SchemeGroupVersion.WithKind("Pod"),
			Resource: corev1.SchemeGroupVersion.WithResource("pods"), Namespace: p.Namespace, Name: p.Name,
			User: authnv1.UserInfo{Username: "system:serviceaccount:kube-system:daemon-set-controller"}, Object: p})
	}
	d := judge(agentPod(), nil)
	if !d.Allowed || len(d.Overrides) < 3 || d.Exceptions[len(d.Exceptions)-1] != NodeAgentException {
		t.Fatalf("the agent's pod: allowed %v overrides %v exceptions %v denials %v", d.Allowed, d.Overrides, d.Exceptions, d.Denials)
	}
	for _, o := range d.Overrides {
		if !strings.Contains(o.Message, NodeAgentException) {
			t.Errorf("override %s does not name the exception: %s", o.Check, o.Message)
		}
	}
	for _, tc := range []struct {
		name string
		edit func(*corev1.Pod)
		why  string
	}{
		{"not vnfguard's image", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "attacker/agent:1" }, "not vnfguard's own image"},
		{"SYS_ADMIN besides NET_ADMIN", func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext.Capabilities.Add = append(p.Spec.Containers[0].SecurityContext.Capabilities.Add, "SYS_ADMIN")
		}, "only NET_ADMIN"},
		{"the whole /run/containerd", func(p *corev1.Pod) { p.Spec.Volumes[0].HostPath.Path = "/run/containerd" }, "not the containerd socket"},
		{"root", func(p *corev1.Pod) { zero := int64(0); p.Spec.SecurityContext.RunAsUser = &zero }, "may run as root"},
		{"owned by another DaemonSet", func(p *corev1.Pod) { p.OwnerReferences[0].Name = "vnfguard-node-debug" }, ""},
		{"in another namespace", func(p *corev1.Pod) { p.Namespace = "tools" }, ""},
	} {
		p := agentPod()
		tc.edit(p)
		d := judge(p, nil)
		if d.Allowed || len(d.Overrides) > 0 {
			t.Errorf("%s: allowed %v overrides %v", tc.name, d.Allowed, d.Overrides)
		}
		if tc.why != "" && !strings.Contains(d.Message(), tc.why) {
			t.Errorf("%s: the denial does not say %q: %s", tc.name, tc.why, d.Message())
		}
	}
	// Without vnfguard's image in the configuration nothing is covered: the exception cannot be judged.
	if d := judge(agentPod(), config.Default()); d.Allowed || !strings.Contains(d.Message(), "set self.image") {
		t.Errorf("no self.image: allowed %v: %s", d.Allowed, d.Message())
	}
}
