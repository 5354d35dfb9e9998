package policy

import (
	"context"
	"path"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check host-takeover forbids, in every namespace, the pod shapes that hand the node to whoever runs in the pod — the
Peirates pod of FGT5013 mounts the node's root filesystem and writes a reverse shell into the host's crontab:

  - hostPath volumes of "/", of the container runtime sockets (docker, containerd, cri-o) or the runtimes' state
    directories, of /proc, /var/lib/kubelet or /etc/kubernetes, of anything below those, or of a directory that
    contains one of them (mounting /var exposes /var/lib/kubelet);
  - hostPID together with a privileged container (nsenter into PID 1 of the node).

Allowed: every other hostPath (the pod-security check still governs hostPath in general), hostPID without a
privileged container, privileged containers without hostPID.
*/
type hostTakeoverCheck struct{}

func init() { register(func() Check { return hostTakeoverCheck{} }) }

func (hostTakeoverCheck) ID() string        { return "host-takeover" }
func (hostTakeoverCheck) Technique() string { return finding.MaliciousVNFInstantiation }
func (hostTakeoverCheck) Mitigations() []string {
	return []string{finding.MitigationPrivilegedAccounts}
}

// sensitiveHostPaths are host paths that give control of the node: mounting them, a path below them, or a directory
// above them is a takeover. "/" is handled on its own (everything is below it).
var sensitiveHostPaths = []string{
	"/proc",
	"/var/lib/kubelet",
	"/etc/kubernetes",
	"/var/run/docker.sock", "/run/docker.sock", "/var/lib/docker",
	"/run/containerd", "/var/run/containerd", "/var/lib/containerd",
	"/run/crio", "/var/run/crio", "/var/lib/containers",
	"/var/run/cri-dockerd.sock", "/run/cri-dockerd.sock",
}

func (c hostTakeoverCheck) Evaluate(_ context.Context, a *Attributes, out []Violation) ([]Violation, error) {
	w := a.Workload
	if w == nil || !a.SpecChanged {
		return out, nil
	}
	for i := range w.Spec.Volumes {
		hp := w.Spec.Volumes[i].HostPath
		if hp == nil {
			continue
		}
		if hit, why := takeoverPath(hp.Path); hit {
			out = append(out, violation(c, w.Path+".volumes["+strconv.Itoa(i)+"].hostPath.path",
				"hostPath "+strconv.Quote(hp.Path)+" "+why+": the pod would control the node (Peirates mounts / and writes a reverse shell to the host's crontab)"))
		}
	}
	if w.Spec.HostPID {
		w.Containers(func(list string, i int, ctr *corev1.Container) {
			if sc := ctr.SecurityContext; sc != nil && sc.Privileged != nil && *sc.Privileged {
				out = append(out, violation(c, w.ContainerPath(list, i)+".securityContext.privileged",
					"privileged container "+strconv.Quote(ctr.Name)+" with hostPID can enter every process of the node (nsenter -t 1)"))
			}
		})
	}
	return out, nil
}

// takeoverPath reports whether a hostPath gives control of the node, and why.
func takeoverPath(p string) (bool, string) {
	if p == "" {
		return false, ""
	}
	clean := path.Clean("/" + p)
	if clean == "/" {
		return true, "is the node's root filesystem"
	}
	for _, s := range sensitiveHostPaths {
		switch {
		case clean == s:
			return true, "is " + describeHostPath(s)
		case strings.HasPrefix(clean, s+"/"):
			return true, "is inside " + describeHostPath(s)
		case strings.HasPrefix(s, clean+"/"):
			return true, "contains " + describeHostPath(s)
		}
	}
	return false, ""
}

func describeHostPath(p string) string {
	switch {
	case strings.HasSuffix(p, ".sock"):
		return "the container runtime socket " + p
	case p == "/proc":
		return "the host's /proc"
	case p == "/var/lib/kubelet":
		return "the kubelet's state (pod volumes, credentials) /var/lib/kubelet"
	case p == "/etc/kubernetes":
		return "the node's Kubernetes credentials /etc/kubernetes"
	}
	return "the container runtime's state " + p
}
