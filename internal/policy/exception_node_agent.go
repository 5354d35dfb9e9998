package policy

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vnfguard/vnfguard/internal/config"
)

/*
Exception vnfguard-node-agent: vnfguard's own node agent (`vnfguard node`, the Helm chart's DaemonSet <workload>-node
in vnfguard's namespace) needs hostPID, to read the command lines of the processes containerd reports, CAP_NET_ADMIN,
to hear of every execve from the kernel's process events before a short command has ended, and the containerd
socket, whose API is the node's root. vnfguard does not exempt itself quietly: admission lets exactly this shape
through as an override (allowed, and still a finding naming NodeAgentException), and the posture scan reports it
at severity info with the same name. The shape:

  - the DaemonSet named config self.workload + "-node" in self.namespace, or a pod it controls there (names, not
    labels: labels are anyone's to set, and a DaemonSet in vnfguard's namespace is vnfguard's administrators' to
    make), running as the ServiceAccount self.serviceAccount + "-node";
  - hostPID; no hostNetwork, no hostIPC;
  - one hostPath volume, of type Socket, of a file named containerd.sock, mounted read-only wherever it is mounted;
    every other volume a Secret, ConfigMap, projected, downwardAPI or emptyDir volume;
  - one container (no init or ephemeral ones) running vnfguard's own image (self.image in the configuration; in
    the posture scan also the image of vnfguard's Deployment), not privileged, allowPrivilegeEscalation false, no
    capability added but NET_ADMIN, no host ports, and a user other than root (with hostPID, uid 0 may signal every
    root process of the node).

Covered: host-takeover on that socket volume, dangerous-capability's NET_ADMIN, and pod-security's host namespaces
(hostPID), hostPath volumes, restricted volume types and added capabilities (NET_ADMIN). Everything else is judged as for any pod.
*/

// NodeAgentException names the exception wherever it lets something through.
const NodeAgentException = "vnfguard node agent: named exception for hostPID, CAP_NET_ADMIN and the containerd socket (read-only)"

// NodeAgentNotCovered is the suffix of a violation of the node agent that its exception does not cover, and why.
func NodeAgentNotCovered(why string) string {
	return " (not vnfguard's named node-agent exception: " + why + ")"
}

// NodeAgentVerdict is what the exception says about one pod spec.
type NodeAgentVerdict struct {
	// Agent: the object is vnfguard's node agent by name and namespace.
	Agent bool
	// Broken says why the agent is not of the exact shape; empty when it is.
	Broken string
	// SocketField is the field path of the socket volume's hostPath.path.
	SocketField string
	path        string
}

// Covers reports whether the exception lets violation v of the agent through.
func (n NodeAgentVerdict) Covers(v Violation) bool {
	if !n.Agent || n.Broken != "" {
		return false
	}
	switch v.Check {
	case "host-takeover":
		return v.Field == n.SocketField
	case "dangerous-capability":
		// The shape admits no added capability but NET_ADMIN.
		return strings.HasSuffix(v.Field, ".securityContext.capabilities.add")
	case "pod-security":
		return strings.HasSuffix(v.Field, ".hostNetwork|hostPID|hostIPC") || strings.HasSuffix(v.Field, ".volumes[*].hostPath") ||
			strings.HasSuffix(v.Field, ".volumes[*]") || strings.HasSuffix(v.Field, ".containers[*].securityContext.capabilities")
	}
	return false
}

// IsNodeAgent reports whether an object is vnfguard's node agent by name and namespace: the DaemonSet itself, or
// a pod whose controller is that DaemonSet (meta is the pod's; namespace and name are the request's).
func IsNodeAgent(self config.Self, kind, namespace, name string, meta *metav1.ObjectMeta) bool {
	ns := self.Namespace
	if ns == "" {
		ns = "vnfguard"
	}
	agent, _ := self.NodeAgent()
	if namespace != ns {
		return false
	}
	switch kind {
	case "DaemonSet":
		return name == agent
	case "Pod":
		if meta == nil {
			return false
		}
		ref := metav1.GetControllerOfNoCopy(meta)
		return ref != nil && ref.Kind == "DaemonSet" && ref.Name == agent
	}
	return false
}

// NodeAgentShape judges the pod spec of the agent (at field path base): why it is not the exception's shape ("" when
// it is) and the field of its socket volume. images are the images the agent may run (vnfguard's own).
func NodeAgentShape(self config.Self, spec *corev1.PodSpec, base string, images []string) NodeAgentVerdict {
	v := NodeAgentVerdict{Agent: true, path: base}
	v.Broken, v.SocketField = nodeAgentShape(self, spec, base, images)
	return v
}

