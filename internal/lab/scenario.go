package lab

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/vnfguard/vnfguard/internal/finding"
)

// Verdict is what happened to a step's request.
type Verdict string

// The verdicts.
const (
	// Allowed: the API server accepted the request (for exec: admission let it through).
	Allowed Verdict = "allowed"
	// Denied: an admission webhook denied it.
	Denied Verdict = "denied"
	// Done: a step that is no admission request (the NFVO rewriting the inventory) completed.
	Done Verdict = "done"
	// Failed: the step failed otherwise (a timeout, an RBAC refusal, a webhook that could not be called).
	Failed Verdict = "error"
)

// NFVOIdentity names the NFVO in scenario tables: its steps rewrite the inventory, not the cluster.
const NFVOIdentity = "nfvo"

// Step is one request of a scenario.
type Step struct {
	// Name is short: "instantiate UPF", "Peirates pod".
	Name string
	// Identity is the lab identity the request is sent as, or NFVOIdentity.
	Identity string
	// Request says in words what is sent: "create Pod vnf-upf/peirates (hostPath / + reverse shell)".
	Request string
	// Benign marks the steps of the VNFM's normal lifecycle, which must see no denial at all.
	Benign bool
	// Expect is the verdict the step must get; ExpectCheck the check that must be among the denials.
	Expect      Verdict
	ExpectCheck string
	// Technique is the FiGHT technique the step exercises; Instance the VNF instance its findings must name
	// ("" when the request concerns no instance).
	Technique string
	Instance  string
	// BreakGlass marks a request allowed only because of a break-glass identity: it must leave a break-glass
	// finding.
	BreakGlass bool
	// ShowDetail prints the action's detail under the demo's table: evidence a reader wants to see (what a reverse
	// shell read from the host, what an exec printed).
	ShowDetail bool
	// Action sends the request. It returns a detail for the report, and the API server's error: a webhook denial
	// (see IsWebhookDenial) is the Denied verdict, nil is Allowed (Done for the NFVO), anything else Failed.
	Action func(ctx context.Context, env *Env) (detail string, err error)
}

// Env is what steps act on.
type Env struct {
	CP *ControlPlane
	// Guard is the running vnfguard; nil runs the scenario without it (every request is then allowed), unless
	// Installed is set.
	Guard *Guard
	// Installed, when Guard is nil, is a vnfguard installed in the cluster (the Helm chart) that the steps are
	// judged against.
	Installed *Installed
	NFVO      *NFVO
	// Logger receives one progress line per step; nil discards them.
	Logger *slog.Logger
	// StepTimeout bounds one step (default 90 s).
	StepTimeout time.Duration
}

// observer is the vnfguard the steps are judged against; nil when none runs.
func (e *Env) observer() Observer {
	switch {
	case e.Guard != nil:
		return e.Guard
	case e.Installed != nil:
		return e.Installed
	}
	return nil
}

// Scenario is a named list of steps with the set-up they need.
type Scenario struct {
	Name  string
	Setup func(ctx context.Context, env *Env) error
	Steps []Step
}

// StepResult is what one step got.
type StepResult struct {
	Step     Step
	Verdict  Verdict
	Checks   []string // the checks the denial names, in order
	Message  string   // the API server's error message, when there was one
	Detail   string
	Findings []finding.Finding // the findings vnfguard printed while the step ran
	Start    time.Time
	Duration time.Duration
	// Problems lists how the step departed from what it expects; empty means the step passed.
	Problems []string
}

// OK reports whether the step got its expected verdict, check and findings.
func (r *StepResult) OK() bool { return len(r.Problems) == 0 }

// Techniques returns the FiGHT techniques of the step's denial (from its findings, else from the message).
func (r *StepResult) Techniques() []string {
	var out []string
	for _, f := range r.Findings {
		if f.Technique != "" && (f.Action == "denied" || f.Rule == "break-glass") && !slices.Contains(out, f.Technique) {
			out = append(out, f.Technique)
		}
	}
	if len(out) == 0 {
		for _, m := range denialTag.FindAllStringSubmatch(r.Message, -1) {
			if m[2] != "" && !slices.Contains(out, m[2]) {
				out = append(out, m[2])
			}
		}
	}
	return out
}

