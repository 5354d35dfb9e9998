package policy

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	psa "k8s.io/pod-security-admission/policy"

	"github.com/vnfguard/vnfguard/internal/config"
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

// exceptedByClone is excepted as it was before its copies were pooled (slices.Clone of each list it changes, a
// fresh copy of each security context it strips): the oracle for TestExceptedCopies.
func exceptedByClone(p *config.Profile, id psa.CheckID, spec *corev1.PodSpec) *corev1.PodSpec {
	switch id {
	case "capabilities_baseline", "capabilities_restricted":
		if len(p.AllowCapabilities) == 0 {
			return nil
		}
		allowed := func(c corev1.Capability) bool {
			return slices.Contains(p.AllowCapabilities, strings.TrimPrefix(string(c), "CAP_"))
		}
		uses := func(sc *corev1.SecurityContext) bool {
			return sc != nil && sc.Capabilities != nil && slices.ContainsFunc(sc.Capabilities.Add, allowed)
		}
		strip := func(sc *corev1.SecurityContext) *corev1.SecurityContext {
			if !uses(sc) {
				return sc
			}
			scCopy, capsCopy := *sc, *sc.Capabilities
			capsCopy.Add = slices.DeleteFunc(slices.Clone(sc.Capabilities.Add), allowed)
			scCopy.Capabilities = &capsCopy
			return &scCopy
		}
		stripped := func(list []corev1.Container) []corev1.Container {
			if !slices.ContainsFunc(list, func(c corev1.Container) bool { return uses(c.SecurityContext) }) {
				return nil
			}
			out := slices.Clone(list)
			for i := range out {
				out[i].SecurityContext = strip(out[i].SecurityContext)
			}
			return out
		}
		containers, initContainers := stripped(spec.Containers), stripped(spec.InitContainers)
		inEphemeral := slices.ContainsFunc(spec.EphemeralContainers, func(c corev1.EphemeralContainer) bool { return uses(c.SecurityContext) })
		if containers == nil && initContainers == nil && !inEphemeral {
			return nil
		}
		cp := *spec
		if containers != nil {
			cp.Containers = containers
		}
		if initContainers != nil {
			cp.InitContainers = initContainers
		}
		if inEphemeral {
			cp.EphemeralContainers = slices.Clone(spec.EphemeralContainers)
			for i := range cp.EphemeralContainers {
				cp.EphemeralContainers[i].SecurityContext = strip(cp.EphemeralContainers[i].SecurityContext)
			}
		}
		return &cp
	case "hostNamespaces":
		if !p.AllowHostNetwork || !spec.HostNetwork {
			return nil
		}
		cp := *spec
		cp.HostNetwork = false
		return &cp
	}
	return nil
}

// TestExceptedCopies: the pooled copies excepted makes are the copies it made before pooling (the oracle), for
// every exception shape, one after the other so that a copy left dirty in the pool would show; every Pod Security
// check gives the same result on both; and a released copy holds nothing of the request.
func TestExceptedCopies(t *testing.T) {
	profile := &config.Profile{Name: "upf", AllowCapabilities: []string{"NET_ADMIN", "IPC_LOCK"}, AllowHostNetwork: true}
	caps := func(add ...corev1.Capability) *corev1.SecurityContext {
		return &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: add}}
	}
	ctr := func(name string, sc *corev1.SecurityContext) corev1.Container {
		return corev1.Container{Name: name, Image: "registry.5gc.example/5gc/" + name, SecurityContext: sc}
	}
	many := make([]corev1.Container, 7)
	for i := range many {
		many[i] = ctr("c"+strings.Repeat("x", i), caps("NET_ADMIN", "SYS_TIME"))
	}
	specs := []corev1.PodSpec{
		cnfPodSpec(),
		{Containers: []corev1.Container{ctr("upf", caps("NET_ADMIN"))}},
		{Containers: []corev1.Container{ctr("upf", caps("NET_ADMIN", "CAP_IPC_LOCK")), ctr("side", caps())}},
		{Containers: []corev1.Container{ctr("upf", caps("NET_ADMIN", "SYS_TIME"))}, HostNetwork: true, HostPID: true},
		{InitContainers: []corev1.Container{ctr("init", caps("IPC_LOCK"))}, Containers: []corev1.Container{ctr("upf", nil)}},
		{Containers: []corev1.Container{ctr("upf", &corev1.SecurityContext{})},
			EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "dbg", SecurityContext: caps("NET_ADMIN")}}}},
		{Containers: many, InitContainers: many[:2]},
		{Containers: make([]corev1.Container, 40), InitContainers: []corev1.Container{ctr("init", caps("NET_ADMIN"))}},
		{HostNetwork: true},
	}
	checks := psaChecksFor("restricted")
	ids := []psa.CheckID{"capabilities_baseline", "capabilities_restricted", "hostNamespaces", "privileged"}
	for round := range 3 {
		for i, spec := range specs {
			before := spec.DeepCopy()
			for _, id := range ids {
				want := exceptedByClone(profile, id, &spec)
				got := excepted(profile, id, &spec)
				if (want == nil) != (got == nil) {
					t.Fatalf("round %d spec %d %s: copy %v, the oracle's %v", round, i, id, got != nil, want != nil)
				}
				if got == nil {
					continue
				}
				if !equality.Semantic.DeepEqual(want, &got.spec) {
					t.Fatalf("round %d spec %d %s: the copies differ:\n%+v\n%+v", round, i, id, got.spec, *want)
				}
				for _, pc := range checks {
					if w, g := pc.check(&metav1.ObjectMeta{}, want), pc.check(&metav1.ObjectMeta{}, &got.spec); w != g {
						t.Fatalf("round %d spec %d %s: check %s gives %+v on the copy, %+v on the oracle's", round, i, id, pc.id, g, w)
					}
				}
				got.release()
				if !reflect.ValueOf(got.spec).IsZero() || got.used != 0 || len(got.containers)+len(got.initContainers)+len(got.ephemeral) != 0 ||
					!reflect.ValueOf(got.contexts).IsZero() || slices.ContainsFunc(got.containers[:cap(got.containers)], func(c corev1.Container) bool { return c.Name != "" }) {
					t.Fatalf("round %d spec %d %s: a released copy keeps part of the request", round, i, id)
				}
			}
			if !equality.Semantic.DeepEqual(before, &spec) {
				t.Fatalf("spec %d changed", i)
			}
		}
	}
}
