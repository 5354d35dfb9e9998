package policy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// selectorConfig protects namespaces by label only (the default), so that whether a namespace is protected depends
// on a lookup; vnf-5gc is protected by name as well.
const selectorConfig = `
apiVersion: vnfguard.io/v1alpha1
kind: Config
protectedNamespaces: {names: [vnf-5gc], selector: {matchLabels: {vnfguard.io/protected: "true"}}}
identities:
  vnfm: {users: [tacker-vnfm]}
  controllers: {users: ["system:kube-controller-manager"]}
registries: {allowed: ["registry.5gc.example/5gc/"]}
profiles:
  - {name: upf, products: [UPF], allowCapabilities: [NET_ADMIN, IPC_LOCK], allowHugepages: true, allowNetworks: [n3, n6]}
`

// namespaceLabels answers from a map, or fails with err, or blocks until the context ends (block).
type namespaceLabels struct {
	labels map[string]map[string]string
	err    error
	block  bool
	calls  int
}

func (n *namespaceLabels) Labels(ctx context.Context, name string) (map[string]string, error) {
	n.calls++
	if n.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if n.err != nil {
		return nil, n.err
	}
	if l, ok := n.labels[name]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("namespace %s: %w", name, vnf.ErrNotFound)
}

// brokenObjects fails every lookup with err, or blocks until the context ends.
type brokenObjects struct {
	err   error
	block bool
}

func (b brokenObjects) Get(ctx context.Context, kind, namespace, name string) (metav1.Object, error) {
	if b.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return nil, b.err
}

// fullPeiratesPod is Peirates' pod in full: the node's root filesystem, hostPID with a privileged container, and a
// /dev/tcp reverse shell.
func fullPeiratesPod() *corev1.Pod {
	p := peiratesPod()
	p.Spec.HostPID = true
	p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true)}
	return p
}

