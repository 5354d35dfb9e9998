package detect

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/vnfguard/vnfguard/rules"
)

// TestGuardForms: each form guardOf knows becomes a guard that is false exactly when the conjunct is; any other
// conjunct is left to CEL.
func TestGuardForms(t *testing.T) {
	exec := &auditv1.Event{Verb: "get", Stage: auditv1.StageResponseComplete, RequestURI: "/api/v1/namespaces/a/pods/p/exec?command=id",
		User:      authnv1.UserInfo{Username: "system:serviceaccount:a:b", Groups: []string{"system:authenticated"}},
		ObjectRef: &auditv1.ObjectReference{Resource: "pods", Subresource: "exec", Namespace: "a", Name: "p"}}
	lease := &auditv1.Event{Verb: "update", Stage: auditv1.StageResponseComplete, User: authnv1.UserInfo{Username: "system:node:n"},
		ObjectRef: &auditv1.ObjectReference{Resource: "leases", APIGroup: "coordination.k8s.io", Namespace: "kube-node-lease", Name: "n"}}
	noRef := &auditv1.Event{Verb: "get", RequestURI: "/healthz", User: authnv1.UserInfo{Username: "system:anonymous"},
		ResponseStatus: &metav1.Status{Code: 403, Message: `admission webhook "pods.vnfguard.io" denied the request: no`}}
	tests := []struct {
		cond  string
		guard bool   // whether a guard is derived
		want  string // for exec, lease, noRef: 1 guard true, 0 false
	}{
		{`event.verb == "get" && size(event.requestURI) > 0`, true, "101"},
		{`"get" == event.verb`, true, "101"},
		{`event.verb != "get"`, true, "010"},
		{`event.objectRef.resource in ["pods", "leases"]`, true, "110"},
		{`event.objectRef.resource == ""`, true, "001"}, // no objectRef reads as empty, as in CEL
		{`"system:authenticated" in event.user.groups`, true, "100"},
		{`event.user.username.startsWith("system:")`, true, "111"},
		{`isPodAccess() || event.objectRef.apiGroup == "coordination.k8s.io"`, true, "110"},
		{`!isSystemComponent() && event.verb == "get"`, true, "101"},
		{`isVNFGuardDenial()`, true, "001"},
		{`isWorkloadWrite()`, true, "000"},
		{`event.verb == "get" && (isPodAccess() || event.requestURI == "/healthz")`, true, "101"},
		// Left to CEL: other variables, comprehensions, has(), numbers, non-literal lists, helpers that need state.
		{`has(event.objectRef.name)`, false, "111"},
		{`requestObject.kind == "Pod"`, false, "111"},
		{`event.responseStatus.code >= 400`, false, "111"},
		{`["a"].exists(p, event.requestURI.startsWith(p))`, false, "111"},
		{`event.verb in [event.userAgent]`, false, "111"},
		{`isDormant()`, false, "111"},
		{`event.verb == "get" || isDormant()`, false, "111"},
	}
	for _, tt := range tests {
		_, checked, err := compileChecked(tt.cond, cel.BoolType)
		if err != nil {
			t.Fatalf("%s: %v", tt.cond, err)
		}
		g := conditionGuard(checked)
		if (g != nil) != tt.guard {
			t.Errorf("%s: guard derived %v, want %v", tt.cond, g != nil, tt.guard)
			continue
		}
		if g == nil {
			continue
		}
		var got strings.Builder
		for _, ev := range []*auditv1.Event{exec, lease, noRef} {
			if g(ev) {
				got.WriteByte('1')
			} else {
				got.WriteByte('0')
			}
		}
		if got.String() != tt.want {
			t.Errorf("%s: guard over exec, lease, no objectRef = %s, want %s", tt.cond, got.String(), tt.want)
		}
	}
}

// TestGuardFieldsMatchEventVal: a guard reads each field as the CEL event presents it.
func TestGuardFieldsMatchEventVal(t *testing.T) {
	evs := []*auditv1.Event{
		{Verb: "get", Stage: auditv1.StagePanic, Level: auditv1.LevelMetadata, RequestURI: "/x", UserAgent: "kubectl/1",
			User:      authnv1.UserInfo{Username: "u"},
			ObjectRef: &auditv1.ObjectReference{Resource: "pods", Subresource: "exec", Namespace: "a", Name: "p", APIGroup: "g"}},
		{}, // no objectRef
	}
	for _, ev := range evs {
		st := newEventState(ev)
		for path, get := range guardFields {
			var v = &st.root
			parts := strings.Split(path, ".")
			var val any = v
			for _, p := range parts {
				got, ok := val.(*eventVal).Find(types.String(p))
				if !ok {
					t.Fatalf("%s: the CEL event has no field %s", path, p)
				}
				val = got
			}
			if s, ok := val.(types.String); !ok || string(s) != get(ev) {
				t.Errorf("%s: guard reads %q, CEL reads %v", path, get(ev), val)
			}
		}
	}
}

// TestGuardsAgreeWithCEL runs the built-in pack with and without guards over every event of the corpora, in each
// suite's world: the findings and the rule errors must be the same, and the guards must have skipped work.
func TestGuardsAgreeWithCEL(t *testing.T) {
	pack, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	guarded := 0
	unguarded := make([]*Rule, len(pack))
	for i, r := range pack {
		c := *r
		c.guard = nil
		unguarded[i] = &c
		if r.guard != nil {
			guarded++
		}
	}
	if guarded < len(pack)/2 {
		t.Fatalf("only %d of %d built-in rules have a guard", guarded, len(pack))
	}
	suites, err := LoadSuites(rules.FS, "tests")
	if err != nil {
		t.Fatal(err)
	}
	corpus := corpusEvents(t)
	skipped := 0
	ctx := context.Background()
	for _, s := range suites {
		var evs []*auditv1.Event
		for _, c := range s.Cases {
			evs = append(evs, c.events...)
		}
		evs = append(evs, corpus...)
		with, err := s.Engine(pack)
		if err != nil {
			t.Fatal(err)
		}
		without, err := s.Engine(unguarded)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			for _, r := range with.rules {
				if r.guard != nil && !r.guard(ev) {
					skipped++
				}
			}
			a, err1 := with.Evaluate(ctx, ev)
			b, err2 := without.Evaluate(ctx, ev)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("%s: event %s: findings with guards %v, without %v", s.File, ev.AuditID, a, b)
			}
		}
		if x, y := with.Stats(), without.Stats(); !reflect.DeepEqual(x.RuleErrors, y.RuleErrors) || x.Findings != y.Findings {
			t.Errorf("%s: stats with guards %+v, without %+v", s.File, x, y)
		}
	}
	if skipped == 0 {
		t.Fatal("no guard skipped a rule: the comparison proved nothing")
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
