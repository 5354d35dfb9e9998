package nodesensor

import (
	"testing"

	"github.com/vnfguard/vnfguard/internal/runtimeevent"
)

func TestOriginOf(t *testing.T) {
	cri := map[string]CRIContainer{"made-by-kubelet": {PodNamespace: "vnf-upf", PodName: "upf-0", Name: "upf"}}
	forged := map[string]string{labelPodNamespace: "vnf-upf", labelPodName: "upf-0"}
	for _, tc := range []struct {
		name string
		c    Container
		want string
	}{
		{"listed by the CRI plugin", Container{Namespace: KubeletNamespace, ID: "made-by-kubelet"}, runtimeevent.OriginCRI},
		{"ctr -n k8s.io run with forged kubelet labels", Container{Namespace: KubeletNamespace, ID: "x", Labels: forged}, runtimeevent.OriginContainerd},
		{"Docker Engine", Container{Namespace: "moby", ID: "d"}, runtimeevent.OriginEngine},
		{"ctr run", Container{Namespace: "default", ID: "d"}, runtimeevent.OriginEngine},
		{"allowed namespace", Container{Namespace: "tooling", ID: "t"}, runtimeevent.OriginAllowed},
		{"a CRI id in another namespace is still the engine's", Container{Namespace: "moby", ID: "made-by-kubelet"}, runtimeevent.OriginEngine},
	} {
		got, why := originOf(tc.c, cri, []string{"tooling"})
		if got != tc.want {
			t.Errorf("%s: origin %q, want %q (%s)", tc.name, got, tc.want, why)
		}
		if (got == runtimeevent.OriginContainerd || got == runtimeevent.OriginEngine) == (why == "") {
			t.Errorf("%s: origin %q with reason %q: a rogue origin needs a reason, the others none", tc.name, got, why)
		}
	}
}
