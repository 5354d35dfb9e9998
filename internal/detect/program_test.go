package detect

import (
	"context"
	"strings"
	"testing"

	authnv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/runtime"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

// TestLazyPrograms: a program the engine's Go paths stand in for is not planned at load, and is planned (once) and
// run when they cannot tell: the output prints CEL's text of a name that is no string, and a complete guard's
// program, asked for, gives the guard's verdict.
func TestLazyPrograms(t *testing.T) {
	rules := mustRules(t, `rules:
  - id: pod-created
    description: a pod was created
    condition: event.verb == "create" && event.objectRef.resource == "pods"
    output: created ${object().?metadata.?name.orValue(event.objectRef.name)} by ${event.user.username}
    severity: low
    technique: FGT5013
`)
	r := rules[0]
	if !r.guard.complete || r.cond.prog != nil {
		t.Fatalf("complete guard %v, condition planned %v: want a complete guard and an unplanned program", r.guard.complete, r.cond.prog != nil)
	}
	name := r.output[1]
	if name.str == nil || name.prog.prog != nil {
		t.Fatalf("the name's output: Go path %v, planned %v; want the Go path and an unplanned program", name.str != nil, name.prog.prog != nil)
	}
	if user := r.output[3]; user.prog.prog != nil {
		t.Fatal("the user's output is planned at load though the Go path prints it")
	}
	e, err := NewEngine(rules, Env{})
	if err != nil {
		t.Fatal(err)
	}
	create := func(body string) *auditv1.Event {
		return &auditv1.Event{Stage: auditv1.StageResponseComplete, Verb: "create", User: authnv1.UserInfo{Username: "vnfm"},
			ObjectRef:     &auditv1.ObjectReference{Resource: "pods", Namespace: "5gc", APIVersion: "v1"},
			RequestObject: &runtime.Unknown{Raw: []byte(body), ContentType: runtime.ContentTypeJSON}}
	}
	for _, tt := range []struct {
		body, want string
		planned    bool
	}{
		{`{"kind":"Pod","metadata":{"name":"upf-0"}}`, "created upf-0 by vnfm", false},
		// A number for a name: the view cannot say what CEL prints, so CEL prints it.
		{`{"kind":"Pod","metadata":{"name":5}}`, "created 5 by vnfm", true},
		{`{"kind":"Pod","metadata":{"name":"upf-1"}}`, "created upf-1 by vnfm", true},
	} {
		got, err := e.Evaluate(context.Background(), create(tt.body))
		if err != nil || len(got) != 1 {
			t.Fatalf("%s: %d findings, %v", tt.body, len(got), err)
		}
		if got[0].Message != tt.want {
			t.Errorf("%s: message %q, want %q", tt.body, got[0].Message, tt.want)
		}
		if planned := name.prog.prog != nil; planned != tt.planned {
			t.Errorf("%s: the name's program planned %v, want %v", tt.body, planned, tt.planned)
		}
	}
	if r.cond.prog != nil {
		t.Error("the complete guard's program was planned by evaluation")
	}
	prog, err := r.cond.get()
	if err != nil {
		t.Fatal(err)
	}
	for verb, want := range map[string]bool{"create": true, "get": false} {
		ev := create(`{}`)
		ev.Verb = verb
		scratch := scratchPool.Get().(*evalScratch)
		act := scratch.reset(e, context.Background(), ev)
		val, _, err := prog.Eval(act)
		if err != nil || val.Value() != want || r.guard.admits(act) != want {
			t.Errorf("verb %s: CEL %v (%v), guard %v; want %v", verb, val, err, r.guard.admits(act), want)
		}
		scratch.release()
	}
}

// TestLazyProgramLoadErrors: an expression is still checked at load when its program is planned later.
func TestLazyProgramLoadErrors(t *testing.T) {
	_, err := ParseRules("inline.yaml", []byte(`rules:
  - id: broken
    description: d
    condition: event.verb == "create"
    output: ${event.nosuchfield}
    severity: low
    technique: FGT5013
`))
	if err == nil || !strings.Contains(err.Error(), "nosuchfield") {
		t.Fatalf("an output naming a field the event does not have: %v", err)
	}
}
