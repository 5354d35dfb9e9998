package policy

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// BenchmarkEvaluateCNFPod measures the full policy — every registered check — on a typical two-container CNF pod,
// created by the ReplicaSet controller in a protected namespace and bound to its VNF instance through its owner
// chain. Sub-benchmarks compare it with the same pod outside protected namespaces and with a UPF whose profile
// exceptions apply (the slow path that re-runs a Pod Security check on a copy).
func BenchmarkEvaluateCNFPod(b *testing.B) {
	env := newTestEnv(b, "")
	ev := env.evaluator(b)
	upf := cnfPodSpec()
	upf.Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"NET_ADMIN"}
	upf.Containers[0].Resources.Limits = corev1.ResourceList{"hugepages-1Gi": resource.MustParse("1Gi")}
	cases := []struct {
		name string
		req  *Request
	}{
		{"protected", podRequest(controllerUser, protectedNS, controllerPod("upf-rs", cnfPodSpec()))},
		{"unprotected", podRequest(controllerUser, "default", controllerPod("web-rs", cnfPodSpec()))},
		{"profile-exception", podRequest(controllerUser, protectedNS, controllerPod("upf-rs", upf))},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			if d := ev.Evaluate(ctx, c.req); !d.Allowed {
				b.Fatalf("benchmark pod denied: %s", d.Message())
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				ev.Evaluate(ctx, c.req)
			}
		})
	}
}
