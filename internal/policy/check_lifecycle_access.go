package policy

import (
	"context"

	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check lifecycle-access guards the ways into a running container (FGT1609.501: kubectl or the Kubernetes API used to
reach the data of a suspended, stopped or terminated VNF): CONNECT on pods/exec, pods/attach and pods/portforward —
whatever the HTTP verb, since kubectl ≥ 1.30 opens them with a WebSocket GET — and UPDATE of
pods/ephemeralcontainers (kubectl debug).

Restricted, for everyone:
  - pods of a VNF instance that the NFVO says is STOPPED or NOT_INSTANTIATED, or that claims an instance the
    inventory no longer knows;
  - pods being deleted (a terminating pod still holds the VNF's data and credentials);
  - pods of an instance whose TERMINATE is under way (the VNFM deletes its pods some seconds into the operation:
    until then they hold the data the termination is about to release).

Restricted in protected namespaces: every identity that is not break-glass. A break-glass identity is allowed into a
running VNF's pods, and each such use is recorded as a finding.

Allowed: everything else — pods outside protected namespaces that belong to no dormant instance.
*/
type lifecycleAccessCheck struct{}

func init() { register(func() Check { return lifecycleAccessCheck{} }) }

func (lifecycleAccessCheck) ID() string            { return "lifecycle-access" }
func (lifecycleAccessCheck) Technique() string     { return finding.AccessingTerminatedVNF }
func (lifecycleAccessCheck) Mitigations() []string { return []string{finding.MitigationUserAccounts} }

// Needs names the lookups the check reads: the target pod and its instance, and protection for who may enter.
func (lifecycleAccessCheck) Needs() Lookup { return LookupNamespace | LookupBinding }

func (c lifecycleAccessCheck) Evaluate(_ context.Context, a *Attributes, out []Violation) ([]Violation, error) {
	req := a.Request
	switch {
	case req.Operation == Connect && (req.SubResource == "exec" || req.SubResource == "attach" || req.SubResource == "portforward"):
	case req.Operation == Update && req.SubResource == "ephemeralcontainers":
	default:
		return out, nil
	}
	field := "pods/" + req.SubResource
	what := accessName(req.SubResource)
	pod := a.Target
	if pod == nil {
		return out, nil // the API server answers 404 itself
	}
	if pod.DeletionTimestamp != nil {
		return append(out, violation(c, field, what+" into pod "+pod.Name+", which is being deleted: a terminating pod of a VNF still holds its data")), nil
	}
	b := a.Binding
	if b.Bound() && !b.Known() {
		return append(out, violation(c, field, what+" into pod "+pod.Name+" of VNF instance "+b.InstanceID+", which the inventory no longer knows (terminated and deleted): its data is no one's to read")), nil
	}
	if inst := b.Instance; inst != nil && inst.Dormant() {
		return append(out, violation(c, field, what+" into pod "+pod.Name+" of VNF instance "+inst.ID+", which the NFVO says is "+inst.State()+": denied for everyone, break-glass included")), nil
	}
	if inst := b.Instance; inst != nil && inst.Terminating() {
		return append(out, violation(c, field, what+" into pod "+pod.Name+" of VNF instance "+inst.ID+", whose TERMINATE is under way ("+inst.ActiveOperation.State+"): denied for everyone, break-glass included")), nil
	}
	if !a.Protected {
		return out, nil
	}
	if a.Identity.Has(BreakGlass) {
		a.RecordBreakGlass("break-glass " + what + " into pod " + req.Namespace + "/" + pod.Name + " by " + req.User.Username + " (" + b.String() + ")")
		return out, nil
	}
	return append(out, violation(c, field, what+" into pod "+pod.Name+" in a protected namespace by "+req.User.Username+", which is not a break-glass identity")), nil
}

func accessName(sub string) string {
	switch sub {
	case "exec":
		return "exec"
	case "attach":
		return "attach"
	case "portforward":
		return "port-forward"
	}
	return "ephemeral container (kubectl debug)"
}
