package policy

import (
	"context"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check readonly-rootfs requires read-only root filesystems in protected namespaces (MITRE M1038, Execution
Prevention: a container that cannot write its image's filesystem cannot drop and run a payload there, nor replace
the VNF's binaries). It is a check of its own because the Pod Security Standards, which check pod-security
enforces with Kubernetes' own library, do not restrict it at any level.

Restricted field: securityContext.readOnlyRootFilesystem of every container — init, regular and ephemeral (kubectl
debug) — of pods and workload pod templates in protected namespaces. Only true is allowed; false and unset are
not.

Allowed: everything outside protected namespaces; the containers that the VNF product's profile names in
allowWritableRootFilesystem ("*": every container of the product), named in the decision; updates that leave the
pod spec unchanged.
*/
type readOnlyRootFSCheck struct{}

func init() { register(func() Check { return readOnlyRootFSCheck{} }) }

func (readOnlyRootFSCheck) ID() string        { return "readonly-rootfs" }
func (readOnlyRootFSCheck) Technique() string { return finding.MaliciousVNFInstantiation }
func (readOnlyRootFSCheck) Mitigations() []string {
	return []string{finding.MitigationExecutionPrevention}
}

func (c readOnlyRootFSCheck) Evaluate(_ context.Context, a *Attributes, out []Violation) ([]Violation, error) {
	w := a.Workload
	if !a.Protected || w == nil || !a.SpecChanged {
		return out, nil
	}
	var excepted []string
	w.Containers(func(list string, i int, ctr *corev1.Container) {
		if sc := ctr.SecurityContext; sc != nil && sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem {
			return
		}
		if writableAllowed(a.Profile, ctr.Name) {
			excepted = append(excepted, ctr.Name)
			return
		}
		state := "unset"
		if sc := ctr.SecurityContext; sc != nil && sc.ReadOnlyRootFilesystem != nil {
			state = "false"
		}
		out = append(out, violation(c, w.ContainerPath(list, i)+".securityContext.readOnlyRootFilesystem",
			"container "+ctr.Name+" has a writable root filesystem (readOnlyRootFilesystem "+state+"); set it to true, or name the container in the profile's allowWritableRootFilesystem"))
	})
	if len(excepted) > 0 {
		a.Note("profile " + a.Profile.Name + " allowed a writable root filesystem for container(s) " + strings.Join(excepted, ", "))
	}
	return out, nil
}

// writableAllowed reports whether the profile lets the container keep a writable root filesystem.
func writableAllowed(p *config.Profile, container string) bool {
	return p != nil && (slices.Contains(p.AllowWritableRootFilesystem, container) || slices.Contains(p.AllowWritableRootFilesystem, "*"))
}
