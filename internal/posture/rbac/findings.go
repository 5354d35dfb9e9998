package rbac

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/vnfguard/vnfguard/internal/danger"
	"github.com/vnfguard/vnfguard/internal/finding"
)

// Source is the Source of every finding of this package.
const Source = "posture"

// MaxExpectedAdmins is how many Users and Groups may hold cluster-admin (by ClusterRoleBinding) before their
// findings rise from low to medium: a few administrators are expected, a crowd is not least privilege.
const MaxExpectedAdmins = 5

// check is one kind of risky grant.
type check struct {
	rule      string
	technique string
	// severity is the check's severity for an ordinary subject (see doc.go for the others).
	severity finding.Severity
	// what completes "<subject> can ..." and prep joins it to the namespace ("of", "in"); onCluster, when set,
	// replaces "in every namespace" for rights on cluster-scoped resources only.
	what, prep, onCluster string
	// kind is the kind of danger.Grants the check reports: the requests of danger.DangerousRequests of that
	// kind, or the wildcards of danger.Wildcard.
	kind danger.GrantKind
	// note, when set, adds evidence about the capabilities matched.
	note func(matched []string) string
}

// checks lists the grant checks, in report order; each is defined, with what it flags, in its check_*.go file.
var checks = []*check{checkCreateWorkloads, checkExec, checkEphemeralContainers, checkNodeProxy, checkReadSecrets,
	checkEscalation, checkCreateBindings, checkToken, checkWildcard}

// checkOf maps each kind of dangerous grant to the index of its check.
var checkOf = func() map[danger.GrantKind]int {
	m := make(map[danger.GrantKind]int, len(checks))
	for i, c := range checks {
		m[c.kind] = i
	}
	return m
}()

// capMatch is one check's capability granted by one rule of a role.
type capMatch struct {
	check   int
	rule    int
	what    string
	cluster bool
	names   []string // non-nil when the rule holds only for these resourceNames
}

// roleMatches computes, once per role, which checks' grants its rules hold: danger.Grants, the one definition of
// a dangerous grant that detection's dangerousGrants() uses too.
func (a *Analysis) roleMatches(r *role) []capMatch {
	if r.matched {
		return r.matches
	}
	r.matched = true
	for _, g := range danger.Grants(r.rules) {
		ci, ok := checkOf[g.Kind]
		if !ok {
			continue
		}
		r.matches = append(r.matches, capMatch{check: ci, rule: g.Rule, what: g.What, cluster: g.Cluster, names: g.Names})
	}
	return r.matches
}

// held is what one binding grants for one check, merged over the role's rules.
type held struct {
	check   *check
	what    []string
	rules   []string
	limited bool // every match is limited by resourceNames
	names   []string
}

// holding is what a ServiceAccount holds, for the mounted-token check.
type holding struct {
	severity  finding.Severity
	technique string
	rights    []string
	bindings  []string
}

// Findings reports the risky grants (one finding per check, subject and binding), the dangling bindings and the
// service accounts whose mounted tokens carry such grants, sorted by severity (most urgent first), then rule,
// identity and object.
func (a *Analysis) Findings(now time.Time) []finding.Finding {
	admins := a.countAdmins()
	var out []finding.Finding
	accounts := map[string]*holding{} // "ns/name" → what the account holds directly
	bindings := make([]*binding, 0, len(a.crbs))
	bindings = append(bindings, a.crbs...)
	for _, ns := range a.rbOrder {
		bindings = append(bindings, a.rbs[ns]...)
	}
	for _, b := range bindings {
		if b.role == nil {
			if f, ok := a.dangling(b, now); ok {
				out = append(out, f)
			}
			continue
		}
		helds := a.merge(b)
		if len(helds) == 0 {
			continue
		}
		for _, s := range b.subjects {
			s = normalizeSubject(s, b.namespace)
			cls := classify(s, b)
			if cls == classComponent {
				continue
			}
			if b.namespace != "" && (cls == classOrdinary || cls == classAdmin) && !a.inScope(b.namespace) {
				continue
			}
			for _, h := range helds {
				f := a.grantFinding(now, s, cls, b, h, admins)
				out = append(out, f)
				if s.Kind == rbacv1.ServiceAccountKind {
					key := s.Namespace + "/" + s.Name
					acc := accounts[key]
					if acc == nil {
						acc = &holding{}
						accounts[key] = acc
					}
					if f.Severity > acc.severity || acc.technique == "" {
						acc.severity, acc.technique = f.Severity, f.Technique
					}
					acc.rights = append(acc.rights, h.check.what)
					acc.bindings = append(acc.bindings, b.ref.String())
				}
			}
		}
	}
	out = append(out, a.mountedTokens(now, accounts)...)
	out = append(out, a.powerfulBindings(now, bindings, admins)...)
	sort.SliceStable(out, func(i, j int) bool {
		x, y := &out[i], &out[j]
		if x.Severity != y.Severity {
			return x.Severity > y.Severity
		}
		if x.Rule != y.Rule {
			return x.Rule < y.Rule
		}
		if x.Identity != y.Identity {
			return x.Identity < y.Identity
		}
		return x.Object.String() < y.Object.String()
	})
	return out
}

