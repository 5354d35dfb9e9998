package policy

import (
	"context"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
)

// TestPodSecurityProfileExceptions: the exceptions of the UPF's profile (capabilities, hostNetwork, sysctls) let
// exactly what they name through, are named in the decision, leave what they do not name denied, and never change
// the pod the request carries (the exceptions are applied to a shallow copy).
func TestPodSecurityProfileExceptions(t *testing.T) {
	cfg := strings.Replace(testConfig, "allowNetworks: [n3, n6]}", "allowNetworks: [n3, n6], allowHostNetwork: true, allowSysctls: [net.ipv4.ip_forward]}", 1)
	if cfg == testConfig {
		t.Fatal("the test configuration's UPF profile changed: update this test")
	}
	ev := newTestEnvConfig(t, cfg).evaluator(t)
	for _, tt := range []struct {
		name      string
		edit      func(*corev1.PodSpec)
		exception string // the note, "" for none
		denied    []string
	}{
		{name: "allowed capabilities in a container and an init container",
			edit: func(s *corev1.PodSpec) {
				s.Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"NET_ADMIN", "CAP_IPC_LOCK"}
				s.InitContainers = []corev1.Container{restrictedContainer("init", s.Containers[0].Image)}
				s.InitContainers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"NET_ADMIN"}
			},
			exception: "profile upf allowed capabilities NET_ADMIN, IPC_LOCK (capabilities_restricted)"},
		{name: "an allowed and a forbidden capability: the forbidden one is named, the allowed one is not",
			edit: func(s *corev1.PodSpec) {
				s.Containers[1].SecurityContext.Capabilities.Add = []corev1.Capability{"NET_ADMIN", "SYS_TIME"}
			},
			denied: []string{"SYS_TIME"}},
		{name: "hostNetwork",
			edit:      func(s *corev1.PodSpec) { s.HostNetwork = true },
			exception: "profile upf allowed hostNetwork (hostNamespaces)"},
		{name: "hostNetwork and hostPID: hostPID is still denied",
			edit:   func(s *corev1.PodSpec) { s.HostNetwork, s.HostPID = true, true },
			denied: []string{"hostPID=true"}},
		{name: "an allowed sysctl",
			edit: func(s *corev1.PodSpec) {
				s.SecurityContext.Sysctls = []corev1.Sysctl{{Name: "net.ipv4.ip_forward", Value: "1"}}
			},
			exception: "profile upf allowed sysctls net.ipv4.ip_forward (sysctls)"},
		{name: "an allowed and a forbidden sysctl",
			edit: func(s *corev1.PodSpec) {
				s.SecurityContext.Sysctls = []corev1.Sysctl{{Name: "net.ipv4.ip_forward", Value: "1"}, {Name: "kernel.msgmax", Value: "1"}}
			},
			denied: []string{"kernel.msgmax"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			spec := withSpec(func(s *corev1.PodSpec) {
				if s.SecurityContext == nil {
					s.SecurityContext = &corev1.PodSecurityContext{}
				}
				tt.edit(s)
			})
			req := deploymentRequest(Create, vnfmUser, vnfmDeployment("upf", "upf-1", spec), nil)
			before := spec.DeepCopy()
			d := ev.Evaluate(context.Background(), req)
			if len(d.Errors) > 0 {
				t.Fatalf("errors: %v", d.Errors)
			}
			if !equality.Semantic.DeepEqual(before, &spec) {
				t.Fatal("judging the pod changed its spec")
			}
			got := violationsOf(d.Denials, "pod-security")
			if tt.exception != "" {
				if len(got) > 0 || !slices.Contains(d.Exceptions, tt.exception) {
					t.Fatalf("pod-security denials %v, exceptions %q; want none and %q", got, d.Exceptions, tt.exception)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("pod-security denials %v; want one", got)
			}
			for _, want := range tt.denied {
				if !strings.Contains(got[0].Message, want) {
					t.Errorf("denial %q does not name %q", got[0].Message, want)
				}
			}
			for _, allowed := range []string{"NET_ADMIN", "hostNetwork=true", "net.ipv4.ip_forward"} {
				if strings.Contains(got[0].Message, allowed) {
					t.Errorf("denial %q names %s, which the profile allows", got[0].Message, allowed)
				}
			}
		})
	}
}
