package policy

import (
	"context"

	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check vnf-instantiation stops fake VNFs in protected namespaces (FGT5013: a fake or compromised container-management
controller deploys VNFs the NFVO never instantiated). It governs CREATE and UPDATE of Pods, Deployments,
StatefulSets, DaemonSets, ReplicaSets, ReplicationControllers, Jobs and CronJobs.

Restricted: every such object must belong to a VNF instance the inventory knows (by the instance label on it or an
owner, or by being named as one of the instance's resources), and

  - created or changed by a VNFM identity, for an instance that is INSTANTIATED and not STOPPED, or has an LCM
    operation in progress (the VNFM creates the workloads while it instantiates, heals or starts the instance);
    a VNFM may change (e.g. scale down, relabel) the workloads of a stopped or terminated instance;
  - or created by one of Kubernetes' own controllers (ReplicaSet, StatefulSet, Job, ... controllers), judged through
    the owner: the owner chain must lead to an instance that is running or has an operation in progress, so that a
    controller never brings back pods of a STOPPED or terminated instance (zombies).

Allowed: updates by Kubernetes' controllers (revision annotations, orphaning, status bookkeeping); everything outside
protected namespaces. No identity is exempt — break-glass is for access, not for instantiation. Until the inventory
has loaded once, instantiation in protected namespaces is denied with a message that says so.
*/
type vnfInstantiationCheck struct{}

func init() { register(func() Check { return vnfInstantiationCheck{} }) }

func (vnfInstantiationCheck) ID() string            { return "vnf-instantiation" }
func (vnfInstantiationCheck) Technique() string     { return finding.MaliciousVNFInstantiation }
func (vnfInstantiationCheck) Mitigations() []string { return []string{finding.MitigationUserAccounts} }

// Needs names the lookups the check reads: protection decides whether it applies; the binding, whether the object
// belongs to a running instance.
func (vnfInstantiationCheck) Needs() Lookup { return LookupNamespace | LookupBinding }

func (c vnfInstantiationCheck) Evaluate(_ context.Context, a *Attributes, out []Violation) ([]Violation, error) {
	req := a.Request
	if !a.Protected || req.SubResource != "" || !IsWorkloadKind(req.Kind.Kind) || (req.Operation != Create && req.Operation != Update) {
		return out, nil
	}
	user := req.User.Username
	switch {
	case a.Identity.Has(Controller):
		if req.Operation == Update {
			return out, nil
		}
		if !a.Snapshot.Loaded {
			return append(out, violation(c, "metadata.ownerReferences", "the VNF inventory ("+a.Snapshot.Source+") has not loaded yet, so no pod can be shown to belong to an INSTANTIATED VNF instance; vnfguard fails closed until it loads")), nil
		}
		if !a.Binding.Bound() {
			return append(out, violation(c, "metadata.ownerReferences", "created by controller "+user+" for an owner that belongs to no VNF instance")), nil
		}
		if !a.Binding.Known() {
			return append(out, violation(c, "metadata.ownerReferences", "created by controller "+user+" for VNF instance "+a.Binding.InstanceID+", which the inventory does not know (deleted or never instantiated by the NFVO)")), nil
		}
		if inst := a.Binding.Instance; inst.Dormant() && !inst.OperationInProgress() {
			return append(out, violation(c, "metadata.ownerReferences", "created by controller "+user+" for VNF instance "+inst.ID+", which the NFVO says is "+inst.State()+": a zombie pod of a stopped or terminated VNF")), nil
		}
	case a.Identity.Has(VNFM):
		if !a.Snapshot.Loaded {
			return append(out, violation(c, instanceLabelField(a), "the VNF inventory ("+a.Snapshot.Source+") has not loaded yet; vnfguard fails closed for instantiation until it loads")), nil
		}
		if !a.Binding.Bound() {
			return append(out, violation(c, instanceLabelField(a), "the VNFM "+user+" created a "+req.Kind.Kind+" that belongs to no VNF instance: set the label "+a.Config.InstanceLabel+" to the instance ID")), nil
		}
		if !a.Binding.Known() {
			return append(out, violation(c, instanceLabelField(a), "VNF instance "+a.Binding.InstanceID+" is not in the inventory (deleted or never created by the NFVO)")), nil
		}
		if inst := a.Binding.Instance; req.Operation == Create && inst.Dormant() && !inst.OperationInProgress() {
			return append(out, violation(c, instanceLabelField(a), "VNF instance "+inst.ID+" is "+inst.State()+" and has no LCM operation in progress: nothing may be instantiated for it")), nil
		}
	default:
		verb := "created"
		if req.Operation == Update {
			verb = "changed"
		}
		return append(out, violation(c, "metadata", req.Kind.Kind+" "+verb+" by "+user+", which is not a VNFM identity: only the VNFM may instantiate or change VNF workloads in a protected namespace")), nil
	}
	return out, nil
}

// instanceLabelField is the field path of the instance label, for a violation of the VNFM's objects.
func instanceLabelField(a *Attributes) string {
	return "metadata.labels[" + a.Config.InstanceLabel + "]"
}
