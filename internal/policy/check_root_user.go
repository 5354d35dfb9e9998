package policy

import (
	"context"
	"strconv"

	"github.com/vnfguard/vnfguard/internal/danger"
	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check root-user forbids, in every namespace, containers that the spec runs as user 0: runAsUser 0 on the
container, or on the pod and not overridden by the container (danger.RunsAsRoot, the one definition detection's
runsAsRoot() and the posture scan use too). Root in a container holds every capability the runtime grants and owns
whatever it mounts; TeamTNT's pods ask for it explicitly.

Allowed: containers that set no user (the image decides; pod-security's restricted level requires runAsNonRoot in
protected namespaces), any other user, containers whose effective runAsNonRoot is true (the kubelet refuses to
start them as root), and pods of a VNF product whose profile sets allowRunAsRoot (the same allowance pod-security
applies). An operator who must run root pods outside VNF namespaces sets checks: {root-user: {mode: warn}}.
*/
type rootUserCheck struct{}

func init() { register(func() Check { return rootUserCheck{} }) }

func (rootUserCheck) ID() string        { return "root-user" }
func (rootUserCheck) Technique() string { return finding.MaliciousVNFInstantiation }
func (rootUserCheck) Mitigations() []string {
	return []string{finding.MitigationPrivilegedAccounts}
}

func (c rootUserCheck) Evaluate(_ context.Context, a *Attributes, out []Violation) ([]Violation, error) {
	w := a.Workload
	if w == nil || !a.SpecChanged {
		return out, nil
	}
	ctrs := danger.RunsAsRoot(a.dangerPod())
	if len(ctrs) == 0 {
		return out, nil
	}
	if a.Profile != nil && a.Profile.AllowRunAsRoot {
		a.Note("profile " + a.Profile.Name + " allowed running as root (root-user)")
		return out, nil
	}
	for _, ctr := range ctrs {
		field := w.ContainerPath(ctr.List, ctr.Index) + ".securityContext.runAsUser"
		if ctr.RunAsUser == nil {
			field = w.Path + ".securityContext.runAsUser"
		}
		msg := "container " + strconv.Quote(ctr.Name) + " runs as root (runAsUser 0)"
		if a.Unknown.Has(LookupBinding) {
			msg += "; no profile exception applied because the pod's VNF instance could not be found"
		}
		out = append(out, violation(c, field, msg))
	}
	return out, nil
}
