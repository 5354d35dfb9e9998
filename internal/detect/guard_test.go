package detect

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/vnf"
	"github.com/vnfguard/vnfguard/rules"
)

// guardEvents are three events of different shapes for the guard's unit tests.
func guardEvents() []*auditv1.Event {
	exec := &auditv1.Event{Verb: "get", Stage: auditv1.StageResponseComplete, RequestURI: "/api/v1/namespaces/a/pods/p/exec?command=id",
		User:           authnv1.UserInfo{Username: "system:serviceaccount:a:b", Groups: []string{"system:authenticated"}},
		ObjectRef:      &auditv1.ObjectReference{Resource: "pods", Subresource: "exec", Namespace: "a", Name: "p"},
		ResponseStatus: &metav1.Status{Code: 101}}
	lease := &auditv1.Event{Verb: "update", Stage: auditv1.StageResponseComplete, User: authnv1.UserInfo{Username: "system:node:n"},
		ObjectRef: &auditv1.ObjectReference{Resource: "leases", APIGroup: "coordination.k8s.io", Namespace: "kube-node-lease", Name: "n"}}
	noRef := &auditv1.Event{Verb: "get", RequestURI: "/healthz", User: authnv1.UserInfo{Username: "system:anonymous"},
		ResponseStatus: &metav1.Status{Code: 403, Message: `admission webhook "pods.vnfguard.io" denied the request: no`}}
	return []*auditv1.Event{exec, lease, noRef}
}

// newTestActivation is the activation Evaluate makes for an audit event, without the engine's observers.
func newTestActivation(e *Engine, ev *auditv1.Event) *activation {
	act := &activation{e: e, ctx: context.Background(), ev: ev}
	act.event = &newEventState(ev).root
	return act
}

// guardFormConditions are the conditions of TestGuardForms, which FuzzGuardsAgreeWithCEL runs too.
var guardFormConditions = []string{
	`event.verb == "get" && size(event.requestURI) > 0`,
	`"get" == event.verb`,
	`event.verb != "get"`,
	`event.objectRef.resource in ["pods", "leases"]`,
	`event.objectRef.resource == ""`,
	`"system:authenticated" in event.user.groups`,
	`event.user.username.startsWith("system:")`,
	`event.requestURI.contains("exec") || event.requestURI.endsWith("z")`,
	`isPodAccess() || event.objectRef.apiGroup == "coordination.k8s.io"`,
	`isPodAccess() || event.objectRef.resource == "leases"`,
	`!isSystemComponent() && event.verb == "get"`,
	`isVNFGuardDenial()`,
	`isWorkloadWrite()`,
	`event.verb == "get" && (isPodAccess() || event.requestURI == "/healthz")`,
	`event.responseStatus.code >= 400`,
	`event.responseStatus.code > 0 && 400 > event.responseStatus.code`,
	`["/a", "/healthz"].exists(p, event.requestURI == p || event.requestURI.startsWith(p + "?"))`,
	`event.user.username != "system:serviceaccount:" + event.objectRef.namespace + ":b"`,
	`isVNFGuardDenial() && denialCount() == 0`,
	`isDormant()`,
	`vnfState() == "" && isPodAccess()`,
	`size(hostTakeover()) > 0 || "hostPID" in runsAsRoot()`,
	`podCommands().exists(c, matchesReverseShell(c))`,
	`matchesReverseShell(execCommand())`,
	`protectionRemoved()`,
	`has(event.objectRef.name)`,
	`requestObject.kind == "Pod"`,
	`event.verb in [event.userAgent]`,
	`event.user.username.split(":")[2] != "a"`,
	`["a"].all(p, event.requestURI.startsWith(p))`,
	`["a"].exists_one(p, event.requestURI.startsWith(p))`,
	`requestObject.kind == "Pod" && isDormant() && event.verb == "get"`,
	`isDormant() && requestObject.kind == "Pod" && isController()`,
	`event.objectRef.subresource == "exec" && event.verb in ["get", "create"]`,
	`event.requestURI.startsWith("/api/v1/namespaces/" + event.objectRef.namespace + "/pods/" + event.objectRef.name + "/")`,
	`["/api/v1", "/healthz"].exists(p, event.requestURI.startsWith(p + "/namespaces/" + event.objectRef.namespace))`,
}

