package detect

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	sigsjson "sigs.k8s.io/json"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/danger"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// TestSharedHostPathTable: detection's hostTakeover() agrees with danger.HostPathCases, the table admission and
// posture run too.
func TestSharedHostPathTable(t *testing.T) {
	for _, tc := range danger.HostPathCases {
		pod := map[string]any{"kind": "Pod", "spec": map[string]any{"volumes": []any{map[string]any{"name": "h", "hostPath": map[string]any{"path": tc.Path}}}}}
		raw, err := json.Marshal(pod)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(podViewOf(t, raw).hostTakeover()) > 0; got != tc.Takeover {
			t.Errorf("detection: hostPath %q takeover %v, the shared table says %v", tc.Path, got, tc.Takeover)
		}
	}
}

// dangerEngine is an engine with one rule per danger helper, and a world where the pods of instance upf-1
// (product UPF, namespace 5gc) get a profile with the given allowances.
func dangerEngine(t *testing.T, allowCaps []string, allowRoot bool) *Engine {
	t.Helper()
	rules := mustRules(t, `rules:
  - id: caps
    condition: isWorkloadWrite() && size(dangerousCapabilities()) > 0
    output: "${dangerousCapabilities().join(\", \")}"
    severity: high
  - id: root
    condition: isWorkloadWrite() && size(runsAsRoot()) > 0
    output: "${runsAsRoot().join(\", \")}"
    severity: high
  - id: grants
    condition: event.objectRef.resource in ["roles", "clusterroles"] && size(dangerousGrants(object())) > 0
    severity: high
  - id: binding
    condition: event.objectRef.resource in ["rolebindings", "clusterrolebindings"] && size(powerfulBinding(object())) > 0
    severity: high
`)
	cfg := config.Default()
	cfg.Profiles = []config.Profile{{Name: "upf", Products: []string{"UPF"}, AllowCapabilities: allowCaps, AllowRunAsRoot: allowRoot}}
	inst := &vnf.Instance{ID: "upf-1", VnfdID: "vnfd-upf", VnfProductName: "UPF", InstantiationState: vnf.Instantiated,
		InstantiatedVnfInfo: &vnf.InstantiatedVnfInfo{VnfState: vnf.Started, Metadata: map[string]any{"namespace": "5gc"}}}
	e, err := NewEngine(rules, Env{Config: cfg, Inventory: vnf.Static{Snap: vnf.NewSnapshot("test", "v1", time.Now(), []*vnf.Instance{inst})}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// createEvent is the audit event of a successful create of obj (resource in group, namespace ns).
func createEvent(t *testing.T, group, resource, ns string, obj runtime.Object) *auditv1.Event {
	t.Helper()
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return &auditv1.Event{
		AuditID: "a", Stage: auditv1.StageResponseComplete, Verb: "create", User: authnv1.UserInfo{Username: "mallory"},
		ObjectRef:      &auditv1.ObjectReference{Resource: resource, APIGroup: group, Namespace: ns},
		ResponseStatus: &metav1.Status{Code: 201}, RequestObject: &runtime.Unknown{Raw: raw},
	}
}

func fired(t *testing.T, e *Engine, ev *auditv1.Event, rule string) (bool, string) {
	t.Helper()
	fs, err := e.Evaluate(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Rule == rule {
			return true, f.Message
		}
	}
	return false, ""
}

// vnfPod is a pod of instance upf-1 with the given spec.
func vnfPod(spec corev1.PodSpec) *corev1.Pod {
	return &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "5gc", Labels: map[string]string{"tacker_vnf_instance_id": "upf-1"}}, Spec: spec}
}

// TestSharedCapabilityTable: detection's dangerousCapabilities() agrees with danger.CapabilityCases, the table
// admission and posture run too, the VNF profile resolved through the pod's instance.
func TestSharedCapabilityTable(t *testing.T) {
	for _, tc := range danger.CapabilityCases {
		e := dangerEngine(t, tc.Allow, false)
		got, msg := fired(t, e, createEvent(t, "", "pods", "5gc", vnfPod(tc.Spec)), "caps")
		if got != tc.Dangerous {
			t.Errorf("detection: %s: dangerous %v (%s), the shared table says %v", tc.Name, got, msg, tc.Dangerous)
		}
	}
}

// TestSharedRootUserTable: detection's runsAsRoot() agrees with danger.RootUserCases.
func TestSharedRootUserTable(t *testing.T) {
	for _, tc := range danger.RootUserCases {
		e := dangerEngine(t, nil, tc.AllowRoot)
		got, msg := fired(t, e, createEvent(t, "", "pods", "5gc", vnfPod(tc.Spec)), "root")
		if got != tc.Root {
			t.Errorf("detection: %s: root %v (%s), the shared table says %v", tc.Name, got, msg, tc.Root)
		}
	}
}

// TestSharedGrantTable: detection's dangerousGrants() agrees with danger.GrantCases, the table posture runs too.
func TestSharedGrantTable(t *testing.T) {
	e := dangerEngine(t, nil, false)
	for _, tc := range danger.GrantCases {
		role := &rbacv1.ClusterRole{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"},
			ObjectMeta: metav1.ObjectMeta{Name: "r"}, Rules: tc.Rules}
		if got, _ := fired(t, e, createEvent(t, "rbac.authorization.k8s.io", "clusterroles", "", role), "grants"); got != tc.Dangerous {
			t.Errorf("detection: %s: dangerous %v, the shared table says %v", tc.Name, got, tc.Dangerous)
		}
	}
}

// TestSharedBindingTable: detection's powerfulBinding() agrees with danger.BindingCases.
func TestSharedBindingTable(t *testing.T) {
	e := dangerEngine(t, nil, false)
	for _, tc := range danger.BindingCases {
		var obj runtime.Object
		resource := "clusterrolebindings"
		if tc.Binding.Namespace == "" {
			obj = &rbacv1.ClusterRoleBinding{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"},
				ObjectMeta: metav1.ObjectMeta{Name: "b"}, RoleRef: tc.Binding.RoleRef, Subjects: tc.Binding.Subjects}
		} else {
			resource = "rolebindings"
			obj = &rbacv1.RoleBinding{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
				ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: tc.Binding.Namespace}, RoleRef: tc.Binding.RoleRef, Subjects: tc.Binding.Subjects}
		}
		if got, _ := fired(t, e, createEvent(t, "rbac.authorization.k8s.io", resource, tc.Binding.Namespace, obj), "binding"); got != tc.Powerful {
			t.Errorf("detection: %s: powerful %v, the shared table says %v", tc.Name, got, tc.Powerful)
		}
	}
}

