package rbac

import (
	"fmt"
	"time"

	"github.com/vnfguard/vnfguard/internal/danger"
	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check rbac-powerful-binding (FGT5013, M1018) flags bindings that hand a lot at once, by danger.PowerfulBinding — the
definition detection's rule of the same name applies to every create, update and patch of a binding: cluster-admin,
admin, edit or a Kubernetes component's system: role bound to someone who is not that component, or any role but
discovery bound to a group of many identities (system:masters, system:nodes, system:serviceaccounts[:<ns>],
system:authenticated, system:unauthenticated, the user system:anonymous). One finding per binding and subject,
whether or not the role exists yet (a binding to cluster-admin needs no role of its own). High; critical for
anonymous and every authenticated identity; low for administrators (the bootstrap binding of cluster-admin to
system:masters, and Users or Groups bound to cluster-admin, up to MaxExpectedAdmins).

Allowed: the bootstrap policy's bindings of Kubernetes' components to their system: roles, discovery roles bound to
anyone, and — for ordinary subjects — RoleBindings in namespaces that are not protected.
*/
const rulePowerfulBinding = "rbac-powerful-binding"

func (a *Analysis) powerfulBindings(now time.Time, bindings []*binding, admins int) []finding.Finding {
	var out []finding.Finding
	for _, b := range bindings {
		hits := danger.PowerfulBinding(danger.Binding{Namespace: b.namespace, RoleRef: b.roleRef, Subjects: b.subjects})
		for _, h := range hits {
			s := normalizeSubject(h.Subject, b.namespace)
			cls := classify(s, b)
			if b.namespace != "" && (cls == classOrdinary || cls == classAdmin) && !a.inScope(b.namespace) {
				continue
			}
			sev := severityFor(finding.High, cls, false, admins)
			ev := map[string]string{
				"binding": b.ref.String(), "role": b.roleRef.Kind + " " + b.roleRef.Name, "subjectClass": cls.String(),
			}
			if b.namespace == "" {
				ev["scope"] = "cluster-wide"
			} else {
				ev["scope"] = "namespace " + b.namespace
				ev["protected"] = fmt.Sprint(a.protected(b.namespace))
			}
			if b.role == nil {
				ev["note"] = "the role does not exist (yet): the binding is armed when it is created"
			}
			msg := b.ref.String() + " " + h.Reason
			out = append(out, newFinding(now, rulePowerfulBinding, finding.MaliciousVNFInstantiation, sev, Identity(s), bindingObject(b), msg, ev))
		}
	}
	return out
}
