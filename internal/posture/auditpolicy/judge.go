package auditpolicy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apiserver/pkg/apis/audit"
	auditevaluator "k8s.io/apiserver/pkg/audit"
	"k8s.io/apiserver/pkg/audit/policy"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/vnfguard/vnfguard/internal/detect"
	"github.com/vnfguard/vnfguard/internal/finding"
)

/*
Check audit-policy-starves-rule (detection DS0015; M1047) flags a kube-apiserver audit policy under which a
detection rule cannot fire: for some request the rule must see, the policy's first matching rule logs it at a
lower level than the rule reads (Metadata where the rule reads the request body, for instance RBAC bindings whose
subjects the binding rules judge), omits the stage the rule judges (ResponseStarted for sessions reported when they
open), or logs nothing at all. One finding per starved rule names what the rule needs, what the policy gives, and
the policy rule (index and line) that gives it. Medium; High when the starved rule is critical: the attack it
reports goes unseen.

Fine: every request of every requirement in the needs table logged at its level or above, at its stage. The
requests are probed with an ordinary user and a service account (anonymous for anonymous-allowed; a controller's
service account for the pod creates that tie pods to VNF instances) in a VNF namespace: a policy may quiet the
control plane's other identities, which the rules exclude anyway.
*/
const RuleStarves = "audit-policy-starves-rule"

// FindingSource is the Source of the findings: the posture scan.
const FindingSource = "posture"

// RuleInfo is what a finding says of the rule it concerns: the rule pack's id, severity and technique.
type RuleInfo struct {
	ID        string
	Severity  finding.Severity
	Technique string
}

// Gap is one kind of request a rule needs that the policy does not give it.
type Gap struct {
	Need     Requirement
	Verb     string
	Resource string // group/resource or the non-resource URL
	// Namespace and User are those of the probed request.
	Namespace string
	User      string
	// Level and Stages are what the policy gives: the level of its matching rule and the stages it omits.
	Level      audit.Level
	OmitStages []audit.Stage
	// PolicyRule is the index of the policy rule that matched, -1 when none did (the default: None).
	PolicyRule int
	// Line is where in the file: the matching rule, or the omitStages that drops the stage; 0 when unknown.
	Line int
}

// probe identities.
var (
	probeUser = &user.DefaultInfo{Name: "vnfguard-probe", Groups: []string{user.AllAuthenticated}}
	probeSA   = &user.DefaultInfo{Name: "system:serviceaccount:" + ProbeNamespace + ":default",
		Groups: []string{user.AllAuthenticated, "system:serviceaccounts", "system:serviceaccounts:" + ProbeNamespace}}
	probeAnonymous  = &user.DefaultInfo{Name: user.Anonymous, Groups: []string{user.AllUnauthenticated}}
	probeController = &user.DefaultInfo{Name: "system:serviceaccount:kube-system:replicaset-controller",
		Groups: []string{user.AllAuthenticated, "system:serviceaccounts", "system:serviceaccounts:kube-system"}}
)

func (w Who) users() []user.Info {
	switch w {
	case ServiceAccounts:
		return []user.Info{probeSA}
	case Anonymous:
		return []user.Info{probeAnonymous}
	case AnyoneAndControllers:
		return []user.Info{probeUser, probeSA, probeController}
	}
	return []user.Info{probeUser, probeSA}
}

// clusterScoped are the resources of the needs table that live in no namespace.
var clusterScoped = map[string]bool{
	"/namespaces": true, "/nodes": true,
	"rbac.authorization.k8s.io/clusterroles": true, "rbac.authorization.k8s.io/clusterrolebindings": true,
	"admissionregistration.k8s.io/validatingwebhookconfigurations": true, "admissionregistration.k8s.io/mutatingwebhookconfigurations": true,
	"admissionregistration.k8s.io/validatingadmissionpolicies": true, "admissionregistration.k8s.io/validatingadmissionpolicybindings": true,
	"apiextensions.k8s.io/customresourcedefinitions": true,
	"authorization.k8s.io/selfsubjectaccessreviews":  true, "authorization.k8s.io/selfsubjectrulesreviews": true,
	"authentication.k8s.io/tokenreviews": true,
}

// matchSentinel is a level no policy uses: a one-rule policy whose rule carries it tells whether that rule
// matches a request, with kube-apiserver's own matching.
const matchSentinel audit.Level = "vnfguard-matched"

// evaluator answers, for a request, the policy's level and omitted stages and which of its rules decided.
type evaluator struct {
	p      *Policy
	full   auditevaluator.PolicyRuleEvaluator
	single []auditevaluator.PolicyRuleEvaluator
}

