package policy

import (
	"context"
	"encoding/json"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// FuzzEvaluatePod feeds arbitrary pod JSON through decoding and the full policy, in a protected and an ordinary
// namespace, by a VNFM, a controller and an attacker. Nothing may panic (a panicking check would surface as an
// internal error, which the fuzzer also rejects), and every denial must carry a message.
func FuzzEvaluatePod(f *testing.F) {
	seed := func(p *corev1.Pod) {
		b, _ := json.Marshal(p)
		f.Add(b)
	}
	seed(peiratesPod())
	seed(controllerPod("upf-rs", cnfPodSpec()))
	seed(&corev1.Pod{Spec: withSpec(func(s *corev1.PodSpec) {
		s.Volumes = []corev1.Volume{{Name: "d", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "amf-data"}}}}
		s.Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"NET_ADMIN", "CAP_SYS_ADMIN"}
	})})
	f.Add([]byte(`{"metadata":{"annotations":{"k8s.v1.cni.cncf.io/networks":"[{\"name\":1}]"}},"spec":{"containers":[{"image":"::"}]}}`))
	f.Add([]byte(`{"spec":{"hostPID":true,"containers":[{"securityContext":{"privileged":true}}],"volumes":[{"hostPath":{"path":"//var/../proc/1"}}]}}`))

	env := newTestEnv(f, "")
	ev := env.evaluator(f)
	users := []struct{ name string }{{"tacker-vnfm"}, {"system:kube-controller-manager"}, {"mallory"}}
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, err := DecodeObject(schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("decode error without a message")
			}
			return
		}
		pod, ok := obj.(*corev1.Pod)
		if !ok {
			return // empty input: no object
		}
		for _, ns := range []string{protectedNS, "default"} {
			for _, u := range users {
				req := podRequest(vnfmUser, ns, pod.DeepCopy())
				req.User.Username = u.name
				d := ev.Evaluate(context.Background(), req)
				if len(d.Errors) > 0 {
					t.Fatalf("internal error on %s: %v", data, d.Errors)
				}
				if !d.Allowed && d.Message() == "" {
					t.Fatal("denied without a message")
				}
			}
		}
	})
}