// Denials returns the findings of the step with action "denied".
func (r *StepResult) Denials() []finding.Finding {
	var out []finding.Finding
	for _, f := range r.Findings {
		if f.Action == "denied" {
			out = append(out, f)
		}
	}
	return out
}

// denialTag matches "[check TECHNIQUE]" in vnfguard's denial messages.
var denialTag = regexp.MustCompile(`\[([a-z][a-z0-9-]*)(?: ([A-Z]+[0-9][0-9.]*))?\]`)

// checksOf lists the check IDs a denial message names.
func checksOf(msg string) []string {
	var out []string
	for _, m := range denialTag.FindAllStringSubmatch(msg, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// findingSettle is how long a step waits for the finding its denial (or break-glass use) must leave: vnfguard
// prints it around the time it answers.
const findingSettle = 5 * time.Second

// RunScenario runs the set-up and then every step in order, recording each verdict against what the step
// expects. A failing step does not stop the run; the error is for a set-up that failed.
func RunScenario(ctx context.Context, env *Env, sc Scenario) ([]StepResult, error) {
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if env.StepTimeout == 0 {
		env.StepTimeout = 90 * time.Second
	}
	if sc.Setup != nil {
		if err := sc.Setup(ctx, env); err != nil {
			return nil, fmt.Errorf("scenario %s: set-up: %w", sc.Name, err)
		}
	}
	results := make([]StepResult, 0, len(sc.Steps))
	for i := range sc.Steps {
		r := runStep(ctx, env, sc.Steps[i])
		status := "ok"
		if !r.OK() {
			status = "UNEXPECTED: " + strings.Join(r.Problems, "; ")
		}
		logger.Info(fmt.Sprintf("step %d/%d %s", i+1, len(sc.Steps), r.Step.Name), "identity", r.Step.Identity,
			"verdict", string(r.Verdict), "checks", strings.Join(r.Checks, ","), "seconds", fmt.Sprintf("%.1f", r.Duration.Seconds()), "status", status)
		results = append(results, r)
		if ctx.Err() != nil {
			return results, fmt.Errorf("scenario %s stopped at step %q: %w", sc.Name, r.Step.Name, ctx.Err())
		}
	}
	return results, nil
}

func runStep(ctx context.Context, env *Env, st Step) StepResult {
	r := StepResult{Step: st}
	before := 0
	guard := env.observer()
	if guard != nil {
		before = guard.FindingCount()
	}
	start := time.Now()
	r.Start = start
	sctx, cancel := context.WithTimeout(ctx, env.StepTimeout)
	detail, err := st.Action(sctx, env)
	cancel()
	r.Duration = time.Since(start)
	r.Detail = detail
	switch {
	case err == nil && st.Identity == NFVOIdentity:
		r.Verdict = Done
	case err == nil:
		r.Verdict = Allowed
	case IsWebhookDenial(err):
		r.Verdict = Denied
		r.Message = err.Error()
		r.Checks = checksOf(r.Message)
	default:
		r.Verdict = Failed
		r.Message = err.Error()
	}
	if guard != nil {
		wantDenial := ""
		if r.Verdict == Denied {
			wantDenial = cmp.Or(st.ExpectCheck, anyDenial)
		}
		r.Findings = collectFindings(ctx, guard, before, wantDenial, st.Identity, st.BreakGlass)
	}
	// A denial message may be cut short by the API server; the findings name every check.
	for _, f := range r.Denials() {
		if !slices.Contains(r.Checks, f.Rule) {
			r.Checks = append(r.Checks, f.Rule)
		}
	}
	r.Problems = judge(&r, guard != nil)
	return r
}

// anyDenial asks collectFindings to wait for a denial finding of any check.
const anyDenial = "*"

// collectFindings returns the findings printed since before, waiting for the denial (of check wantDenial by
// identity, or of any check for anyDenial; none for "") or break-glass finding the step must have left.
//
// A denial by several checks leaves one finding per check, and a store-backed observer (the in-cluster replicas
// write to PostgreSQL) may show them one at a time: waiting for the first denial of any check returned before the
// expected check's finding had arrived. The same observer may also show a finding of an earlier step late (the
// store orders by the time it was written): the denial waited for is the step's own identity's.
func collectFindings(ctx context.Context, g Observer, before int, wantDenial, identity string, wantBreakGlass bool) []finding.Finding {
	deadline := time.Now().Add(findingSettle)
	for {
		got := g.Findings()[before:]
		if wantDenial == "" && !wantBreakGlass {
			return got
		}
		denialSeen := wantDenial == "" || slices.ContainsFunc(got, func(f finding.Finding) bool {
			return f.Action == "denied" && (wantDenial == anyDenial || f.Rule == wantDenial && f.Identity == identity)
		})
		breakGlassSeen := !wantBreakGlass || slices.ContainsFunc(got, func(f finding.Finding) bool { return f.Rule == "break-glass" })
		found := denialSeen && breakGlassSeen
		left := time.Until(deadline)
		if found || left <= 0 {
			return got
		}
		g.WaitFindings(ctx, before+len(got), left)
	}
}

// judge compares a step's result with what it expects.
func judge(r *StepResult, withGuard bool) []string {
	st := r.Step
	var problems []string
	if r.Verdict != st.Expect {
		p := fmt.Sprintf("expected %s, got %s", st.Expect, r.Verdict)
		if r.Message != "" {
			p += ": " + truncate(r.Message, 300)
		}
		problems = append(problems, p)
	}
	if r.Verdict == Denied && st.ExpectCheck != "" && !slices.Contains(r.Checks, st.ExpectCheck) {
		problems = append(problems, fmt.Sprintf("expected check %s among the denials, got %s", st.ExpectCheck, strings.Join(r.Checks, ",")))
	}
	if !withGuard {
		return problems
	}
	denials := r.Denials()
	if st.Benign && len(denials) > 0 {
		problems = append(problems, fmt.Sprintf("benign step saw %d denial(s), first: %s %s", len(denials), denials[0].Rule, truncate(denials[0].Message, 200)))
	}
	if r.Verdict == Denied && st.ExpectCheck != "" {
		// The step's own denial: a finding of an earlier step by another identity may show up late in the window.
		i := slices.IndexFunc(denials, func(f finding.Finding) bool { return f.Rule == st.ExpectCheck && f.Identity == st.Identity })
		if i < 0 {
			i = slices.IndexFunc(denials, func(f finding.Finding) bool { return f.Rule == st.ExpectCheck })
		}
		switch {
		case i < 0:
			problems = append(problems, fmt.Sprintf("no %s denial finding on vnfguard's stdout", st.ExpectCheck))
		default:
			f := denials[i]
			if st.Technique != "" && f.Technique != st.Technique {
				problems = append(problems, fmt.Sprintf("finding %s has technique %q, want %s", f.Rule, f.Technique, st.Technique))
			}
			if st.Instance != "" && f.VNFInstance != st.Instance {
				problems = append(problems, fmt.Sprintf("finding %s names VNF instance %q, want %s", f.Rule, f.VNFInstance, st.Instance))
			}
			if f.Identity != st.Identity {
				problems = append(problems, fmt.Sprintf("finding %s names identity %q, want %s", f.Rule, f.Identity, st.Identity))
			}
		}
	}
	if st.BreakGlass && !slices.ContainsFunc(r.Findings, func(f finding.Finding) bool { return f.Rule == "break-glass" }) {
		problems = append(problems, "no break-glass finding on vnfguard's stdout")
	}
	return problems
}

// Summary counts the results: steps, passed, and denials seen during benign steps.
type Summary struct {
	Steps, Passed, Denied, BenignDenials int
}

// Summarize counts the results.
func Summarize(results []StepResult) Summary {
	var s Summary
	for i := range results {
		r := &results[i]
		s.Steps++
		if r.OK() {
			s.Passed++
		}
		if r.Verdict == Denied {
			s.Denied++
		}
		if r.Step.Benign {
			s.BenignDenials += len(r.Denials())
			if r.Verdict == Denied {
				s.BenignDenials++
			}
		}
	}
	return s
}
