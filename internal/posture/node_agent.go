package posture

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/vnfguard/vnfguard/internal/policy"
)

/*
The node agent exception: vnfguard's own node agent (`vnfguard node`, the Helm chart's DaemonSet <name>-node) needs
hostPID, to read /proc/PID/cmdline of the processes containerd reports, and the containerd socket, whose API is the
node's root. vnfguard does not exempt itself quietly: check workloads still reports those fields, at severity info
and with NodeAgentException in the message, and only for this exact shape:

  - a DaemonSet named config self.workload + "-node" in self.namespace (config.Self.NodeAgent), running as the
    ServiceAccount self.serviceAccount + "-node" — names, not labels: labels are anyone's to set, and a DaemonSet
    in vnfguard's namespace is vnfguard's administrators' to make (a look-alike elsewhere is judged as any other);
  - hostPID, no hostNetwork, no hostIPC;
  - one hostPath volume, of type Socket, of a file named containerd.sock, mounted read-only wherever it is mounted;
    every other volume a Secret, ConfigMap, projected, downwardAPI or emptyDir volume;
  - one container (no init or ephemeral ones) running the image of vnfguard's own Deployment (self.workload in
    self.namespace, which must be among the inputs), not privileged, allowPrivilegeEscalation false, no added
    capabilities, no host ports, and a user other than root (with hostPID, uid 0 may signal every root process
    of the node, and reach into them where no LSM stops it).

Covered, at info: host-takeover on that socket volume, and pod-security's host namespaces (hostPID), hostPath
volumes and restricted volume types. Anything beyond the shape is reported at full severity, and for the agent's
own DaemonSet the message says which part broke the exception. Every other check (images, read-only root
filesystem, ...) judges the agent as any workload.
*/

// NodeAgentException is the text that names the exception in a finding's message.
const NodeAgentException = "vnfguard node agent: named exception for hostPID and the containerd socket (read-only)"

// nodeAgentEvidence is the evidence key (and value) of a finding the exception covers.
const nodeAgentEvidence = "exception"

// nodeAgentVerdict is what the exception says about one workload.
type nodeAgentVerdict struct {
	// agent: the workload is vnfguard's node agent by name and namespace.
	agent bool
	// broken says why the agent is not of the exact shape; empty when it is.
	broken string
	// socketField is the field path of the socket volume's hostPath.path.
	socketField string
}

// covers reports whether the exception lowers violation v of the workload to info.
func (n nodeAgentVerdict) covers(v policy.Violation) bool {
	if !n.agent || n.broken != "" {
		return false
	}
	switch v.Check {
	case "host-takeover":
		return v.Field == n.socketField
	case "pod-security":
		// The shape leaves hostPID as the one host namespace and the socket as the one hostPath volume.
		return strings.HasSuffix(v.Field, ".hostNetwork|hostPID|hostIPC") || strings.HasSuffix(v.Field, ".volumes[*].hostPath") ||
			strings.HasSuffix(v.Field, ".volumes[*]")
	}
	return false
}

// nodeAgent judges whether obj is vnfguard's node agent and whether it keeps the exception's exact shape.
func (s *scope) nodeAgent(obj runtime.Object) nodeAgentVerdict {
	ds, ok := obj.(*appsv1.DaemonSet)
	if !ok {
		return nodeAgentVerdict{}
	}
	self := s.cfg.Self
	name, sa := self.NodeAgent()
	if ds.Namespace != self.Namespace || ds.Name != name {
		return nodeAgentVerdict{}
	}
	v := nodeAgentVerdict{agent: true}
	v.broken, v.socketField = s.nodeAgentShape(&ds.Spec.Template.Spec, sa)
	return v
}

// nodeAgentShape returns why spec is not the exception's shape ("" when it is) and the field of its socket volume.
func (s *scope) nodeAgentShape(spec *corev1.PodSpec, serviceAccount string) (broken, socketField string) {
	const base = "spec.template.spec"
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
	if want, err := s.selfImages(); err != "" {
		return err, ""
	} else if !want[c.Image] {
		return fmt.Sprintf("container %q runs image %q, not the image of vnfguard's Deployment", c.Name, c.Image), ""
	}
	sc := c.SecurityContext
	switch {
	case sc != nil && sc.Privileged != nil && *sc.Privileged:
		return fmt.Sprintf("container %q is privileged", c.Name), ""
	case sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		return fmt.Sprintf("container %q does not set allowPrivilegeEscalation: false", c.Name), ""
	case sc.Capabilities != nil && len(sc.Capabilities.Add) > 0:
		return fmt.Sprintf("container %q adds capabilities %v", c.Name, sc.Capabilities.Add), ""
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
	if socket == "" {
		// No host path at all: nothing for the exception to cover, and nothing dangerous about the socket.
		return "", ""
	}
	return "", socketField
}

// selfImages are the images of vnfguard's own Deployment, or why they are not known.
func (s *scope) selfImages() (map[string]bool, string) {
	self := s.cfg.Self
	m, err := s.cluster.Get(context.Background(), "Deployment", self.Namespace, self.Workload)
	if err != nil {
		return nil, fmt.Sprintf("vnfguard's Deployment %s/%s is not among the inputs, so the agent's image cannot be matched to it", self.Namespace, self.Workload)
	}
	d, ok := m.(*appsv1.Deployment)
	if !ok {
		return nil, fmt.Sprintf("vnfguard's Deployment %s/%s could not be read", self.Namespace, self.Workload)
	}
	out := map[string]bool{}
	for _, c := range d.Spec.Template.Spec.Containers {
		out[c.Image] = true
	}
	return out, ""
}
