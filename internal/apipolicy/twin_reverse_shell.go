package apipolicy

import (
	"regexp"
	"strings"

	admregv1 "k8s.io/api/admissionregistration/v1"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/payload"
)

/*
Twin reverse-shell judges all of check reverse-shell, in every namespace: containers (init, regular, ephemeral) of
pods and workload pod templates whose command and arguments, environment values, lifecycle hooks or exec probes
carry a reverse shell or a download-and-execute payload, with the patterns of internal/payload rendered as they are
(CEL's matches() is RE2, as Go's regexp is), each tried only when its token occurs, as payload.Match does.
*/
func init() {
	register(twin{check: "reverse-shell", group: "workloads", technique: finding.MaliciousVNFInstantiation, spec: reverseShell})
}

// carries is a CEL condition: the string t carries one of the payloads. One precompiled scan for every token comes
// first: a benign command line (nearly all of them) then costs one call instead of one per pattern, and a pattern
// is tried only when its own token occurs, as payload.Match does.
func carries(t string) string {
	var tokens, terms []string
	for _, p := range payload.Patterns() {
		tokens = append(tokens, regexp.QuoteMeta(p.Token))
		terms = append(terms, "("+t+".contains("+quote(p.Token)+") && "+t+".matches("+quote(p.Expr)+"))")
	}
	return "(" + t + ".matches(" + quote(strings.Join(tokens, "|")) + ") && (" + strings.Join(terms, " || ") + "))"
}

func reverseShell(r *renderer) (*admregv1.ValidatingAdmissionPolicySpec, error) {
	// The text is written out in carries wherever it names it: a benign text (nearly all) is computed once, for the
	// scan of the tokens, and a text with a token a few times more, which costs less than naming it once through a
	// one-element list's exists() (the API server's CEL has no cel.bind) costs every text.
	command := carries("(c.?command.orValue([]) + c.?args.orValue([])).join(' ')")
	env := "c.?env.orValue([]).exists(e, " + carries("e.?value.orValue('')") + ")"
	// Most containers have no exec hook or probe: has() says so before any list is built.
	hooks := "(has(c.lifecycle) || has(c.livenessProbe) || has(c.readinessProbe) || has(c.startupProbe)) && " +
		"[c.?lifecycle.?postStart.?exec.?command.orValue([]), c.?lifecycle.?preStop.?exec.?command.orValue([]), " +
		"c.?livenessProbe.?exec.?command.orValue([]), c.?readinessProbe.?exec.?command.orValue([]), c.?startupProbe.?exec.?command.orValue([])]" +
		".exists(h, " + carries("h.join(' ')") + ")"
	names := func(cond string) string {
		return "variables.containers.filter(c, " + cond + ").map(c, c.name) + variables.ephemeral.filter(c, " + cond + ").map(c, c.name)"
	}
	vars := append(podVariables(),
		admregv1.Variable{Name: "shellCommand", Expression: names(command)},
		admregv1.Variable{Name: "shellEnv", Expression: names(env)},
		admregv1.Variable{Name: "shellHook", Expression: names(hooks)},
	)
	// The validations ask exists(), which stops at the first container that carries one; the lists of names are
	// for the messages, computed only for a refusal (refusals).
	deny := func(v, cond, where string) admregv1.Validation {
		return admregv1.Validation{
			Expression:        "!variables.specChanged || !(variables.containers.exists(c, " + cond + ") || variables.ephemeral.exists(c, " + cond + "))",
			Message:           "vnfguard denied (in the API server): " + r.tag() + " a container's " + where + " carries a reverse shell or download-and-execute payload",
			MessageExpression: r.denied() + " + 'containers ' + variables." + v + ".join(', ') + ': " + where + " carries a reverse shell or download-and-execute payload'",
			Reason:            forbidden(),
		}
	}
	return &admregv1.ValidatingAdmissionPolicySpec{
		MatchConstraints: &admregv1.MatchResources{ResourceRules: workloadRules()},
		Variables:        vars,
		Validations: refusals([]admregv1.Validation{
			deny("shellCommand", command, "command"),
			deny("shellEnv", env, "environment"),
			deny("shellHook", hooks, "lifecycle hook or exec probe"),
		}),
	}, nil
}
