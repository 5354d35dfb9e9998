package policy

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// teamTNTPod is a pod of the kind TeamTNT deploys: SYS_ADMIN and SYS_PTRACE added to an otherwise plain container.
func teamTNTPod(caps ...corev1.Capability) *corev1.Pod {
	c := restrictedContainer("miner", "registry.5gc.example/5gc/tools@"+otherDigest)
	c.SecurityContext.Capabilities = &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: caps}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "kube-tools"}, Spec: corev1.PodSpec{Containers: []corev1.Container{c}}}
}

func violationsOf(vs []Violation, check string) []Violation {
	var out []Violation
	for _, v := range vs {
		if v.Check == check {
			out = append(out, v)
		}
	}
	return out
}

func TestDangerousCapability(t *testing.T) {
	// The attack works with the check in audit mode (admitted, only recorded), and is refused with it on.
	for _, mode := range []string{"audit", "enforce"} {
		e := newTestEnv(t, "checks: {dangerous-capability: {mode: "+mode+"}}\n")
		d := e.evaluator(t).Evaluate(context.Background(), podRequest(attacker, "default", teamTNTPod("SYS_ADMIN", "cap_sys_ptrace")))
		denied, audited := violationsOf(d.Denials, "dangerous-capability"), violationsOf(d.Audits, "dangerous-capability")
		switch mode {
		case "audit":
			if len(denied) != 0 || len(audited) != 2 {
				t.Errorf("audit mode: denied %v, audited %v; want 2 audited", denied, audited)
			}
		case "enforce":
			if len(denied) != 2 {
				t.Fatalf("enforce: denied %v, want SYS_ADMIN and cap_sys_ptrace; %s", denied, d.Message())
			}
			for _, v := range denied {
				if v.Field != "spec.containers[0].securityContext.capabilities.add" || v.Technique != "FGT5013" ||
					!slices.Equal(v.Mitigations, []string{"M1026", "M1038"}) || !strings.Contains(v.Message, `container "miner"`) {
					t.Errorf("violation %+v: want field, technique, mitigations and the container", v)
				}
			}
		}
	}

	e := newTestEnv(t, "")
	ev := e.evaluator(t)
	// NET_ADMIN: the UPF's profile allows it; a pod of no instance may not have it.
	upf := cnfPodSpec()
	upf.Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"NET_ADMIN"}
	if d := ev.Evaluate(context.Background(), deploymentRequest(Create, vnfmUser, vnfmDeployment("upf", "upf-1", upf), nil)); len(violationsOf(d.Denials, "dangerous-capability")) != 0 {
		t.Errorf("UPF with NET_ADMIN under its profile: %s", d.Message())
	}
	d := ev.Evaluate(context.Background(), podRequest(attacker, "default", teamTNTPod("NET_ADMIN")))
	if got := violationsOf(d.Denials, "dangerous-capability"); len(got) != 1 || !strings.Contains(got[0].Message, "no VNF profile allows it") {
		t.Errorf("NET_ADMIN outside any profile: %v", got)
	}
	// An update that leaves the spec unchanged is not judged again (an existing pod's labels can still be edited).
	old := vnfmDeployment("upf", "upf-1", func() corev1.PodSpec {
		s := cnfPodSpec()
		s.Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"SYS_ADMIN"}
		return s
	}())
	changed := old.DeepCopy()
	changed.Labels["team"] = "core"
	if d := ev.Evaluate(context.Background(), deploymentRequest(Update, vnfmUser, changed, old)); len(violationsOf(d.Denials, "dangerous-capability")) != 0 {
		t.Errorf("label-only update judged again: %s", d.Message())
	}
}

// TestDangerousCapabilityUnknownBinding: when the pod's VNF instance cannot be looked up, no profile applies —
// NET_ADMIN is refused, and the message says why.
func TestDangerousCapabilityUnknownBinding(t *testing.T) {
	e := newTestEnv(t, "")
	ev, err := New(Environment{Config: e.cfg, Inventory: e.inv, Objects: brokenObjects{err: errors.New("etcdserver: request timed out")}})
	if err != nil {
		t.Fatal(err)
	}
	pod := teamTNTPod("NET_ADMIN")
	pod.OwnerReferences = []metav1.OwnerReference{ownedBy("ReplicaSet", "upf-rs")}
	d := ev.Evaluate(context.Background(), podRequest(attacker, "default", pod))
	got := violationsOf(d.Denials, "dangerous-capability")
	if len(got) != 1 || !strings.Contains(got[0].Message, "could not be found") {
		t.Errorf("denials %v, want NET_ADMIN refused naming the failed lookup; %s", got, d.Message())
	}
}

// TestDangerousCapabilityNodeAgent: vnfguard's own node agent, of exactly its shape, keeps its NET_ADMIN under the
// named exception (reported as an override); the same pod adding SYS_PTRACE is refused by this check.
func TestDangerousCapabilityNodeAgent(t *testing.T) {
	cfg := config.Default()
	cfg.Self.Image = "vnfguard/vnfguard:0.1.0"
	ev, err := New(Environment{Config: cfg, Inventory: vnf.Static{Snap: vnf.Empty("none")}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		caps   []corev1.Capability
		denied bool
	}{{[]corev1.Capability{"NET_ADMIN"}, false}, {[]corev1.Capability{"NET_ADMIN", "SYS_PTRACE"}, true}} {
		p := agentPod()
		p.Spec.Containers[0].SecurityContext.Capabilities.Add = tt.caps
		d := ev.Evaluate(context.Background(), &Request{UID: "u", Operation: Create, Kind: corev1.SchemeGroupVersion.WithKind("Pod"),
			Resource: corev1.SchemeGroupVersion.WithResource("pods"), Namespace: p.Namespace, Name: p.Name,
			User: authnv1.UserInfo{Username: "system:serviceaccount:kube-system:daemon-set-controller"}, Object: p})
		denied, overridden := violationsOf(d.Denials, "dangerous-capability"), violationsOf(d.Overrides, "dangerous-capability")
		if (len(denied) > 0) != tt.denied || (!tt.denied && len(overridden) != 1) {
			t.Errorf("node agent adding %v: denied %v, overridden %v; want denied=%v: %s", tt.caps, denied, overridden, tt.denied, d.Message())
		}
	}
}
