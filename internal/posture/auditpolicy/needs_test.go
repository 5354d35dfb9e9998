package auditpolicy

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	auditinternal "k8s.io/apiserver/pkg/apis/audit"

	"github.com/vnfguard/vnfguard/internal/detect"
)

func builtinRules(t *testing.T) []*detect.Rule {
	t.Helper()
	rs, err := detect.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// Every built-in rule states what it needs of the audit policy; an entry for a rule not in the pack must be marked
// Pending (a rule other work is adding), and a Pending entry whose rule has arrived must drop the mark.
func TestEveryBuiltinRuleHasNeeds(t *testing.T) {
	inPack := map[string]bool{}
	for _, r := range builtinRules(t) {
		inPack[r.ID] = true
		if _, ok := NeedOf(r.ID); !ok {
			t.Errorf("rule %s (%s) has no entry in the needs table (needs.go): say what audit level and stages it needs on which resources", r.ID, r.Source)
		}
	}
	seen := map[string]bool{}
	for _, n := range Needs() {
		if seen[n.Rule] {
			t.Errorf("rule %s has two entries in the needs table", n.Rule)
		}
		seen[n.Rule] = true
		switch {
		case !inPack[n.Rule] && !n.Pending:
			t.Errorf("needs table: rule %s is not in the built-in pack: remove the entry, or mark it Pending if the rule is on its way", n.Rule)
		case inPack[n.Rule] && n.Pending:
			t.Errorf("needs table: rule %s is in the built-in pack now: drop its Pending mark and check its requirements against its condition", n.Rule)
		case !inPack[n.Rule]:
			t.Logf("needs table: %s is Pending (not in the built-in pack yet)", n.Rule)
		}
		if (n.NoAudit == "") == (len(n.Requirements) == 0) {
			t.Errorf("rule %s: want either requirements or a NoAudit reason, not both or neither", n.Rule)
		}
		for i, r := range n.Requirements {
			if len(r.Verbs) == 0 || len(r.Resources) == 0 && len(r.NonResourceURLs) == 0 || r.Why == "" {
				t.Errorf("rule %s, requirement %d: verbs, resources (or URLs) and why are all needed: %+v", n.Rule, i, r)
			}
			if !slices.Contains([]auditinternal.Level{metadata, request, requestResponse}, r.Level) {
				t.Errorf("rule %s, requirement %d: level %q", n.Rule, i, r.Level)
			}
			if r.Stage != started && r.Stage != complete {
				t.Errorf("rule %s, requirement %d: stage %q", n.Rule, i, r.Stage)
			}
			if len(probes(r)) == 0 {
				t.Errorf("rule %s, requirement %d: no request to probe", n.Rule, i)
			}
		}
	}
}

// The table follows what each rule's condition reads: a rule reading a body needs Request or more somewhere, one
// reading only the response (responseObject) needs RequestResponse, a session rule (isPodAccess) needs pods/exec at
// ResponseStarted, and a rule reading only event fields needs no more than Metadata.
func TestNeedsFollowConditions(t *testing.T) {
	body := regexp.MustCompile(`\b(object|hostTakeover|podCommands|podSpec|dangerousGrants|protectionRemoved|podHostTakeover|dangerousCapabilities|runsAsRoot|powerfulBinding)\(|\brequestObject\b`)
	for _, r := range builtinRules(t) {
		n, ok := NeedOf(r.ID)
		if !ok {
			continue // TestEveryBuiltinRuleHasNeeds reports it
		}
		most := auditinternal.LevelNone
		sessionAtStart := false
		for _, req := range n.Requirements {
			if most.Less(req.Level) {
				most = req.Level
			}
			if req.Stage == started && slices.Contains(req.Resources, "pods/exec") {
				sessionAtStart = true
			}
		}
		cond := r.Condition
		switch {
		case r.Events == "runtime":
			if strings.Contains(cond, "apiServerExec()") && !sessionAtStart {
				t.Errorf("%s joins node execs with audited execs: it needs pods/exec at ResponseStarted", r.ID)
			}
			if !strings.Contains(cond, "apiServerExec()") && n.NoAudit == "" {
				t.Errorf("%s reads only the node agent's reports: want NoAudit", r.ID)
			}
		case strings.Contains(cond, "responseObject"):
			if most != requestResponse {
				t.Errorf("%s reads responseObject: it needs RequestResponse somewhere, has at most %s", r.ID, most)
			}
		case body.MatchString(cond):
			if most.Less(request) {
				t.Errorf("%s reads the object of the request: it needs Request or more somewhere, has at most %s", r.ID, most)
			}
		case !strings.Contains(cond, "isPodAccess()") && !strings.Contains(cond, "isDormant()") && !strings.Contains(cond, "vnfState()") && !strings.Contains(cond, "vnfInstance()"):
			if metadata.Less(most) {
				t.Errorf("%s reads only event fields: it needs Metadata, the table says %s", r.ID, most)
			}
		}
		if strings.Contains(cond, "isPodAccess()") && strings.Contains(cond, `resource == "pods"`) && !strings.Contains(cond, "isVNFGuardDenial") && !sessionAtStart {
			t.Errorf("%s judges sessions into pods: it needs pods/exec at ResponseStarted (reported when the session opens)", r.ID)
		}
	}
}
