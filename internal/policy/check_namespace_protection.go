package policy

import (
	"context"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check namespace-protection stops a namespace from being taken out of protection quietly (FGT5013: once a namespace
is no longer protected, a rogue workload can be instantiated in it). It governs UPDATE and DELETE of Namespace
objects — including their status and finalize subresources, which carry the whole object.

Restricted, for every identity that is not a vnfguard administrator (identities.administrators):
  - an UPDATE after which a namespace that was protected (by protectedNamespaces.names or .selector) no longer is:
    removing or changing the label the selector reads;
  - a DELETE of a protected namespace: it destroys every VNF object in it outside the VNFM's lifecycle, and a
    namespace protected by a label comes back unprotected when it is created again under the same name.

Allowed: every other namespace change (adding labels, changing labels the selector does not read), and the
changes above by an administrator — each of which is still reported as a critical finding, as break-glass is.
Namespaces protected by name cannot drop out by an UPDATE: their name is immutable.
*/
type namespaceProtectionCheck struct{}

func init() { register(func() Check { return namespaceProtectionCheck{} }) }

func (namespaceProtectionCheck) ID() string        { return "namespace-protection" }
func (namespaceProtectionCheck) Technique() string { return finding.MaliciousVNFInstantiation }
func (namespaceProtectionCheck) Mitigations() []string {
	return []string{finding.MitigationUserAccounts, finding.MitigationPrivilegedAccounts}
}

func (c namespaceProtectionCheck) Evaluate(_ context.Context, a *Attributes, out []Violation) ([]Violation, error) {
	req := a.Request
	if req.Kind.Group != "" || req.Kind.Kind != "Namespace" || (req.Operation != Update && req.Operation != Delete) {
		return out, nil
	}
	old, ok := req.OldObject.(*corev1.Namespace)
	if !ok || old == nil || !a.Config.IsProtected(old.Name, old.Labels) {
		return out, nil
	}
	var v Violation
	switch req.Operation {
	case Delete:
		v = violation(c, "metadata.name", "deleting protected namespace "+old.Name+" by "+req.User.Username+
			" would remove every VNF object in it outside the VNFM's lifecycle")
	default:
		ns, ok := req.Object.(*corev1.Namespace)
		if !ok || ns == nil || a.Config.IsProtected(ns.Name, ns.Labels) {
			return out, nil
		}
		v = violation(c, "metadata.labels", "namespace "+old.Name+" would no longer be protected ("+labelChanges(old.Labels, ns.Labels)+
			") by "+req.User.Username+": workloads in it would escape vnfguard's protected-namespace checks")
	}
	if a.Identity.Has(Administrator) {
		v.Message = "allowed for vnfguard administrator " + req.User.Username + ": " + v.Message
		a.RecordOverride(v)
		return out, nil
	}
	v.Message += "; only vnfguard administrators may do this"
	return append(out, v), nil
}

// labelChanges describes how the labels changed, key by key, sorted: "vnfguard.io/protected: true → removed".
func labelChanges(before, after map[string]string) string {
	var changes []string
	for k, v := range before {
		if nv, ok := after[k]; !ok {
			changes = append(changes, k+": "+v+" → removed")
		} else if nv != v {
			changes = append(changes, k+": "+v+" → "+nv)
		}
	}
	for k, v := range after {
		if _, ok := before[k]; !ok {
			changes = append(changes, k+": added "+v)
		}
	}
	if len(changes) == 0 {
		return "no label changed"
	}
	sort.Strings(changes)
	return strings.Join(changes, ", ")
}
