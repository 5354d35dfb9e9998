// Package danger holds the one definition of each dangerous shape that admission (internal/policy), detection
// (internal/detect) and posture (internal/posture) judge:
//
//   - HostPath: what may not be mounted from the host because it hands the node to the pod;
//   - Capability, DangerousCapabilities: capabilities that hand over the node (SYS_ADMIN, SYS_PTRACE, BPF, ALL …,
//     never allowed) or that only a VNF profile may allow (NET_ADMIN, SYS_TIME), names normalised as the runtime
//     reads them ("cap_sys_admin" is SYS_ADMIN);
//   - RunsAsRoot: containers that run as user 0 by the spec (pod-level runAsUser, overridden per container);
//   - Grants, DangerousGrants: what a role's rules grant that leads to a takeover, judged with Kubernetes' own
//     rule matching (RuleAllows, validation.Covers: apiGroups, subresources, wildcards, resourceNames);
//   - PowerfulBinding: bindings that give cluster-admin, admin, edit or a component's system: role to someone
//     who is not that component, or any real role to a group of many identities.
//
// Each definition comes with a table of cases (HostPathCases, CapabilityCases, RootUserCases, GrantCases,
// BindingCases) that the callers' tests run through their own paths, so that a pod or role refused by one is never
// ignored by another.
package danger