// TestDangerousCapabilitiesResolvesOnlyWhenNeeded: a pod that adds only capabilities no profile can allow is
// judged without resolving its VNF instance (the hot path makes no lookup for it).
func TestDangerousCapabilitiesResolvesOnlyWhenNeeded(t *testing.T) {
	e := dangerEngine(t, nil, false)
	for _, tt := range []struct {
		caps    []corev1.Capability
		resolve bool
	}{{[]corev1.Capability{"SYS_ADMIN"}, false}, {nil, false}, {[]corev1.Capability{"NET_ADMIN"}, true}} {
		spec := corev1.PodSpec{Containers: []corev1.Container{{Name: "c", SecurityContext: &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: tt.caps}}}}}
		a := &activation{e: e, ctx: context.Background(), ev: createEvent(t, "", "pods", "5gc", vnfPod(spec))}
		a.dangerousCapabilities()
		if a.resolved != tt.resolve {
			t.Errorf("capabilities %v: resolved %v, want %v", tt.caps, a.resolved, tt.resolve)
		}
	}
}

// BenchmarkDangerHelpers times dangerousCapabilities() and runsAsRoot() on a three-container pod create (the cost
// a workload write pays; other events never call them): decoding the spec into danger.Pod and judging it, without
// an instance lookup for the capabilities (none a profile could allow); runsAsRoot() resolves the instance by the
// pod's labels (it has none) to read its profile.
func BenchmarkDangerHelpers(b *testing.B) {
	e, err := NewEngine(nil, Env{})
	if err != nil {
		b.Fatal(err)
	}
	spec := corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{RunAsUser: ptrTo[int64](0)}}
	for _, n := range []string{"a", "b", "c"} {
		spec.Containers = append(spec.Containers, corev1.Container{Name: n, SecurityContext: &corev1.SecurityContext{
			Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"SYS_ADMIN", "NET_BIND_SERVICE"}}}})
	}
	raw, err := json.Marshal(&corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: spec})
	if err != nil {
		b.Fatal(err)
	}
	ev := &auditv1.Event{Verb: "create", ObjectRef: &auditv1.ObjectReference{Resource: "pods", Namespace: "default"},
		RequestObject: &runtime.Unknown{Raw: raw}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a := &activation{e: e, ctx: context.Background(), ev: ev}
		if len(a.dangerousCapabilities()) != 3 || len(a.runsAsRoot()) != 3 {
			b.Fatal("wrong verdict")
		}
	}
}