// TestGuardForms: each form partOf knows becomes a Go test with CEL's value; the others are left to CEL; pure tests
// run wherever they stand, the others only up to the first conjunct left to CEL; the resources are those the
// condition can be true for.
func TestGuardForms(t *testing.T) {
	tests := []struct {
		cond             string
		pure, prefix     int
		complete         bool
		want             string // the guard over exec, lease, noRef: 1 admits, 0 refuses
		resources        []string
		resourcesUnbound bool
	}{
		{`event.verb == "get" && size(event.requestURI) > 0`, 1, 0, false, "101", nil, true},
		{`"get" == event.verb`, 1, 0, true, "101", nil, true},
		{`event.verb != "get"`, 1, 0, true, "010", nil, true},
		{`event.objectRef.resource in ["pods", "leases"]`, 1, 0, true, "110", []string{"pods", "leases"}, false},
		{`event.objectRef.resource == ""`, 1, 0, true, "001", []string{""}, false}, // no objectRef reads as empty, as in CEL
		{`"system:authenticated" in event.user.groups`, 1, 0, true, "100", nil, true},
		{`event.user.username.startsWith("system:")`, 1, 0, true, "111", nil, true},
		{`event.requestURI.contains("exec") || event.requestURI.endsWith("z")`, 1, 0, true, "101", nil, true},
		{`isPodAccess() || event.objectRef.apiGroup == "coordination.k8s.io"`, 1, 0, true, "110", nil, true},
		{`isPodAccess() || event.objectRef.resource == "leases"`, 1, 0, true, "110", []string{"pods", "nodes", "leases"}, false},
		{`!isSystemComponent() && event.verb == "get"`, 2, 0, true, "101", nil, true},
		{`isVNFGuardDenial()`, 1, 0, true, "001", nil, true},
		{`isWorkloadWrite()`, 1, 0, true, "000", sortedKeys(workloadResources), false},
		{`event.verb == "get" && (isPodAccess() || event.requestURI == "/healthz")`, 2, 0, true, "101", nil, true},
		{`event.responseStatus.code >= 400`, 1, 0, true, "001", nil, true},
		{`event.responseStatus.code > 0 && 400 > event.responseStatus.code`, 2, 0, true, "100", nil, true},
		{`["/a", "/healthz"].exists(p, event.requestURI == p || event.requestURI.startsWith(p + "?"))`, 1, 0, true, "001", nil, true},
		{`event.user.username != "system:serviceaccount:" + event.objectRef.namespace + ":b"`, 1, 0, true, "011", nil, true},
		{`isVNFGuardDenial() && denialCount() == 0`, 2, 0, true, "001", nil, true},
		{`isDormant()`, 0, 1, true, "000", nil, true},
		{`vnfState() == "" && isPodAccess()`, 1, 1, true, "100", []string{"pods", "nodes"}, false},
		{`size(hostTakeover()) > 0 || "hostPID" in runsAsRoot()`, 0, 1, true, "000", nil, true},
		{`podCommands().exists(c, matchesReverseShell(c))`, 0, 1, true, "000", nil, true},
		{`matchesReverseShell(execCommand())`, 0, 1, true, "000", nil, true},
		{`protectionRemoved()`, 0, 1, true, "000", []string{"namespaces"}, false},
		// Left to CEL: other variables, has(), non-literal lists, other comprehensions, indexing; a test after
		// one of those is still done in Go when it is pure, not when it needs lookups.
		{`has(event.objectRef.name)`, 0, 0, false, "111", nil, true},
		{`requestObject.kind == "Pod"`, 0, 0, false, "111", nil, true},
		{`event.verb in [event.userAgent]`, 0, 0, false, "111", nil, true},
		{`event.user.username.split(":")[2] != "a"`, 0, 0, false, "111", nil, true},
		{`["a"].all(p, event.requestURI.startsWith(p))`, 0, 0, false, "111", nil, true},
		{`["a"].exists_one(p, event.requestURI.startsWith(p))`, 0, 0, false, "111", nil, true},
		{`requestObject.kind == "Pod" && isDormant() && event.verb == "get"`, 1, 0, false, "101", nil, true},
		{`isDormant() && requestObject.kind == "Pod" && isController()`, 1, 1, false, "000", nil, true},
		{`event.objectRef.subresource == "exec" && event.verb in ["get", "create"]`, 2, 0, true, "100", nil, true},
		// startsWith of a concatenation is matched piece by piece (prefixOf); /healthz starts with its first piece only.
		{`event.requestURI.startsWith("/api/v1/namespaces/" + event.objectRef.namespace + "/pods/" + event.objectRef.name + "/")`, 1, 0, true, "100", nil, true},
		{`["/api/v1", "/healthz"].exists(p, event.requestURI.startsWith(p + "/namespaces/" + event.objectRef.namespace))`, 1, 0, true, "100", nil, true},
	}
	if len(tests) != len(guardFormConditions) {
		t.Fatalf("%d forms, %d conditions", len(tests), len(guardFormConditions))
	}
	e, err := NewEngine(nil, Env{})
	if err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		if tt.cond != guardFormConditions[i] {
			t.Fatalf("form %d: %s, want %s", i, tt.cond, guardFormConditions[i])
		}
		prog, checked, err := compileChecked(tt.cond, cel.BoolType)
		if err != nil {
			t.Fatalf("%s: %v", tt.cond, err)
		}
		g := conditionGuard(checked)
		if len(g.pure) != tt.pure || len(g.prefix) != tt.prefix || g.complete != tt.complete {
			t.Errorf("%s: %d pure tests, %d in the prefix, complete %v; want %d, %d, %v", tt.cond, len(g.pure), len(g.prefix), g.complete,
				tt.pure, tt.prefix, tt.complete)
		}
		if res := g.bounds[boundResource]; (res == nil) != tt.resourcesUnbound || !tt.resourcesUnbound && !sameSet(res, tt.resources) {
			t.Errorf("%s: resources %q, want %q", tt.cond, res, tt.resources)
		}
		var got strings.Builder
		for _, ev := range guardEvents() {
			act := newTestActivation(e, ev)
			admits := g.admits(act)
			if admits {
				got.WriteByte('1')
			} else {
				got.WriteByte('0')
			}
			val, _, err := prog.Eval(newTestActivation(e, ev))
			if msg := guardDisagrees(g, admits, val, err); msg != "" {
				t.Errorf("%s: event %s: %s", tt.cond, ev.Verb, msg)
			}
		}
		if got.String() != tt.want {
			t.Errorf("%s: guard over exec, lease, no objectRef = %s, want %s", tt.cond, got.String(), tt.want)
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// boundsDisagree says how a condition CEL finds true for ev contradicts the resources, subresources or verbs its
// guard files it under (the engine would never run the rule for ev), or "".
func boundsDisagree(g guard, ev *auditv1.Event, val any) string {
	if val != types.True {
		return ""
	}
	for i, path := range indexedPaths {
		if value, bound := guardFields[path](ev), g.bounds[i]; bound != nil && !slices.Contains(bound, value) {
			return fmt.Sprintf("CEL is true for %s %q, which the guard's %q leaves out", path, value, bound)
		}
	}
	return ""
}

// guardDisagrees says how a guard's verdict contradicts CEL's value of the condition, or "".
func guardDisagrees(g guard, admits bool, val any, err error) string {
	switch {
	case !admits && (err != nil || val != types.False):
		return fmt.Sprintf("the guard refuses, CEL gives %v (error %v)", val, err)
	case g.complete && (err != nil || val != types.Bool(admits)):
		return fmt.Sprintf("the guard is the whole condition and gives %v, CEL %v (error %v)", admits, val, err)
	}
	return ""
}

// TestGuardFieldsMatchEventVal: a guard reads each field as the CEL event presents it.
func TestGuardFieldsMatchEventVal(t *testing.T) {
	evs := []*auditv1.Event{
		{Verb: "get", Stage: auditv1.StagePanic, Level: auditv1.LevelMetadata, RequestURI: "/x", UserAgent: "kubectl/1", AuditID: "id",
			User:           authnv1.UserInfo{Username: "u", UID: "uid", Groups: []string{"g"}},
			SourceIPs:      []string{"10.0.0.1"},
			ObjectRef:      &auditv1.ObjectReference{Resource: "pods", Subresource: "exec", Namespace: "a", Name: "p", APIGroup: "g", APIVersion: "v1", UID: "u", ResourceVersion: "1"},
			ResponseStatus: &metav1.Status{Code: 403, Status: "Failure", Reason: metav1.StatusReasonForbidden, Message: "no"}},
		{}, // no objectRef, user, status or lists
	}
	find := func(st *eventState, path string) any {
		var val any = &st.root
		for _, p := range strings.Split(path, ".") {
			got, ok := val.(*eventVal).Find(types.String(p))
			if !ok {
				t.Fatalf("%s: the CEL event has no field %s", path, p)
			}
			val = got
		}
		return val
	}
	for _, ev := range evs {
		st := newEventState(ev)
		for path, get := range guardFields {
			if s, ok := find(st, path).(types.String); !ok || string(s) != get(ev) {
				t.Errorf("%s: guard reads %q, CEL reads %v", path, get(ev), find(st, path))
			}
		}
		for path, get := range guardLists {
			got, _ := find(st, path).(interface {
				ConvertToNative(reflect.Type) (any, error)
			}).ConvertToNative(reflect.TypeOf([]string{}))
			if !slices.Equal(got.([]string), get(ev)) {
				t.Errorf("%s: guard reads %q, CEL reads %v", path, get(ev), got)
			}
		}
	}
}

// TestHelperTables: every helper the rules can call is served, by the table of its declared type, and ResolveName
// gives CEL the table's value.
func TestHelperTables(t *testing.T) {
	e, err := NewEngine(nil, Env{})
	if err != nil {
		t.Fatal(err)
	}
	other := map[string]bool{"_object": true, "_podSpec": true, "_denialCount": true}
	for _, h := range helpers {
		_, isBool := boolHelpers[h.varName]
		_, isString := stringHelpers[h.varName]
		_, isList := listHelpers[h.varName]
		switch {
		case isBool && h.typ != cel.BoolType, isString && h.typ != cel.StringType,
			isList && !h.typ.IsExactType(cel.ListType(cel.StringType)):
			t.Errorf("%s: served by a table of another type than %s", h.name, h.typ)
		case !isBool && !isString && !isList && !other[h.varName]:
			t.Errorf("%s: in no table", h.name)
		}
		for _, ev := range guardEvents() {
			got, ok := newTestActivation(e, ev).ResolveName(h.varName)
			if !ok {
				t.Fatalf("%s: ResolveName does not serve it", h.name)
			}
			var want any
			switch {
			case isBool:
				want = boolHelpers[h.varName](newTestActivation(e, ev))
			case isString:
				want = stringHelpers[h.varName](newTestActivation(e, ev))
			case isList:
				want = listHelpers[h.varName](newTestActivation(e, ev))
			default:
				continue
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: ResolveName %v, table %v", h.name, got, want)
			}
		}
	}
	for _, m := range []map[string]bool{pureHelpers} {
		for name := range m {
			if boolHelpers[name] == nil {
				t.Errorf("pure helper %s is no boolean helper", name)
			}
		}
	}
}

// TestHelperResources: a helper with resources in helperResources is false for an event of any other resource,
// and likewise with subresources and verbs (helperSubresources, helperVerbs), whatever else the event holds (every
// corpus and suite event, the field replaced by each value the corpora name and some they do not).
func TestHelperResources(t *testing.T) {
	pack, suites := builtinSuites(t)
	evs := corpusEvents(t)
	for _, s := range suites {
		for _, c := range s.Cases {
			evs = append(evs, c.events...)
		}
	}
	fields := []struct {
		name    string
		helpers map[string][]string
		values  map[string]bool
		get     func(ev *auditv1.Event) string
		set     func(ev *auditv1.Event, value string)
	}{
		{"resource", helperResources, map[string]bool{"": true, "zzz": true, "pods": true, "namespaces": true, "nodes": true},
			func(ev *auditv1.Event) string { return objRef(ev).Resource }, func(ev *auditv1.Event, v string) { ev.ObjectRef.Resource = v }},
		{"subresource", helperSubresources, map[string]bool{"": true, "zzz": true, "status": true, "exec": true, "proxy": true},
			func(ev *auditv1.Event) string { return objRef(ev).Subresource }, func(ev *auditv1.Event, v string) { ev.ObjectRef.Subresource = v }},
		{"verb", helperVerbs, map[string]bool{"": true, "zzz": true, "get": true, "create": true, "patch": true, "deletecollection": true},
			func(ev *auditv1.Event) string { return ev.Verb }, func(ev *auditv1.Event, v string) { ev.Verb = v }},
	}
	e := suitesEngine(t, pack, suites)
	for _, f := range fields {
		for _, ev := range evs {
			f.values[f.get(ev)] = true
		}
		for _, set := range f.helpers {
			for _, v := range set {
				f.values[v] = true
			}
		}
		checked := 0
		for _, ev := range evs {
			for v := range f.values {
				c := *ev
				r := *objRef(ev)
				c.ObjectRef = &r
				f.set(&c, v)
				for name, set := range f.helpers {
					if slices.Contains(set, v) {
						continue
					}
					checked++
					if boolHelpers[name](newTestActivation(e, &c)) {
						t.Fatalf("%s is true for %s %q (event %s), outside %q", name, f.name, v, ev.AuditID, set)
					}
				}
			}
		}
		if checked < 1000 {
			t.Fatalf("%s: only %d checks", f.name, checked)
		}
	}
}

// celOnlyRule is r without its guard and with its output done by CEL alone.
func celOnlyRule(r *Rule) *Rule {
	c := *r
	c.guard = guard{}
	c.output = slices.Clone(r.output)
	for i := range c.output {
		c.output[i].str = nil
	}
	return &c
}

// checkGuards makes e compare, for every event it evaluates, each rule's guard and the index with the rule's CEL
// program on the same activation: a rule the index leaves out or the guard refuses must be false in CEL, and a
// complete guard's verdict must be CEL's; and a matching rule's output must be the same with its parts done in Go
// as by CEL alone. It returns the counts of rules skipped, decided without CEL, and outputs compared.
func checkGuards(t *testing.T, e *Engine) (skipped, decided, rendered *int) {
	skipped, decided, rendered = new(int), new(int), new(int)
	e.checkRules = func(act *activation, source string) {
		cands := e.candidates(act.ev, source)
		for i, r := range e.rules {
			if r.Events != source {
				continue
			}
			prog, err := r.cond.get()
			if err != nil {
				t.Fatalf("rule %s: %v", r.ID, err)
			}
			val, _, err := prog.Eval(act)
			if !slices.Contains(cands, i) {
				*skipped++
				if err != nil || val != types.False {
					t.Errorf("rule %s: left out by the index for resource %q, CEL gives %v (error %v) on event %s", r.ID,
						objRef(act.ev).Resource, val, err, act.ev.AuditID)
				}
				continue
			}
			admits := r.guard.admits(act)
			if !admits {
				*skipped++
			} else if r.guard.complete {
				*decided++
			}
			if msg := guardDisagrees(r.guard, admits, val, err); msg != "" {
				t.Errorf("rule %s: event %s: %s", r.ID, act.ev.AuditID, msg)
			}
			if val == types.True {
				// The output, with its parts done in Go and by CEL alone.
				if got, want := e.render(r, act), e.render(celOnlyRule(r), act); got != want {
					t.Errorf("rule %s: event %s: output %q, by CEL alone %q", r.ID, act.ev.AuditID, got, want)
				}
				*rendered++
			}
		}
	}
	return skipped, decided, rendered
}

// TestGuardsAgreeWithCEL runs the built-in pack with guards and index and with CEL alone over every event of the
// corpora and the suites, in each suite's world, and the recorded corpus in its own: the findings (byte for byte)
// and the rule errors must be the same; and rule by rule, every guard and the index agree with CEL.
func TestGuardsAgreeWithCEL(t *testing.T) {
	pack, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	converted := 0
	celOnly := make([]*Rule, len(pack))
	for i, r := range pack {
		celOnly[i] = celOnlyRule(r)
		if r.guard.complete {
			converted++
		}
	}
	if converted < len(pack)*2/3 {
		t.Fatalf("only %d of %d built-in rules are done in Go", converted, len(pack))
	}
	suites, err := LoadSuites(rules.FS, "tests")
	if err != nil {
		t.Fatal(err)
	}
	corpus := corpusEvents(t)
	ctx := context.Background()
	type world struct {
		name string
		mk   func([]*Rule) (*Engine, error)
		evs  []*auditv1.Event
	}
	var worlds []world
	for _, s := range suites {
		var evs []*auditv1.Event
		for _, c := range s.Cases {
			evs = append(evs, c.events...)
		}
		worlds = append(worlds, world{s.File, s.Engine, append(evs, corpus...)})
	}
	env := recordedEnv(t)
	recorded, err := DecodeEventLines(corpusFiles(t)[4])
	if err != nil {
		t.Fatal(err)
	}
	worlds = append(worlds, world{"recorded corpus", func(rs []*Rule) (*Engine, error) {
		return NewEngine(rs, env)
	}, recorded})
	skipped, decided, rendered, findings := 0, 0, 0, 0
	for _, w := range worlds {
		with, err := w.mk(pack)
		if err != nil {
			t.Fatal(err)
		}
		s, d, r := checkGuards(t, with)
		without, err := w.mk(celOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range w.evs {
			a, err1 := with.Evaluate(ctx, ev)
			b, err2 := without.Evaluate(ctx, ev)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("%s: event %s: findings with guards %v, without %v", w.name, ev.AuditID, a, b)
			}
			findings += len(a)
		}
		if x, y := with.Stats(), without.Stats(); !reflect.DeepEqual(x.RuleErrors, y.RuleErrors) || x.Findings != y.Findings {
			t.Errorf("%s: stats with guards %+v, without %+v", w.name, x, y)
		}
		skipped, decided, rendered = skipped+*s, decided+*d, rendered+*r
	}
	t.Logf("%d findings alike; %d rule evaluations skipped, %d decided without CEL; %d outputs alike", findings, skipped, decided, rendered)
	if skipped == 0 || decided == 0 || rendered < 50 || findings < 50 {
		t.Fatal("the comparison proved little: no rule skipped, none decided in Go, or few findings")
	}
}

// corpusEvents are the events of the corpora (without the suites'), decoded afresh for each call.
func corpusEvents(t testing.TB) []*auditv1.Event {
	t.Helper()
	var out []*auditv1.Event
	for _, data := range corpusFiles(t) {
		evs, err := DecodeEventLines(data)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, evs...)
	}
	return out
}

// recordedEnv is the world the audit log recorded from a real API server ran in (corpus/testdata): its
// configuration and the history of its VNF inventory.
func recordedEnv(t testing.TB) Env {
	t.Helper()
	cfg, err := config.Load("corpus/testdata/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	timeline, err := vnf.ReadTimelineFile("corpus/testdata/inventory-history.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	return Env{Config: cfg, Inventory: timeline}
}

// TestGuardIndexFields: the resources, subresources and verbs a guard says its condition can be true for, by
// which the engine files the rule (nil: any). A bound from a conjunct holds for the whole condition; a
// disjunction is bound only when both sides are; a negation is never bound.
func TestGuardIndexFields(t *testing.T) {
	tests := []struct {
		cond                           string
		resources, subresources, verbs []string
	}{
		{`event.verb == "create"`, nil, nil, []string{"create"}},
		{`"patch" == event.verb && event.objectRef.subresource == ""`, nil, []string{""}, []string{"patch"}},
		{`event.verb in ["get", "list"] && event.objectRef.resource == "secrets"`, []string{"secrets"}, nil, []string{"get", "list"}},
		{`event.verb in ["get", "list"] && event.verb == "list"`, nil, nil, []string{"list"}},
		{`event.verb == "get" || event.verb == "watch"`, nil, nil, []string{"get", "watch"}},
		{`event.verb == "get" || isSystemComponent()`, nil, nil, nil},
		{`event.verb != "get"`, nil, nil, nil},
		{`!(event.verb == "get")`, nil, nil, nil},
		{`isWorkloadWrite()`, sortedKeys(workloadResources), []string{""}, []string{"create", "update", "patch"}},
		{`isPodAccess()`, []string{"pods", "nodes"}, []string{"attach", "ephemeralcontainers", "exec", "portforward", "proxy"}, nil},
		{`isPodAccess() && event.verb == "create"`, []string{"pods", "nodes"}, []string{"attach", "ephemeralcontainers", "exec", "portforward", "proxy"}, []string{"create"}},
		{`isWorkloadWrite() && event.verb == "get"`, sortedKeys(workloadResources), []string{""}, []string{}},
		{`requestObject.kind == "Pod" && event.verb == "create"`, nil, nil, []string{"create"}},
	}
	for _, tt := range tests {
		_, checked, err := compileChecked(tt.cond, cel.BoolType)
		if err != nil {
			t.Fatalf("%s: %v", tt.cond, err)
		}
		got := conditionGuard(checked).bounds
		want := bounds{boundResource: tt.resources, boundSubresource: tt.subresources, boundVerb: tt.verbs}
		for i, path := range indexedPaths {
			if (got[i] == nil) != (want[i] == nil) || !sameSet(got[i], want[i]) {
				t.Errorf("%s: %s %q, want %q", tt.cond, path, got[i], want[i])
			}
		}
	}
}
