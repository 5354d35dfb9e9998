package detect_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/vnfguard/vnfguard/internal/cluster"
	"github.com/vnfguard/vnfguard/internal/detect"
	"github.com/vnfguard/vnfguard/internal/runtimeevent"
)

// A kubelet exec probe whose command ended before the node could read it is accounted for by the kubelet's probe
// count, and isPodHook() confirms it against the pod's spec. When the VNFM deletes the pod right after the probe
// (heal, stop, scale in), the exec is judged after the pod is gone: the spec must have been read when the node
// reported the container, or the probe is called a bypass of the API server (seen in CI's TestNodeAgent).
func TestProbeExecJudgedAfterThePodIsGone(t *testing.T) {
	rules, err := detect.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "vnf-edge", Name: "core-0", UID: types.UID("uid-core-0")},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "edge", Image: "registry.example/edge@sha256:1",
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"cat", "/etc/hostname"}}}}}}},
	}
	ref := &runtimeevent.Pod{Namespace: pod.Namespace, Name: pod.Name, UID: string(pod.UID), Container: "edge"}
	at := time.Date(2026, 12, 6, 7, 6, 25, 0, time.UTC)
	container := &runtimeevent.Event{ID: "node-1/k8s.io/c1/event", Kind: runtimeevent.KindContainer, Time: at.Add(-5 * time.Second),
		Node: "node-1", Observed: "event", Container: runtimeevent.Container{Namespace: "k8s.io", ID: "c1", Image: "registry.example/edge",
			Origin: runtimeevent.OriginCRI, Running: true, Created: at.Add(-6 * time.Second), Pod: ref}}
	exec := func(probe string) *runtimeevent.Event {
		x := *container
		x.ID, x.Kind, x.Time, x.Observed = "node-1/k8s.io/c1/exec/"+probe, runtimeevent.KindExec, at, "event"
		x.Exec = &runtimeevent.Exec{ID: "x-" + probe, Pid: 4140, CommandError: "process 4140 had ended before its command line could be read", KubeletProbe: probe}
		return &x
	}

	type step struct {
		ev        *runtimeevent.Event
		deleteNow bool // delete the pod before this event is judged
	}
	run := func(t *testing.T, steps []step) []string {
		t.Helper()
		client := fake.NewClientset(pod.DeepCopy())
		engine, err := detect.NewEngine(rules, detect.Env{PodSpecs: cluster.NewPodSpecs(client), ExecGrace: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		var rules []string
		for _, s := range steps {
			if s.deleteNow {
				if err := client.CoreV1().Pods(pod.Namespace).Delete(context.Background(), pod.Name, metav1.DeleteOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			env, err := runtimeevent.Envelope(s.ev, "system:serviceaccount:vnfguard:vnfguard-node", "10.0.0.5")
			if err != nil {
				t.Fatal(err)
			}
			fs, err := engine.Evaluate(context.Background(), &env)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range fs {
				rules = append(rules, f.Rule)
			}
		}
		return rules
	}

	// Without the container's report first (the old order of reads), the probe of a deleted pod is a "bypass":
	// the failure this test guards against is real.
	if got := run(t, []step{{ev: exec("Readiness"), deleteNow: true}}); len(got) != 1 || got[0] != "exec-bypassed-api-server" {
		t.Fatalf("probe exec of a deleted pod with no spec read before: findings %v, want [exec-bypassed-api-server]", got)
	}
	// With the container reported first, the spec is known when the probe is judged after the pod is gone.
	if got := run(t, []step{{ev: container}, {ev: exec("Readiness"), deleteNow: true}}); len(got) != 0 {
		t.Errorf("probe exec judged after its pod was deleted: findings %v, want none", got)
	}
	// The rule is not weakened: an unreadable exec the kubelet's probe count does not account for is still a
	// bypass, and so is one claimed for a probe type the container does not declare.
	for _, probe := range []string{"", "Liveness"} {
		if got := run(t, []step{{ev: container}, {ev: exec(probe), deleteNow: true}}); len(got) != 1 || got[0] != "exec-bypassed-api-server" {
			t.Errorf("unreadable exec with kubelet probe %q: findings %v, want [exec-bypassed-api-server]", probe, got)
		}
	}
}