func ptrTo[T any](v T) *T { return &v }

// FuzzRBACObjects: dangerousGrants() and powerfulBinding() read any JSON object without a panic, and agree with
// package danger on the typed object whenever the API server's decoder accepts it.
func FuzzRBACObjects(f *testing.F) {
	for _, tc := range danger.GrantCases {
		raw, _ := json.Marshal(rbacv1.ClusterRole{TypeMeta: metav1.TypeMeta{Kind: "ClusterRole"}, Rules: tc.Rules})
		f.Add(raw)
	}
	for _, tc := range danger.BindingCases {
		raw, _ := json.Marshal(rbacv1.RoleBinding{TypeMeta: metav1.TypeMeta{Kind: "RoleBinding"}, ObjectMeta: metav1.ObjectMeta{Namespace: tc.Binding.Namespace},
			RoleRef: tc.Binding.RoleRef, Subjects: tc.Binding.Subjects})
		f.Add(raw)
	}
	f.Add([]byte(`{"kind":"RoleBinding","subjects":[1,{"kind":7}],"roleRef":"x"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var m map[string]any
		if json.Unmarshal(raw, &m) != nil {
			return
		}
		grants, binding := dangerousGrants(m), powerfulBinding(m)
		var rb rbacv1.RoleBinding
		var role rbacv1.ClusterRole
		if sigsjson.UnmarshalCaseSensitivePreserveInts(raw, &role) == nil {
			if want := danger.DangerousGrants(role.Rules); len(want) != len(grants) {
				t.Errorf("%s: grants %v, typed %v", raw, grants, want)
			}
		}
		if sigsjson.UnmarshalCaseSensitivePreserveInts(raw, &rb) == nil && rb.Kind == "RoleBinding" {
			want := danger.PowerfulBinding(danger.Binding{Namespace: rb.Namespace, RoleRef: rb.RoleRef, Subjects: rb.Subjects})
			if len(want) != len(binding) {
				t.Errorf("%s: binding %v, typed %v", raw, binding, want)
			}
		}
	})
}

// TestScratchReadsEachEventsOwnBody: a pooled scratch keeps the views of the last event's bodies (release only marks
// them unread); the next event reads its own. A create whose body says SYS_ADMIN, then the same create with no body
// and with a body without the capability, back to back on one goroutine (the pool hands the same scratch back): only
// the first is a finding. Checked by a mutation: with release leaving the views marked read, the second fires.
func TestScratchReadsEachEventsOwnBody(t *testing.T) {
	e := dangerEngine(t, nil, false)
	admin := vnfPod(corev1.PodSpec{Containers: []corev1.Container{{Name: "c", SecurityContext: &corev1.SecurityContext{
		Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"SYS_ADMIN"}}}}}})
	plain := vnfPod(corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}})
	for range 20 {
		if hit, _ := fired(t, e, createEvent(t, "", "pods", "5gc", admin), "caps"); !hit {
			t.Fatal("a pod create adding SYS_ADMIN is no finding")
		}
		bodiless := createEvent(t, "", "pods", "5gc", admin)
		bodiless.RequestObject = nil
		if hit, msg := fired(t, e, bodiless, "caps"); hit {
			t.Fatalf("a create without a body read the body of the event before it: %s", msg)
		}
		if hit, msg := fired(t, e, createEvent(t, "", "pods", "5gc", admin), "caps"); !hit {
			t.Fatalf("the same create again is no finding (%s)", msg)
		}
		if hit, msg := fired(t, e, createEvent(t, "", "pods", "5gc", plain), "caps"); hit {
			t.Fatalf("a create without the capability read the body of the event before it: %s", msg)
		}
	}
}