func selectorEvaluator(t *testing.T, ns Namespaces, objs vnf.Objects) *Evaluator {
	t.Helper()
	cfg, err := config.Parse([]byte(selectorConfig))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := New(Environment{Config: cfg, Inventory: vnf.Static{Snap: testSnapshot()}, Objects: objs, Namespaces: ns,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func deniedChecks(d *Decision) []string {
	var ids []string
	for _, v := range d.Denials {
		if !slices.Contains(ids, v.Check) {
			ids = append(ids, v.Check)
		}
	}
	return ids
}

// checkErrorsSayWhy: every internal error, in the decision and in its findings, says what failed and why: no
// message is empty or ends at a colon.
func checkErrorsSayWhy(t *testing.T, d *Decision, mustName ...string) {
	t.Helper()
	if len(d.Errors) == 0 {
		t.Fatal("the failed lookup is not reported as an internal error")
	}
	for _, err := range d.Errors {
		msg := strings.TrimSpace(err.Error())
		if msg == "" || strings.HasSuffix(msg, ":") || strings.Contains(msg, ": :") || strings.Contains(msg, ":  ") {
			t.Errorf("internal error without a reason: %q", msg)
		}
		for _, s := range mustName {
			if !strings.Contains(msg, s) {
				t.Errorf("internal error %q does not name %q", msg, s)
			}
		}
	}
	n := 0
	for _, f := range d.Findings(time.Now()) {
		if f.Rule != "internal-error" {
			continue
		}
		n++
		if msg := strings.TrimSpace(f.Message); msg == "" || strings.HasSuffix(msg, ":") {
			t.Errorf("internal-error finding without a reason: %q", f.Message)
		}
	}
	if n != len(d.Errors) {
		t.Errorf("%d internal-error findings for %d errors", n, len(d.Errors))
	}
}

// TestFailedLookupKeepsLookupFreeChecks is the bypass of issue 10, item 1: with the namespace's labels or the
// owner chain unreadable (the API server failing, slow, or the client throttled), Peirates' pod in a namespace
// that is not protected was allowed — no check ran. The checks that need no lookup must run and deny it.
func TestFailedLookupKeepsLookupFreeChecks(t *testing.T) {
	unavailable := apierrors.NewServiceUnavailable("etcd leader changed")
	// What client-go's metadata client returns for a 503 whose body says nothing.
	silent := &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: 503}}
	owned := func(p *corev1.Pod) *corev1.Pod {
		p.OwnerReferences = []metav1.OwnerReference{ownedBy("ReplicaSet", "attack-rs")}
		return p
	}
	tests := []struct {
		name     string
		ns       Namespaces
		objs     vnf.Objects
		pod      *corev1.Pod
		timeout  time.Duration
		mustName []string
	}{
		{name: "namespace labels: API server unavailable", ns: &namespaceLabels{err: unavailable}, pod: fullPeiratesPod(),
			mustName: []string{"namespace team-a", "etcd leader changed", "vnf-instantiation"}},
		{name: "namespace labels: 503 without a message", ns: &namespaceLabels{err: silent}, pod: fullPeiratesPod(),
			mustName: []string{"namespace team-a", "StatusError"}},
		{name: "namespace labels: lookup blocks until the deadline", ns: &namespaceLabels{block: true}, pod: fullPeiratesPod(),
			timeout: 50 * time.Millisecond, mustName: []string{"namespace team-a", "deadline"}},
		{name: "owner chain: API server unavailable", ns: &namespaceLabels{}, objs: brokenObjects{err: unavailable}, pod: owned(fullPeiratesPod()),
			mustName: []string{"ReplicaSet", "attack-rs", "etcd leader changed", "lifecycle-scale"}},
		{name: "owner chain: lookup blocks until the deadline", ns: &namespaceLabels{}, objs: brokenObjects{block: true}, pod: owned(fullPeiratesPod()),
			timeout: 50 * time.Millisecond, mustName: []string{"ReplicaSet", "deadline"}},
		{name: "both fail", ns: &namespaceLabels{err: unavailable}, objs: brokenObjects{err: unavailable}, pod: owned(fullPeiratesPod()),
			mustName: []string{"etcd leader changed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := tt.objs
			if objs == nil {
				objs = objects{}
			}
			ev := selectorEvaluator(t, tt.ns, objs)
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			d := ev.Evaluate(ctx, podRequest(attacker, "team-a", tt.pod))
			if d.Allowed {
				t.Fatalf("Peirates' pod was allowed with errors %v", d.Errors)
			}
			got := deniedChecks(d)
			for _, want := range []string{"host-takeover", "reverse-shell", "pod-security", "image-registry"} {
				if !slices.Contains(got, want) {
					t.Errorf("denied by %v; want %s among them (message: %s)", got, want, d.Message())
				}
			}
			msg := d.Message()
			for _, want := range []string{`hostPath "/" is the node's root filesystem`, "hostPID", "/dev/tcp", "internal-error"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message does not name %q: %s", want, msg)
				}
			}
			checkErrorsSayWhy(t, d, tt.mustName...)
		})
	}
}

// A lookup that hangs with no deadline from the caller is ended by the lookup budget, in time for a decision.
func TestLookupBudget(t *testing.T) {
	cfg, err := config.Parse([]byte(selectorConfig))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := New(Environment{Config: cfg, Inventory: vnf.Static{Snap: testSnapshot()}, Objects: brokenObjects{block: true},
		Namespaces: &namespaceLabels{block: true}, LookupBudget: 100 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	pod := fullPeiratesPod()
	pod.OwnerReferences = []metav1.OwnerReference{ownedBy("ReplicaSet", "attack-rs")}
	start := time.Now()
	d := ev.Evaluate(context.Background(), podRequest(attacker, "team-a", pod))
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Evaluate took %s with a 100ms lookup budget", took)
	}
	if d.Allowed || !slices.Contains(deniedChecks(d), "host-takeover") {
		t.Fatalf("allowed=%v denials=%v", d.Allowed, deniedChecks(d))
	}
	checkErrorsSayWhy(t, d, "deadline")
}

// With the namespace's labels unknown, pod-security judges at the strictest configured level and grants no
// exemption: a pod that baseline allows but restricted does not is denied, and the message says why.
func TestUnknownNamespaceJudgedAtStrictestLevel(t *testing.T) {
	baselineOnly := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "registry.5gc.example/5gc/web@" + upfDigest}}}}
	known := selectorEvaluator(t, &namespaceLabels{labels: map[string]map[string]string{"team-a": {}}}, objects{})
	if d := known.Evaluate(context.Background(), podRequest(attacker, "team-a", baselineOnly.DeepCopy())); !d.Allowed {
		t.Fatalf("baseline pod in a known unprotected namespace denied: %s", d.Message())
	}
	unknown := selectorEvaluator(t, &namespaceLabels{err: errors.New("connection refused")}, objects{})
	d := unknown.Evaluate(context.Background(), podRequest(attacker, "team-a", baselineOnly.DeepCopy()))
	if d.Allowed || !slices.Contains(deniedChecks(d), "pod-security") {
		t.Fatalf("baseline pod with the namespace's labels unknown: allowed=%v denials %v, want a pod-security denial", d.Allowed, deniedChecks(d))
	}
	if msg := d.Message(); !strings.Contains(msg, `"restricted:latest"`) || !strings.Contains(msg, "labels could not be read") {
		t.Errorf("message does not say it judged at the restricted level for want of the labels: %s", msg)
	}
}

