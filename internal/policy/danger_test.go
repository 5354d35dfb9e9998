package policy

import (
	"context"
	"testing"

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
