package nodesensor

import (
	"fmt"
	"slices"
)

// rogueReason restricts which containers may exist on a node: those the kubelet made through the CRI. It reports
// a container in any containerd namespace but the kubelet's (moby: through a Docker Engine, the Doki and TeamTNT
// path; default: ctr), unless the operator named that namespace as allowed, and a container in the kubelet's
// namespace that the CRI plugin does not list (made there with ctr or another containerd client, whatever pod its
// labels claim). Allowed: every container and pod sandbox the CRI plugin lists. It needs the CRI plugin's list, a
// lookup; when that list could not be read the caller does not judge k8s.io at all (it never calls this with a nil
// map), while a container outside k8s.io is judged without it.
func rogueReason(c Container, criKnows map[string]bool, allowedNamespaces []string) (string, bool) {
	switch {
	case c.Namespace == KubeletNamespace && criKnows[c.ID]:
		return "", false
	case c.Namespace == KubeletNamespace:
		claim := ""
		if pod := c.Pod(); pod != "" {
			claim = fmt.Sprintf(" (its labels claim pod %s: labels prove nothing)", pod)
		}
		return "in the kubelet's containerd namespace but not made through the CRI: the CRI plugin does not list it" + claim, true
	case slices.Contains(allowedNamespaces, c.Namespace):
		return "", false
	default:
		return fmt.Sprintf("in containerd namespace %q, outside the kubelet's (%s): started through the container engine, not through Kubernetes", c.Namespace, KubeletNamespace), true
	}
}