func nodeAgentShape(self config.Self, spec *corev1.PodSpec, base string, images []string) (broken, socketField string) {
	_, serviceAccount := self.NodeAgent()
	if spec.ServiceAccountName != serviceAccount {
		return fmt.Sprintf("it runs as ServiceAccount %q, not %q", spec.ServiceAccountName, serviceAccount), ""
	}
	if spec.HostNetwork || spec.HostIPC {
		return "it shares the node's network or IPC namespace besides its PID namespace", ""
	}
	socket := ""
	for i, vol := range spec.Volumes {
		switch {
		case vol.HostPath != nil:
			hp := vol.HostPath
			if socket != "" {
				return fmt.Sprintf("volume %q is a second hostPath (%s)", vol.Name, hp.Path), ""
			}
			if hp.Type == nil || *hp.Type != corev1.HostPathSocket || path.Base(path.Clean("/"+hp.Path)) != "containerd.sock" {
				return fmt.Sprintf("hostPath volume %q (%s) is not the containerd socket of type Socket", vol.Name, hp.Path), ""
			}
			socket, socketField = vol.Name, base+".volumes["+strconv.Itoa(i)+"].hostPath.path"
		case vol.Secret != nil, vol.ConfigMap != nil, vol.Projected != nil, vol.DownwardAPI != nil, vol.EmptyDir != nil:
		default:
			return fmt.Sprintf("volume %q is neither the socket nor a Secret, ConfigMap, projected, downwardAPI or emptyDir volume", vol.Name), ""
		}
	}
	if len(spec.InitContainers)+len(spec.EphemeralContainers) > 0 || len(spec.Containers) != 1 {
		return fmt.Sprintf("it has %d containers, %d init and %d ephemeral containers, not one container",
			len(spec.Containers), len(spec.InitContainers), len(spec.EphemeralContainers)), ""
	}
	c := &spec.Containers[0]
	if len(images) == 0 {
		return "vnfguard's own image is not known (set self.image in the configuration), so the agent's image cannot be matched to it", ""
	}
	if !slices.Contains(images, c.Image) {
		return fmt.Sprintf("container %q runs image %q, not vnfguard's own image (%s)", c.Name, c.Image, strings.Join(images, ", ")), ""
	}
	sc := c.SecurityContext
	switch {
	case sc != nil && sc.Privileged != nil && *sc.Privileged:
		return fmt.Sprintf("container %q is privileged", c.Name), ""
	case sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		return fmt.Sprintf("container %q does not set allowPrivilegeEscalation: false", c.Name), ""
	case sc.Capabilities != nil && slices.ContainsFunc(sc.Capabilities.Add, func(c corev1.Capability) bool { return c != "NET_ADMIN" }):
		return fmt.Sprintf("container %q adds capabilities %v (only NET_ADMIN is part of the exception)", c.Name, sc.Capabilities.Add), ""
	}
	for _, p := range c.Ports {
		if p.HostPort != 0 {
			return fmt.Sprintf("container %q has host port %d", c.Name, p.HostPort), ""
		}
	}
	var uid *int64
	if spec.SecurityContext != nil {
		uid = spec.SecurityContext.RunAsUser
	}
	if sc.RunAsUser != nil {
		uid = sc.RunAsUser
	}
	if uid == nil || *uid == 0 {
		return fmt.Sprintf("container %q may run as root (runAsUser unset or 0): with hostPID, root signals every root process of the node", c.Name), ""
	}
	for _, m := range c.VolumeMounts {
		if m.Name == socket && !m.ReadOnly {
			return fmt.Sprintf("container %q mounts the socket at %s writable", c.Name, m.MountPath), ""
		}
	}
	return "", socketField
}

// applyNodeAgentException turns the denials the exception covers into overrides (allowed, still findings) when
// the request is the node agent's exact shape; a node agent of any other shape is denied as any pod, and the
// denial says what broke the exception.
func applyNodeAgentException(d *Decision, a *Attributes) {
	w := a.Workload
	req := a.Request
	if w == nil || len(d.Denials) == 0 || !IsNodeAgent(a.Config.Self, req.Kind.Kind, req.Namespace, req.Name, w.Meta) {
		return
	}
	var images []string
	if a.Config.Self.Image != "" {
		images = []string{a.Config.Self.Image}
	}
	v := NodeAgentShape(a.Config.Self, w.Spec, w.Path, images)
	if v.Broken != "" {
		for i := range d.Denials {
			d.Denials[i].Message += NodeAgentNotCovered(v.Broken)
		}
		return
	}
	kept := d.Denials[:0]
	for _, den := range d.Denials {
		if v.Covers(den) {
			den.Message += " (" + NodeAgentException + ")"
			d.Overrides = append(d.Overrides, den)
			continue
		}
		kept = append(kept, den)
	}
	d.Denials = kept
	if len(d.Denials) == 0 && len(d.Errors) == 0 {
		d.Allowed = true
		d.Exceptions = append(d.Exceptions, NodeAgentException)
	}
}
