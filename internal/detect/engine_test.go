package detect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/runtime"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

func loadEvent(t testing.TB, name string) *auditv1.Event {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	ev := &auditv1.Event{}
	if err := json.Unmarshal(data, ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func mustRules(t testing.TB, yaml string) []*Rule {
	t.Helper()
	rules, err := ParseRules("inline.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return rules
}

func stoppedSMF() vnf.Inventory {
	inst := &vnf.Instance{ID: "smf-1", VnfdID: "vnfd-smf", VnfProductName: "SMF", InstantiationState: vnf.Instantiated,
		InstantiatedVnfInfo: &vnf.InstantiatedVnfInfo{VnfState: vnf.Stopped, Metadata: map[string]any{"namespace": "5gc"},
			VnfcResourceInfo: []vnf.VnfcResourceInfo{{ID: "c1", ComputeResource: vnf.ResourceHandle{ResourceID: "smf-0"}}}}}
	return vnf.Static{Snap: vnf.NewSnapshot("test", "v1", time.Now(), []*vnf.Instance{inst})}
}

func TestEvaluateFinding(t *testing.T) {
	pack, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(pack, Env{Inventory: stoppedSMF()})
	if err != nil {
		t.Fatal(err)
	}
	ev := loadEvent(t, "exec-get.json")
	got, err := e.Evaluate(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]finding.Finding{}
	for _, f := range got {
		rules[f.Rule] = f
	}
	if len(got) != 2 {
		t.Fatalf("got %d findings %v, want exec-dormant-vnf and exec-sensitive-command", len(got), rules)
	}
	f, ok := rules["exec-dormant-vnf"]
	if !ok {
		t.Fatalf("no exec-dormant-vnf finding: %v", rules)
	}
	obj := finding.ObjectRef{APIVersion: "v1", Kind: "Pod", Namespace: "5gc", Name: "smf-0", Subresource: "exec"}
	want := finding.Finding{
		ID: finding.Key("exec-dormant-vnf", obj, "smf-1"), Time: ev.StageTimestamp.Time, Source: "audit", Rule: "exec-dormant-vnf",
		Technique: finding.AccessingTerminatedVNF, Severity: finding.Critical, Action: "detected",
		VNFInstance: "smf-1", VNFProduct: "SMF", Identity: "mallory", Object: obj,
	}
	if f.ID != want.ID || !f.Time.Equal(want.Time) || f.Source != want.Source || f.Technique != want.Technique ||
		f.Severity != want.Severity || f.Action != want.Action || f.VNFInstance != want.VNFInstance ||
		f.VNFProduct != want.VNFProduct || f.Identity != want.Identity || f.Object != want.Object {
		t.Errorf("finding\n got %+v\nwant %+v", f, want)
	}
	if len(f.Mitigations) == 0 || f.Mitigations[0] != finding.MitigationUserAccounts {
		t.Errorf("mitigations %v", f.Mitigations)
	}
	for k, v := range map[string]string{"auditID": "6a1c2f6e-exec", "stage": "ResponseComplete", "verb": "get",
		"sourceIPs": "10.0.0.9,192.0.2.1", "vnfState": "STOPPED", "responseCode": "101", "requestURI": ev.RequestURI} {
		if f.Evidence[k] != v {
			t.Errorf("evidence %s = %q, want %q", k, f.Evidence[k], v)
		}
	}
	if want := "mallory opened pods/exec (verb get) into pod 5gc/smf-0 of VNF instance smf-1, which is STOPPED (response 101)"; f.Message != want {
		t.Errorf("message\n got %q\nwant %q", f.Message, want)
	}
	if s := rules["exec-sensitive-command"].Message; !strings.Contains(s, `ran "cat /var/run/secrets/kubernetes.io/serviceaccount/token"`) {
		t.Errorf("exec-sensitive-command message %q does not quote the command", s)
	}
	st := e.Stats()
	if st.Events != 1 || st.Findings != 2 || len(st.RuleErrors) != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestEvaluateStages(t *testing.T) {
	rules := mustRules(t, "rules:\n  - id: any\n    condition: \"true\"\n    severity: info\n")
	tests := []struct {
		name   string
		stages []auditv1.Stage
		stage  auditv1.Stage
		want   int
	}{
		{"default evaluates ResponseComplete", nil, auditv1.StageResponseComplete, 1},
		{"default evaluates Panic", nil, auditv1.StagePanic, 1},
		{"default skips RequestReceived", nil, auditv1.StageRequestReceived, 0},
		{"default skips ResponseStarted", nil, auditv1.StageResponseStarted, 0},
		{"configured RequestReceived", []auditv1.Stage{auditv1.StageRequestReceived}, auditv1.StageRequestReceived, 1},
		{"configured RequestReceived skips ResponseComplete", []auditv1.Stage{auditv1.StageRequestReceived}, auditv1.StageResponseComplete, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := NewEngine(rules, Env{Stages: tt.stages})
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.Evaluate(context.Background(), &auditv1.Event{Stage: tt.stage, AuditID: "x"})
			if err != nil || len(got) != tt.want {
				t.Fatalf("got %d findings, error %v; want %d", len(got), err, tt.want)
			}
			if st := e.Stats(); st.Events+st.Skipped != 1 {
				t.Errorf("stats %+v: the event was neither evaluated nor skipped", st)
			}
		})
	}
}

// A rule that fails at run time (a missing key, a bad regex) counts an error and matches nothing; the other rules
// still run.
func TestEvaluateRuntimeErrors(t *testing.T) {
	rules := mustRules(t, `rules:
  - id: missing-key
    condition: requestObject.nosuch == "x"
    severity: info
  - id: bad-regex
    condition: int(event.verb) > 0
    severity: info
  - id: output-fails
    condition: event.verb == "get"
    output: "verb ${event.verb} then ${requestObject.spec.nodeName}"
    severity: info
`)
	e, err := NewEngine(rules, Env{})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		got, err := e.Evaluate(context.Background(), &auditv1.Event{Stage: auditv1.StageResponseComplete, Verb: "get"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Rule != "output-fails" || got[0].Message != "verb get then <error>" {
			t.Fatalf("got %+v", got)
		}
	}
	st := e.Stats()
	if st.RuleErrors["missing-key"] != 3 || st.RuleErrors["bad-regex"] != 3 || st.RuleErrors["output-fails"] != 0 {
		t.Errorf("rule errors %v", st.RuleErrors)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Evaluate(ctx, &auditv1.Event{Stage: auditv1.StageResponseComplete}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: got %v", err)
	}
	if got, err := e.Evaluate(context.Background(), nil); got != nil || err != nil {
		t.Errorf("nil event: %v %v", got, err)
	}
}

// namespaceLabels is a Namespaces fake.
type namespaceLabels map[string]map[string]string

func (n namespaceLabels) Labels(_ context.Context, name string) (map[string]string, error) {
	if l, ok := n[name]; ok {
		return l, nil
	}
	return nil, vnf.ErrNotFound
}

func TestHelpers(t *testing.T) {
	cfg, err := config.Parse([]byte("identities:\n  vnfm: {users: [tacker]}\n  breakGlass: {groups: [oncall]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	env := Env{Config: cfg, Inventory: stoppedSMF(), Namespaces: namespaceLabels{"labelled": {"vnfguard.io/protected": "true"}}}
	tests := []struct {
		expr string
		ev   auditv1.Event
	}{
		{`isVNFM() && !isBreakGlass() && !isController()`, auditv1.Event{}},
		{`isProtectedNamespace()`, auditv1.Event{ObjectRef: &auditv1.ObjectReference{Namespace: "labelled"}}},
		{`isProtectedNamespace() && isDormantNamespace()`, auditv1.Event{ObjectRef: &auditv1.ObjectReference{Namespace: "5gc"}}},
		{`!isProtectedNamespace() && !isDormantNamespace()`, auditv1.Event{ObjectRef: &auditv1.ObjectReference{Namespace: "other"}}},
		{`isPodAccess() && execCommand() == "sh -c id"`, auditv1.Event{Verb: "get", RequestURI: "/api/v1/namespaces/a/pods/b/exec?command=sh&command=-c&command=id",
			ObjectRef: &auditv1.ObjectReference{Resource: "pods", Subresource: "exec", Namespace: "a", Name: "b"}}},
		{`!isPodAccess()`, auditv1.Event{Verb: "list", ObjectRef: &auditv1.ObjectReference{Resource: "pods", Subresource: "exec"}}},
		{`isPodAccess() && vnfInstance() == ""`, auditv1.Event{Verb: "get", ObjectRef: &auditv1.ObjectReference{Resource: "nodes", Subresource: "proxy", Name: "n1"}}},
		{`vnfInstance() == "smf-1" && vnfState() == "STOPPED" && vnfProduct() == "SMF" && isDormant()`,
			auditv1.Event{ObjectRef: &auditv1.ObjectReference{Resource: "pods", Namespace: "5gc", Name: "smf-0"}}},
		{`vnfInstance() == "" && vnfState() == "" && !isDormant()`, auditv1.Event{ObjectRef: &auditv1.ObjectReference{Resource: "pods", Namespace: "5gc", Name: "x"}}},
		{`event.objectRef.resource == "" && event.responseStatus.code == 0 && size(event.user.groups) == 0 && requestObject == {} && podSpec() == {}`, auditv1.Event{}},
		// The event is typed for the checker; dyn() gives its map view back.
		{`dyn(event).exists(k, k == "verb") && size(dyn(event)) >= 12 && !has(event.impersonatedUser) && "objectRef" in dyn(event) && dyn(event).?nosuch.orValue(1) == 1`, auditv1.Event{}},
		{`dyn(event.objectRef) == {"resource": "pods", "namespace": "a", "name": "", "uid": "", "apiGroup": "", "apiVersion": "", "resourceVersion": "", "subresource": ""} && event.user.groups == ["g"] && event.annotations["k"] == "v"`,
			auditv1.Event{ObjectRef: &auditv1.ObjectReference{Resource: "pods", Namespace: "a"}, User: authnv1.UserInfo{Username: "u", Groups: []string{"g"}}, Annotations: map[string]string{"k": "v"}}},
		{`event.impersonatedUser.username == "x" && string(event.responseStatus.code) == "0"`, auditv1.Event{ImpersonatedUser: &authnv1.UserInfo{Username: "x"}}},
		{`isSystemComponent() && !isWorkloadWrite()`, auditv1.Event{User: userInfo("system:node:n1")}},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			rules := mustRules(t, "rules:\n  - id: r\n    condition: '"+tt.expr+"'\n    severity: info\n")
			e, err := NewEngine(rules, env)
			if err != nil {
				t.Fatal(err)
			}
			ev := tt.ev
			ev.Stage = auditv1.StageResponseComplete
			if ev.User.Username == "" {
				ev.User = userInfo("tacker")
			}
			got, err := e.Evaluate(context.Background(), &ev)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Errorf("condition false (rule errors %v)", e.Stats().RuleErrors)
			}
		})
	}
}

// The engine is shared by the intake's workers: evaluating the corpus from several goroutines must give each
// event the findings it gets alone (run with -race).
func TestEvaluateConcurrent(t *testing.T) {
	data, err := os.ReadFile("testdata/corpus.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	evs, err := DecodeEventLines(data)
	if err != nil {
		t.Fatal(err)
	}
	pack, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(pack, Env{Inventory: stoppedSMF()})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]int, len(evs))
	total := 0
	for i, ev := range evs {
		fs, err := e.Evaluate(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = len(fs)
		total += len(fs)
	}
	if total == 0 {
		t.Fatal("the corpus yields no findings")
	}
	errs := make(chan error, 4)
	for w := range 4 {
		go func() {
			for i := range evs {
				j := (i + w*50) % len(evs)
				fs, err := e.Evaluate(context.Background(), evs[j])
				if err == nil && len(fs) != want[j] {
					err = fmt.Errorf("event %d: %d findings, want %d", j, len(fs), want[j])
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if st := e.Stats(); st.Events != int64(5*len(evs)) || len(st.RuleErrors) != 0 {
		t.Errorf("stats %+v", st)
	}
}

// The pod state stays bounded however many host-takeover pods are created, and forgets the oldest first.
func TestPodStateBounded(t *testing.T) {
	rules := mustRules(t, "rules:\n  - id: r\n    condition: size(podHostTakeover()) > 0\n    severity: info\n")
	e, err := NewEngine(rules, Env{})
	if err != nil {
		t.Fatal(err)
	}
	create := func(name string) *auditv1.Event {
		body := `{"kind":"Pod","apiVersion":"v1","metadata":{"name":"` + name + `","namespace":"d"},"spec":{"hostPID":true}}`
		return &auditv1.Event{Stage: auditv1.StageResponseComplete, Verb: "create",
			ObjectRef: &auditv1.ObjectReference{Resource: "pods", Namespace: "d"}, RequestObject: &runtime.Unknown{Raw: []byte(body)}}
	}
	exec := func(name string) int {
		got, err := e.Evaluate(context.Background(), &auditv1.Event{Stage: auditv1.StageResponseComplete, Verb: "get",
			ObjectRef: &auditv1.ObjectReference{Resource: "pods", Namespace: "d", Name: name, Subresource: "exec"}})
		if err != nil {
			t.Fatal(err)
		}
		return len(got)
	}
	for i := range maxTrackedPods + 10 {
		if _, err := e.Evaluate(context.Background(), create(fmt.Sprint("p", i))); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.pods.pods.len(); n != maxTrackedPods {
		t.Errorf("%d pods tracked, want %d", n, maxTrackedPods)
	}
	if exec("p0") != 0 || exec(fmt.Sprint("p", maxTrackedPods+9)) != 1 {
		t.Error("want the oldest pod forgotten and the newest remembered")
	}
}
