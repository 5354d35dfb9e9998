package detect

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/cel-go/cel"
	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

// FuzzLoadRules feeds arbitrary rule files to the loader: it must return rules or an error naming the file, and
// never panic, whatever the YAML or the CEL inside it.
func FuzzLoadRules(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "bad", "*.yaml"))
	more, _ := filepath.Glob(filepath.Join("..", "..", "rules", "*.yaml"))
	for _, p := range append(seeds, more...) {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("rules:\n  - id: x\n    condition: '${'\n    output: '${${}}'\n    severity: info\n"))
	f.Add([]byte("rules:\n  - id: x\n    condition: >\n      a &&\n\n        b\n    severity: info\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, err := ParseRules("fuzz.yaml", data)
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, r := range rules {
			if r.ID == "" || r.cond == nil {
				t.Fatalf("rule without id or program: %+v", r)
			}
		}
	})
}

// FuzzEvaluate feeds arbitrary audit events (as JSON lines) through the built-in pack: no panic, no error.
func FuzzEvaluate(f *testing.F) {
	data, err := os.ReadFile(filepath.Join("testdata", "corpus.jsonl"))
	if err != nil {
		f.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n")[:40] {
		f.Add([]byte(l))
	}
	pack, err := Builtin()
	if err != nil {
		f.Fatal(err)
	}
	e, err := NewEngine(pack, Env{Inventory: stoppedSMF(), Objects: staticObjects{}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		evs, err := DecodeEventLines(line)
		if err != nil {
			return
		}
		for _, ev := range evs {
			if _, err := e.Evaluate(t.Context(), ev); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// FuzzGuardsAgreeWithCEL builds audit events from the fuzzer's fields (a verb, a resource, a user, a response code
// ...) and runs them through the built-in pack in the rule tests' world with every guard and the index compared to
// CEL (checkGuards), and through the conditions of TestGuardForms.
func FuzzGuardsAgreeWithCEL(f *testing.F) {
	f.Add("get", "pods", "exec", "a", "p", "system:serviceaccount:a:b", "system:authenticated", "/api/v1/namespaces/a/pods/p/exec?command=sh&command=-c&command=id", "kubectl/1.30", int32(101), "")
	f.Add("create", "pods", "", "kube-system", "", "alice", "system:masters", "/api/v1/namespaces/kube-system/pods", "curl", int32(201), "")
	f.Add("patch", "namespaces", "", "", "smf", "bob", "", "/api/v1/namespaces/smf", "", int32(403), `admission webhook "ns.vnfguard.io" denied the request: no`)
	f.Add("list", "secrets", "", "", "", "system:anonymous", "system:unauthenticated", "/api/v1/secrets", "", int32(200), "")
	f.Add("get", "nodes", "proxy", "", "n1", "system:serviceaccount:x:y", "", "/api/v1/nodes/n1/proxy/exec/a/b/c", "", int32(200), "")
	f.Add("create", "serviceaccounts", "token", "vnf", "sa", "system:serviceaccount:vnf:sa", "", "/healthz?x", "", int32(201), "")
	pack, suites := builtinSuites(f)
	type cond struct {
		src  string
		prog cel.Program
		g    guard
	}
	var conds []cond
	for _, src := range guardFormConditions {
		prog, checked, err := compileChecked(src, cel.BoolType)
		if err != nil {
			f.Fatal(err)
		}
		conds = append(conds, cond{src, prog, conditionGuard(checked)})
	}
	f.Fuzz(func(t *testing.T, verb, resource, subresource, namespace, name, user, group, uri, agent string, code int32, message string) {
		e := suitesEngine(t, pack, suites)
		_, _, _ = checkGuards(t, e)
		ev := &auditv1.Event{AuditID: "fuzz", Stage: auditv1.StageResponseComplete, Verb: verb, RequestURI: uri, UserAgent: agent,
			User:      authnv1.UserInfo{Username: user, Groups: []string{group}},
			ObjectRef: &auditv1.ObjectReference{Resource: resource, Subresource: subresource, Namespace: namespace, Name: name},
		}
		if code != 0 || message != "" {
			ev.ResponseStatus = &metav1.Status{Code: code, Message: message}
		}
		for _, c := range []*auditv1.Event{ev, func() *auditv1.Event { c := *ev; c.ObjectRef = nil; c.ResponseStatus = nil; return &c }()} {
			if _, err := e.Evaluate(t.Context(), c); err != nil {
				t.Fatal(err)
			}
			for _, k := range conds {
				admits := k.g.admits(newTestActivation(e, c))
				val, _, err := k.prog.Eval(newTestActivation(e, c))
				if msg := guardDisagrees(k.g, admits, val, err); msg != "" {
					t.Fatalf("%s: %s", k.src, msg)
				}
				if msg := boundsDisagree(k.g, c, val); msg != "" {
					t.Fatalf("%s: %s", k.src, msg)
				}
			}
		}
	})
}