// merge groups a binding's role matches by check, leaving out cluster-scoped capabilities a RoleBinding cannot
// grant.
func (a *Analysis) merge(b *binding) []*held {
	matches := a.roleMatches(b.role)
	if len(matches) == 0 {
		return nil
	}
	byCheck := map[int]*held{}
	var order []int
	for _, m := range matches {
		if m.cluster && b.namespace != "" {
			continue
		}
		h := byCheck[m.check]
		if h == nil {
			h = &held{check: checks[m.check], limited: true}
			byCheck[m.check] = h
			order = append(order, m.check)
		}
		if !slices.Contains(h.what, m.what) {
			h.what = append(h.what, m.what)
		}
		if rs := ruleString(b.role.rules[m.rule]); !slices.Contains(h.rules, rs) {
			h.rules = append(h.rules, rs)
		}
		if m.names == nil {
			h.limited = false
		} else {
			for _, n := range m.names {
				if !slices.Contains(h.names, n) {
					h.names = append(h.names, n)
				}
			}
		}
	}
	sort.Ints(order)
	out := make([]*held, 0, len(order))
	for _, ci := range order {
		out = append(out, byCheck[ci])
	}
	return out
}

// countAdmins counts the distinct Users and Groups that hold cluster-admin through a ClusterRoleBinding.
func (a *Analysis) countAdmins() int {
	seen := map[string]bool{}
	for _, b := range a.crbs {
		if b.roleRef.Kind != "ClusterRole" || b.roleRef.Name != "cluster-admin" {
			continue
		}
		for _, s := range b.subjects {
			s = normalizeSubject(s, "")
			if classify(s, b) == classAdmin {
				seen[Identity(s)] = true
			}
		}
	}
	return len(seen)
}

// severityFor applies the subject's class to the check's severity (see doc.go).
func severityFor(base finding.Severity, cls class, limited bool, admins int) finding.Severity {
	switch cls {
	case classAnonymous, classEveryone:
		return finding.Critical
	case classNamespaceAccounts:
		return max(base, finding.High)
	case classAdmin:
		if admins > MaxExpectedAdmins {
			return finding.Medium
		}
		return finding.Low
	}
	if limited && base > finding.Low {
		base--
	}
	return base
}

func (a *Analysis) grantFinding(now time.Time, s rbacv1.Subject, cls class, b *binding, h *held, admins int) finding.Finding {
	id := Identity(s)
	c := h.check
	var msg strings.Builder
	where := a.scope(c.prep, b.namespace)
	if c.onCluster != "" && b.namespace == "" {
		where = c.onCluster
	}
	fmt.Fprintf(&msg, "%s can %s %s, through %s → %s", id, c.what, where, b.ref, b.role.ref)
	switch cls {
	case classAnonymous:
		msg.WriteString(": anyone who reaches the API server, without credentials")
	case classEveryone:
		msg.WriteString(": every authenticated identity, every pod's service account included")
	case classNamespaceAccounts:
		if s.Kind == rbacv1.ServiceAccountKind {
			fmt.Fprintf(&msg, ": every pod of namespace %s that names no service account runs with it", s.Namespace)
		} else {
			msg.WriteString(": every service account of that namespace")
		}
	case classAdmin:
		if admins > MaxExpectedAdmins {
			fmt.Fprintf(&msg, " (one of %d cluster administrators: more than %d)", admins, MaxExpectedAdmins)
		} else {
			msg.WriteString(" (cluster administrator)")
		}
	}
	if h.limited {
		fmt.Fprintf(&msg, " (only on %s)", strings.Join(h.names, ", "))
	}
	ev := map[string]string{
		"binding":      b.ref.String(),
		"role":         b.role.ref.String(),
		"rule":         strings.Join(h.rules, " | "),
		"capability":   strings.Join(h.what, ", "),
		"subjectClass": cls.String(),
	}
	if b.namespace == "" {
		ev["scope"] = "cluster-wide"
		if p := a.protectedNS; len(p) > 0 {
			ev["protectedNamespaces"] = strings.Join(p, ",")
		}
	} else {
		ev["scope"] = "namespace " + b.namespace
		ev["protected"] = strconv.FormatBool(a.protected(b.namespace))
	}
	if h.limited {
		ev["resourceNames"] = strings.Join(h.names, ",")
	}
	if c.note != nil {
		if n := c.note(h.what); n != "" {
			ev["note"] = n
		}
	}
	return newFinding(now, c.rule, c.technique, severityFor(c.severity, cls, h.limited, admins), id, bindingObject(b), msg.String(), ev)
}

// scope phrases where a grant holds: "of protected namespace vnf-upf", "in every namespace, protected namespaces
// vnf-upf, vnf-smf included".
func (a *Analysis) scope(prep, ns string) string {
	if ns != "" {
		if a.protected(ns) {
			return prep + " protected namespace " + ns
		}
		return prep + " namespace " + ns
	}
	s := "in every namespace"
	if p := a.protectedNS; len(p) > 0 {
		s += " (protected namespaces " + strings.Join(p, ", ") + " included)"
	}
	return s
}

func bindingObject(b *binding) finding.ObjectRef {
	return finding.ObjectRef{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: b.ref.Kind, Namespace: b.ref.Namespace, Name: b.ref.Name}
}

func newFinding(now time.Time, rule, technique string, sev finding.Severity, identity string, obj finding.ObjectRef, msg string, ev map[string]string) finding.Finding {
	f := finding.Finding{
		Time: now, Source: Source, Rule: rule, Technique: technique, Severity: sev,
		Mitigations: []string{finding.MitigationUserAccounts}, Message: msg, Identity: identity, Object: obj, Evidence: ev,
	}
	f.ID = FindingID(f)
	return f
}

// FindingID is the deduplication key of a finding of this package: finding.Key over the rule and the identity
// (one binding names several subjects, each its own finding), the object and the VNF instance. Recompute it after
// setting VNFInstance.
func FindingID(f finding.Finding) string {
	return finding.Key(f.Rule+"\x00"+f.Identity, f.Object, f.VNFInstance)
}
