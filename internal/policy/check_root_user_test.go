package policy

import (
	"context"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func TestRootUser(t *testing.T) {
	rootPod := func() *corev1.Pod {
		p := teamTNTPod()
		p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](0)}
		p.Spec.Containers[0].SecurityContext.RunAsNonRoot = nil
		return p
	}
	// With the check in warn mode the root pod is admitted (with a warning); enforced it is refused.
	for _, mode := range []string{"warn", "enforce"} {
		e := newTestEnv(t, "checks: {root-user: {mode: "+mode+"}}\n")
		d := e.evaluator(t).Evaluate(context.Background(), podRequest(attacker, "default", rootPod()))
		denied, warned := violationsOf(d.Denials, "root-user"), violationsOf(d.Warnings, "root-user")
		if mode == "warn" && (len(denied) != 0 || len(warned) != 1) {
			t.Errorf("warn: denied %v, warned %v", denied, warned)
		}
		if mode == "enforce" {
			if len(denied) != 1 {
				t.Fatalf("enforce: %s", d.Message())
			}
			v := denied[0]
			if v.Field != "spec.securityContext.runAsUser" || !strings.Contains(v.Message, `container "miner" runs as root`) ||
				!slices.Equal(v.Mitigations, []string{"M1026"}) {
				t.Errorf("violation %+v", v)
			}
		}
	}
	// The container's own setting is where the field points when it sets uid 0 itself.
	e := newTestEnv(t, "")
	p := teamTNTPod()
	p.Spec.Containers[0].SecurityContext.RunAsUser = ptr.To[int64](0)
	p.Spec.Containers[0].SecurityContext.RunAsNonRoot = ptr.To(false)
	d := e.evaluator(t).Evaluate(context.Background(), podRequest(attacker, "default", p))
	if got := violationsOf(d.Denials, "root-user"); len(got) != 1 || got[0].Field != "spec.containers[0].securityContext.runAsUser" {
		t.Errorf("container-level root: %v", got)
	}
	// A profile with allowRunAsRoot lets the VNF's pods run as root, and names the exception.
	e = newTestEnvConfig(t, strings.Replace(testConfig, "allowNetworks: [n3, n6]}", "allowNetworks: [n3, n6], allowRunAsRoot: true}", 1))
	spec := cnfPodSpec()
	spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](0)}
	for i := range spec.Containers {
		spec.Containers[i].SecurityContext.RunAsNonRoot = nil
	}
	d = e.evaluator(t).Evaluate(context.Background(), deploymentRequest(Create, vnfmUser, vnfmDeployment("upf", "upf-1", spec), nil))
	if got := violationsOf(d.Denials, "root-user"); len(got) != 0 || !slices.Contains(d.Exceptions, "profile upf allowed running as root (root-user)") {
		t.Errorf("UPF with allowRunAsRoot: denials %v, exceptions %q", got, d.Exceptions)
	}
}
