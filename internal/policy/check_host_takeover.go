package policy

import (
	"context"
	"strconv"

	corev1 "k8s.io/api/core/v1"

	"github.com/vnfguard/vnfguard/internal/danger"
	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check host-takeover forbids, in every namespace, the pod shapes that hand the node to whoever runs in the pod — the
Peirates pod of FGT5013 mounts the node's root filesystem and writes a reverse shell into the host's crontab:

  - hostPath volumes that hand the node to the pod (danger.HostPath, the one definition detection and posture use
    too): "/", the container runtime sockets (docker, containerd, cri-o) or the runtimes' state directories, /proc,
    /var/lib/kubelet or /etc/kubernetes, anything below those, or a directory that contains one of them (mounting
    /var exposes /var/lib/kubelet);
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
		if hit, why := danger.HostPath(hp.Path); hit {
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
