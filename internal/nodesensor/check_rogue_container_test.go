package nodesensor

import (
	"strings"
	"testing"
)

func TestRogueReason(t *testing.T) {
	cri := map[string]bool{"kubelet-made": true, "sandbox": true}
	forged := map[string]string{"io.kubernetes.pod.namespace": "vnf-upf", "io.kubernetes.pod.name": "upf-0"}
	for _, tc := range []struct {
		name    string
		c       Container
		allowed []string
		rogue   bool
		why     string
	}{
		{"a container the kubelet made", Container{Namespace: "k8s.io", ID: "kubelet-made"}, nil, false, ""},
		{"a pod sandbox", Container{Namespace: "k8s.io", ID: "sandbox"}, nil, false, ""},
		{"ctr -n k8s.io run, with the kubelet's labels", Container{Namespace: "k8s.io", ID: "rogue", Labels: forged}, nil, true, "labels claim pod vnf-upf/upf-0"},
		{"ctr -n k8s.io run", Container{Namespace: "k8s.io", ID: "rogue"}, nil, true, "not made through the CRI"},
		{"a Docker Engine's container", Container{Namespace: "moby", ID: "doki"}, nil, true, `namespace "moby"`},
		{"ctr run", Container{Namespace: "default", ID: "x"}, nil, true, `namespace "default"`},
		{"an allowed namespace", Container{Namespace: "buildkit", ID: "x"}, []string{"buildkit"}, false, ""},
		{"allowing k8s.io does not excuse what the CRI does not list", Container{Namespace: "k8s.io", ID: "rogue"}, []string{"k8s.io"}, true, "not made through the CRI"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			why, rogue := rogueReason(tc.c, cri, tc.allowed)
			if rogue != tc.rogue || !strings.Contains(why, tc.why) {
				t.Errorf("rogueReason = %q, %v; want rogue %v with %q", why, rogue, tc.rogue, tc.why)
			}
		})
	}
}
