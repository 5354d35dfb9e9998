package policy

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"github.com/vnfguard/vnfguard/internal/danger"
	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check kubelet-session closes the way into a container that goes around pods/exec (FGT1609.501: the kubelet's own
API used to reach a VNF's data): CONNECT on nodes/proxy — whatever the HTTP verb — whose path opens a session in the
kubelet API (danger.KubeletSessionOf: exec, run, attach, portForward, checkpoint, cri, or a path with a ".."
segment). The API server proxies such a request to the kubelet without any pods/exec admission request, so check
lifecycle-access never sees it, and its audit event names a node, not the pod.

Restricted, for everyone, break-glass included, in every namespace: the session path names the pod but the check
needs no lookup to refuse it (so no failing lookup can open it), and pods/exec serves every legitimate use with the
pod's lifecycle and protection judged.

Allowed: every other nodes/proxy path (metrics, stats, pods, healthz, logs, containerLogs).
*/
type kubeletSessionCheck struct{}

func init() { register(func() Check { return kubeletSessionCheck{} }) }

func (kubeletSessionCheck) ID() string        { return "kubelet-session" }
func (kubeletSessionCheck) Technique() string { return finding.AccessingTerminatedVNF }
func (kubeletSessionCheck) Mitigations() []string {
	return []string{finding.MitigationUserAccounts, finding.MitigationNetworkSegmentation}
}

func (c kubeletSessionCheck) Evaluate(_ context.Context, a *Attributes, out []Violation) ([]Violation, error) {
	req := a.Request
	if req.Operation != Connect || !req.IsNodeProxy() {
		return out, nil
	}
	opts, ok := req.Object.(*corev1.NodeProxyOptions)
	if !ok || opts == nil {
		return out, nil // no path: the API server proxies to the kubelet's root, which opens nothing
	}
	s, ok := danger.KubeletSessionOf(opts.Path)
	if !ok {
		return out, nil
	}
	if s.DotDot {
		return append(out, violation(c, "path", "path "+opts.Path+" through node "+req.Name+"'s kubelet API by "+req.User.Username+
			" has a '..' segment, which the API server resolves before the kubelet reads it: judged as a session into a pod, which only pods/exec may open")), nil
	}
	into := "a pod"
	if s.Pod != "" {
		into = "pod " + s.Namespace + "/" + s.Pod
	}
	return append(out, violation(c, "path", s.Kind+" into "+into+" through node "+req.Name+"'s kubelet API by "+req.User.Username+
		": it skips pods/exec admission and audit; denied for everyone, break-glass included (use pods/exec)")), nil
}
