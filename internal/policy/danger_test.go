package policy

import (
	"context"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/danger"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// TestSharedHostPathTable: admission's host-takeover check agrees with danger.HostPathCases, the table detection
// and posture run too.
func TestSharedHostPathTable(t *testing.T) {
	ev, err := New(Environment{Config: config.Default(), Inventory: vnf.Static{Snap: vnf.Empty("none")}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range danger.HostPathCases {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "team-a"}, Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "c", Image: "registry.example/app@sha256:" + zeros}},
			Volumes:    []corev1.Volume{{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: tc.Path}}}},
		}}
		d := ev.Evaluate(context.Background(), &Request{UID: "u", Operation: Create, Kind: corev1.SchemeGroupVersion.WithKind("Pod"),
			Resource: corev1.SchemeGroupVersion.WithResource("pods"), Namespace: "team-a", Name: "p",
			User: authnv1.UserInfo{Username: "alice"}, Object: pod})
		got := false
		for _, v := range d.Denials {
			got = got || v.Check == "host-takeover"
		}
		if got != tc.Takeover {
			t.Errorf("admission: hostPath %q host-takeover %v, the shared table says %v (%s)", tc.Path, got, tc.Takeover, d.Message())
		}
	}
}

const zeros = "0000000000000000000000000000000000000000000000000000000000000000"

// dangerEvaluator is an evaluator where instance upf-1 (product UPF, namespace team-a) has a profile with the given
// allowances.
func dangerEvaluator(t *testing.T, allowCaps []string, allowRoot bool) *Evaluator {
	t.Helper()
	cfg := config.Default()
	cfg.Profiles = []config.Profile{{Name: "upf", Products: []string{"UPF"}, AllowCapabilities: allowCaps, AllowRunAsRoot: allowRoot}}
	inst := &vnf.Instance{ID: "upf-1", VnfdID: "vnfd-upf", VnfProductName: "UPF", InstantiationState: vnf.Instantiated,
		InstantiatedVnfInfo: &vnf.InstantiatedVnfInfo{VnfState: vnf.Started, Metadata: map[string]any{"namespace": "team-a"}}}
	ev, err := New(Environment{Config: cfg, Inventory: vnf.Static{Snap: vnf.NewSnapshot("test", "v1", time.Now(), []*vnf.Instance{inst})}})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// checkFires creates a pod of instance upf-1 with spec and reports whether check refused it, and the message.
func checkFires(t *testing.T, ev *Evaluator, check string, spec corev1.PodSpec) (bool, string) {
	t.Helper()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "team-a", Labels: map[string]string{"tacker_vnf_instance_id": "upf-1"}}, Spec: spec}
	d := ev.Evaluate(context.Background(), &Request{UID: "u", Operation: Create, Kind: corev1.SchemeGroupVersion.WithKind("Pod"),
		Resource: corev1.SchemeGroupVersion.WithResource("pods"), Namespace: "team-a", Name: "p",
		User: authnv1.UserInfo{Username: "alice"}, Object: pod})
	for _, v := range d.Denials {
		if v.Check == check {
			return true, d.Message()
		}
	}
	return false, d.Message()
}

// TestSharedCapabilityTable: admission's dangerous-capability check agrees with danger.CapabilityCases, the table
// detection and posture run too, the profile found through the pod's VNF instance.
func TestSharedCapabilityTable(t *testing.T) {
	for _, tc := range danger.CapabilityCases {
		if got, msg := checkFires(t, dangerEvaluator(t, tc.Allow, false), "dangerous-capability", tc.Spec); got != tc.Dangerous {
			t.Errorf("admission: %s: dangerous-capability %v, the shared table says %v (%s)", tc.Name, got, tc.Dangerous, msg)
		}
	}
}

// TestSharedRootUserTable: admission's root-user check agrees with danger.RootUserCases.
func TestSharedRootUserTable(t *testing.T) {
	for _, tc := range danger.RootUserCases {
		if got, msg := checkFires(t, dangerEvaluator(t, nil, tc.AllowRoot), "root-user", tc.Spec); got != tc.Root {
			t.Errorf("admission: %s: root-user %v, the shared table says %v (%s)", tc.Name, got, tc.Root, msg)
		}
	}
}
