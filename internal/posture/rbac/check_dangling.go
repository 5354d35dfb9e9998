package rbac

import (
	"fmt"
	"strings"
	"time"

	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check rbac-dangling-binding (FGT5013, M1018) flags bindings whose roleRef names no existing role (or a kind the
binding cannot use, such as a ClusterRoleBinding to a Role): they grant nothing now, as in the API server, but
whoever later creates a role of that name arms them and hands its rules to the binding's subjects. Low.

Allowed: bindings whose only subjects are Kubernetes' own components (the bootstrap policy, even mid-upgrade).
*/
const ruleDanglingBinding = "rbac-dangling-binding"

func (a *Analysis) dangling(b *binding, now time.Time) (finding.Finding, bool) {
	var ids []string
	for _, s := range b.subjects {
		s = normalizeSubject(s, b.namespace)
		if classify(s, b) != classComponent {
			ids = append(ids, Identity(s))
		}
	}
	if len(ids) == 0 && len(b.subjects) > 0 {
		return finding.Finding{}, false
	}
	missing := b.roleRef.Kind + " " + b.roleRef.Name
	if b.namespace != "" && b.roleRef.Kind == "Role" {
		missing = "Role " + b.namespace + "/" + b.roleRef.Name
	}
	identity := strings.Join(ids, ", ")
	if len(ids) > 1 {
		identity = fmt.Sprintf("%s and %d more", ids[0], len(ids)-1)
	}
	msg := fmt.Sprintf("%s refers to %s, which does not exist: it grants nothing now, but whoever creates it grants its rules to %s",
		b.ref, missing, orNobody(strings.Join(ids, ", ")))
	ev := map[string]string{"binding": b.ref.String(), "role": missing, "subjects": strings.Join(ids, ", ")}
	if b.namespace == "" {
		ev["scope"] = "cluster-wide"
	} else {
		ev["scope"] = "namespace " + b.namespace
	}
	return newFinding(now, ruleDanglingBinding, finding.MaliciousVNFInstantiation, finding.Low, identity, bindingObject(b), msg, ev), true
}

func orNobody(s string) string {
	if s == "" {
		return "nobody (no subjects)"
	}
	return s
}