// The failure policy when the namespace's labels are unknown is the stricter one (see Evaluator.failClosed); when
// they are known, the configured one; a namespace the configuration names needs no lookup at all.
func TestFailurePolicyWithUnknownProtection(t *testing.T) {
	benign := func() *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "upf-x"}, Spec: cnfPodSpec()}
	}
	unavailable := apierrors.NewServiceUnavailable("etcd leader changed")

	t.Run("labels unknown: fails closed", func(t *testing.T) {
		ev := selectorEvaluator(t, &namespaceLabels{err: unavailable}, objects{})
		d := ev.Evaluate(context.Background(), podRequest(attacker, "team-a", benign()))
		if d.Allowed || len(d.Denials) != 0 {
			t.Fatalf("allowed=%v denials=%v; want a fail-closed internal error only", d.Allowed, d.Denials)
		}
		if !strings.Contains(d.Message(), "fails closed") {
			t.Errorf("message does not explain the fail-closed denial: %s", d.Message())
		}
		checkErrorsSayWhy(t, d, "namespace team-a", "etcd leader changed")
	})
	t.Run("labels known, owner chain unknown, unprotected: fails open and says so", func(t *testing.T) {
		ev := selectorEvaluator(t, &namespaceLabels{labels: map[string]map[string]string{"team-a": {}}}, brokenObjects{err: unavailable})
		d := ev.Evaluate(context.Background(), podRequest(attacker, "team-a", controllerPod("web-rs", cnfPodSpec())))
		if !d.Allowed {
			t.Fatalf("denied: %s", d.Message())
		}
		checkErrorsSayWhy(t, d, "ReplicaSet", "web-rs", "etcd leader changed")
	})
	t.Run("labels known protected, owner chain unknown: fails closed", func(t *testing.T) {
		ns := &namespaceLabels{labels: map[string]map[string]string{"team-a": {"vnfguard.io/protected": "true"}}}
		ev := selectorEvaluator(t, ns, brokenObjects{err: unavailable})
		d := ev.Evaluate(context.Background(), podRequest(controllerUser, "team-a", controllerPod("upf-rs", cnfPodSpec())))
		if d.Allowed || !d.Protected {
			t.Fatalf("allowed=%v protected=%v; want a fail-closed denial in a protected namespace", d.Allowed, d.Protected)
		}
	})
	t.Run("protected by name: no label lookup", func(t *testing.T) {
		ns := &namespaceLabels{err: unavailable}
		ev := selectorEvaluator(t, ns, testObjects())
		d := ev.Evaluate(context.Background(), podRequest(vnfmUser, protectedNS, fakePod()))
		if ns.calls != 0 {
			t.Errorf("labels of %s looked up %d times; the configuration names it", protectedNS, ns.calls)
		}
		if len(d.Errors) != 0 || !d.Protected {
			t.Errorf("errors %v, protected=%v; want no error and protected", d.Errors, d.Protected)
		}
	})
}
