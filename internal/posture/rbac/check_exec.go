package rbac

import (
	"strings"

	"github.com/vnfguard/vnfguard/internal/danger"
	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check rbac-exec (FGT1609.501, M1018) flags subjects that can open a shell or a tunnel into pods — pods/exec,
pods/attach, pods/portforward — in a protected namespace or cluster-wide. Both verbs count: create (the SPDY
POST of older kubectl) and get (kubectl ≥ 1.30 uses a WebSocket GET, and before Kubernetes 1.35 get on pods/exec
was enough RBAC to exec; checking create only misses every modern exec). High for an ordinary subject.

Allowed: exec rights in namespaces that are not protected, for ordinary subjects. A rule limited by
resourceNames is reported one step lower, with the pod names.
*/
var checkExec = &check{
	rule: "rbac-exec", technique: finding.AccessingTerminatedVNF, severity: finding.High,
	what: "exec into, attach to or port-forward to pods", prep: "of",
	kind: danger.GrantExec,
	note: func(matched []string) string {
		for _, m := range matched {
			if strings.HasPrefix(m, "create ") {
				return ""
			}
		}
		return "get only: kubectl ≥ 1.30 execs with a WebSocket GET, and before Kubernetes 1.35 get on pods/exec is enough to exec"
	},
}
