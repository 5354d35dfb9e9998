package policy

import (
	"context"
	"strconv"

	"github.com/vnfguard/vnfguard/internal/danger"
	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check dangerous-capability forbids, in every namespace, containers (init, regular and ephemeral) that add a
capability that hands the node to the pod — TeamTNT's and Siloscape's pods add SYS_ADMIN or SYS_PTRACE, mount the
host and load their tools into the node's kernel. The capabilities are package danger's (the one definition
detection's dangerousCapabilities() and the posture scan use too), with "CAP_" and case normalised as the runtime
does ("cap_sys_admin" is SYS_ADMIN):

  - never allowed: ALL, SYS_ADMIN, SYS_MODULE, SYS_PTRACE, SYS_RAWIO, SYS_BOOT, BPF, PERFMON, DAC_READ_SEARCH,
    MAC_ADMIN, MAC_OVERRIDE — no VNF profile lifts them;
  - allowed only where the VNF product's profile lists them in allowCapabilities (the same allowance pod-security
    applies): NET_ADMIN, SYS_TIME. A UPF may reconfigure its interfaces; a pod of no instance may not.

Allowed: every other capability (pod-security still applies the Pod Security Standards' list), dropped
capabilities, and vnfguard's own node agent's NET_ADMIN (its named exception). When the pod's VNF instance could
not be looked up, no profile applies and the message says so.
*/
type dangerousCapabilityCheck struct{}

func init() { register(func() Check { return dangerousCapabilityCheck{} }) }

func (dangerousCapabilityCheck) ID() string        { return "dangerous-capability" }
func (dangerousCapabilityCheck) Technique() string { return finding.MaliciousVNFInstantiation }
func (dangerousCapabilityCheck) Mitigations() []string {
	return []string{finding.MitigationPrivilegedAccounts, finding.MitigationExecutionPrevention}
}

func (c dangerousCapabilityCheck) Evaluate(_ context.Context, a *Attributes, out []Violation) ([]Violation, error) {
	w := a.Workload
	if w == nil || !a.SpecChanged {
		return out, nil
	}
	var allowed []string
	if a.Profile != nil {
		allowed = a.Profile.AllowCapabilities
	}
	for _, h := range danger.DangerousCapabilities(a.dangerPod(), allowed) {
		msg := "container " + strconv.Quote(h.Container.Name) + " adds capability " + h.Capability + ": " + h.Reason
		if a.Unknown.Has(LookupBinding) {
			msg += "; no profile exception applied because the pod's VNF instance could not be found"
		}
		out = append(out, violation(c, w.ContainerPath(h.Container.List, h.Container.Index)+".securityContext.capabilities.add", msg))
	}
	return out, nil
}