func newEvaluator(p *Policy) *evaluator {
	e := &evaluator{p: p, full: policy.NewPolicyRuleEvaluator(p.policy.DeepCopy())}
	for _, r := range p.policy.Rules {
		one := r.DeepCopy()
		one.Level = matchSentinel
		one.OmitStages = nil
		e.single = append(e.single, policy.NewPolicyRuleEvaluator(&audit.Policy{Rules: []audit.PolicyRule{*one}}))
	}
	return e
}

// evaluate returns what the policy gives a request and the index of the deciding rule (-1: none matched).
func (e *evaluator) evaluate(attrs authorizer.Attributes) (auditevaluator.RequestAuditConfig, int) {
	cfg := e.full.EvaluatePolicyRule(attrs)
	for i, s := range e.single {
		if s.EvaluatePolicyRule(attrs).Level == matchSentinel {
			return cfg, i
		}
	}
	return cfg, -1
}

// Gaps returns what the policy does not give of a need's requirements, one gap per distinct shortfall (the same
// requirement starved the same way by the same policy rule is reported once).
func (p *Policy) Gaps(n Need) []Gap {
	return newEvaluator(p).gaps(n)
}

func (e *evaluator) gaps(n Need) []Gap {
	var out []Gap
	seen := map[string]bool{}
	for ri, req := range n.Requirements {
		for _, attrs := range probes(req) {
			cfg, idx := e.evaluate(attrs)
			levelOK := cfg.Level.GreaterOrEqual(req.Level)
			stageOK := !slices.Contains(cfg.OmitStages, req.Stage)
			if levelOK && stageOK {
				continue
			}
			key := fmt.Sprintf("%d/%d/%s/%v", ri, idx, cfg.Level, levelOK)
			if seen[key] {
				continue
			}
			seen[key] = true
			g := Gap{Need: req, Verb: attrs.GetVerb(), Namespace: attrs.GetNamespace(), User: attrs.GetUser().GetName(),
				Level: cfg.Level, OmitStages: cfg.OmitStages, PolicyRule: idx}
			if attrs.IsResourceRequest() {
				g.Resource = attrs.GetResource()
				if s := attrs.GetSubresource(); s != "" {
					g.Resource += "/" + s
				}
				if grp := attrs.GetAPIGroup(); grp != "" {
					g.Resource = grp + "/" + g.Resource
				}
			} else {
				g.Resource = attrs.GetPath()
			}
			g.Line = e.line(idx, levelOK, req.Stage)
			out = append(out, g)
		}
	}
	return out
}

// line is where the shortfall is: the omitStages (the rule's, else the policy's) that drops the stage, or the
// matching rule.
func (e *evaluator) line(idx int, levelOK bool, stage audit.Stage) int {
	p := e.p
	if levelOK {
		if idx >= 0 && slices.Contains(p.policy.Rules[idx].OmitStages, stage) && p.ruleOmitLines[idx] > 0 {
			return p.ruleOmitLines[idx]
		}
		if slices.Contains(p.policy.OmitStages, stage) && p.omitStagesLine > 0 {
			return p.omitStagesLine
		}
	}
	if idx >= 0 {
		return p.ruleLines[idx]
	}
	return 0
}

// probes are the requests that stand for a requirement: every verb on every resource (or URL), for every
// identity, in every namespace asked for.
func probes(req Requirement) []authorizer.Attributes {
	var out []authorizer.Attributes
	for _, u := range req.Who.users() {
		for _, verb := range req.Verbs {
			for _, url := range req.NonResourceURLs {
				out = append(out, authorizer.AttributesRecord{User: u, Verb: verb, Path: url})
			}
			for _, res := range req.Resources {
				resource, sub, _ := strings.Cut(res, "/")
				namespaces := req.Namespaces
				switch {
				case clusterScoped[req.Group+"/"+resource]:
					namespaces = []string{""}
				case namespaces == nil:
					namespaces = []string{ProbeNamespace}
				}
				name := "probe"
				if sub == "" && (verb == "create" || verb == "list" || verb == "watch" || verb == "deletecollection") {
					name = "" // a create, list or collection names no object (a subresource always names its object)
				}
				for _, ns := range namespaces {
					out = append(out, authorizer.AttributesRecord{User: u, Verb: verb, Namespace: ns, APIGroup: req.Group,
						APIVersion: "v1", Resource: resource, Subresource: sub, Name: name, ResourceRequest: true})
				}
			}
		}
	}
	return out
}

