package nodesensor

import (
	"fmt"
	"slices"

	"github.com/vnfguard/vnfguard/internal/runtimeevent"
)

// originOf says who made a container, as far as the node can prove it. Only the CRI plugin's own list makes a
// container the kubelet's: labels prove nothing, since any containerd client can write the kubelet's labels (and
// its CRI metadata extension) onto a container. A container in any other containerd namespace (moby: a Docker
// Engine, the Doki and TeamTNT path; default: ctr) was started through the container engine, unless the operator
// allowed that namespace for its own tooling. It needs the CRI plugin's list, a lookup: when that list could not
// be read the caller does not judge k8s.io at all (it never calls this with a nil map for a k8s.io container),
// while a container outside k8s.io is judged without it.
func originOf(c Container, cri map[string]CRIContainer, allowedNamespaces []string) (origin, why string) {
	switch {
	case c.Namespace == KubeletNamespace:
		if _, ok := cri[c.ID]; ok {
			return runtimeevent.OriginCRI, ""
		}
		claim := ""
		if pod := c.Pod(); pod != "" {
			claim = fmt.Sprintf(" (its labels claim pod %s: labels prove nothing)", pod)
		}
		return runtimeevent.OriginContainerd, "in the kubelet's containerd namespace but not made through the CRI: the CRI plugin does not list it" + claim
	case slices.Contains(allowedNamespaces, c.Namespace):
		return runtimeevent.OriginAllowed, ""
	default:
		return runtimeevent.OriginEngine, fmt.Sprintf("in containerd namespace %q, outside the kubelet's (%s): started through the container engine, not through Kubernetes", c.Namespace, KubeletNamespace)
	}
}