// Judge reports every rule the policy starves, one finding each. rules are the rules loaded (their ids,
// severities and techniques); a rule without an entry in the needs table is reported as unjudged (Info), an entry
// whose rule is not loaded is skipped. now stamps the findings.
func Judge(p *Policy, rules []RuleInfo, now time.Time) []finding.Finding {
	e := newEvaluator(p)
	var out []finding.Finding
	for _, r := range rules {
		n, ok := NeedOf(r.ID)
		if !ok {
			out = append(out, p.finding(r, nil, finding.Info, now,
				fmt.Sprintf("audit policy not judged for rule %s: vnfguard does not know what it needs (a user rule? its needs are not in the table)", r.ID)))
			continue
		}
		gaps := e.gaps(n)
		if len(gaps) == 0 {
			continue
		}
		sev := finding.Medium
		if r.Severity >= finding.Critical {
			sev = finding.High
		}
		g := gaps[0]
		msg := fmt.Sprintf("audit policy starves rule %s: %s is logged at %s; the rule needs %s at %s for %s",
			r.ID, g.shortRequest(), g.gives(), g.Need.Level, g.Need.Stage, g.Need.Why)
		if len(gaps) > 1 {
			msg += fmt.Sprintf(" (and %d more: see the evidence's gaps)", len(gaps)-1)
		}
		out = append(out, p.finding(r, gaps, sev, now, msg))
	}
	return out
}

func (p *Policy) finding(r RuleInfo, gaps []Gap, sev finding.Severity, now time.Time, msg string) finding.Finding {
	obj := finding.ObjectRef{APIVersion: "audit.k8s.io/v1", Kind: "Policy", Name: p.File}
	ev := map[string]string{"file": p.File, "starvedRule": r.ID, "dataSource": finding.DetectionAuditLogs}
	if len(gaps) > 0 {
		g := gaps[0]
		ev["needs"] = g.needs()
		ev["gives"] = g.gives()
		ev["why"] = g.Need.Why
		if g.Line > 0 {
			ev["line"] = strconv.Itoa(g.Line)
			msg += " (" + p.File + ":" + ev["line"] + ")"
		}
		all := make([]string, len(gaps))
		for i, g := range gaps {
			all[i] = g.String()
		}
		ev["gaps"] = strings.Join(all, "; ")
	}
	technique := r.Technique
	if technique == "" {
		technique = finding.MaliciousVNFInstantiation
	}
	return finding.Finding{
		ID:          finding.Key(RuleStarves, finding.ObjectRef{Kind: obj.Kind, Name: p.File, Subresource: r.ID}, ""),
		Time:        now,
		Source:      FindingSource,
		Rule:        RuleStarves,
		Technique:   technique,
		Mitigations: []string{finding.MitigationAudit},
		Severity:    sev,
		Message:     msg,
		Object:      obj,
		Evidence:    ev,
	}
}

// needs words what the rule needs of the probed request.
func (g Gap) needs() string {
	return fmt.Sprintf("%s at stage %s for %s", g.Need.Level, g.Need.Stage, g.request())
}

// shortRequest is the verb and resource, and the identity when only one kind of identity is starved.
func (g Gap) shortRequest() string {
	s := g.Verb + " " + g.Resource
	if g.User != probeUser.Name {
		s += " by " + g.User
	}
	return s
}

func (g Gap) request() string {
	s := g.Verb + " " + g.Resource
	if g.Namespace != "" {
		s += " in namespace " + g.Namespace
	}
	return s + " by " + g.User
}

// gives words what the policy gives it, and where.
func (g Gap) gives() string {
	var s string
	if g.Level.GreaterOrEqual(g.Need.Level) {
		s = fmt.Sprintf("%s but omits stage %s", g.Level, g.Need.Stage)
	} else {
		s = string(g.Level)
	}
	if g.PolicyRule >= 0 {
		return s + fmt.Sprintf(" (rules[%d])", g.PolicyRule)
	}
	return s + " (no rule matches: the default is None)"
}

// String is the gap in one line: needed, given, where, why.
func (g Gap) String() string {
	s := "needs " + g.needs() + ", gets " + g.gives()
	if g.Line > 0 {
		s += " at line " + strconv.Itoa(g.Line)
	}
	return s + ": " + g.Need.Why
}

// RulesOf is what Judge needs of loaded rules: the enabled ones. A runtime rule with no entry in the needs table
// reads the node agent's reports only and is left out rather than reported as unjudged.
func RulesOf(rules []*detect.Rule) []RuleInfo {
	var out []RuleInfo
	for _, r := range rules {
		if r == nil || !r.Enabled || r.Override {
			continue
		}
		if _, ok := NeedOf(r.ID); !ok && r.Events == detect.EventsRuntime {
			continue
		}
		out = append(out, RuleInfo{ID: r.ID, Severity: r.Severity, Technique: r.Technique})
	}
	return out
}
