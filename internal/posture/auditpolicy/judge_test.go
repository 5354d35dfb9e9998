package auditpolicy

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/apis/audit"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/vnfguard/vnfguard/internal/detect"
	"github.com/vnfguard/vnfguard/internal/finding"
)

var now = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

// allRules are the built-in rules and the Pending entries, as Judge sees loaded rules.
func allRules(t *testing.T) []RuleInfo {
	t.Helper()
	var out []RuleInfo
	seen := map[string]bool{}
	for _, r := range builtinRules(t) {
		out = append(out, RuleInfo{ID: r.ID, Severity: r.Severity, Technique: r.Technique})
		seen[r.ID] = true
	}
	for _, n := range Needs() {
		if !seen[n.Rule] {
			out = append(out, RuleInfo{ID: n.Rule, Severity: finding.High, Technique: finding.AccessingTerminatedVNF})
		}
	}
	return out
}

// withFirstRule is the recommended policy with one rule put before all others (the first match decides), and the
// line the inserted rule starts on.
func withFirstRule(t *testing.T, rule string) ([]byte, int) {
	t.Helper()
	text := string(Recommended())
	i := strings.Index(text, "\nrules:\n")
	if i < 0 {
		t.Fatal("recommended.yaml has no top-level rules:")
	}
	i += len("\nrules:\n")
	line := strings.Count(text[:i], "\n") + 1
	return []byte(text[:i] + rule + text[i:]), line
}

func judge(t *testing.T, name string, data []byte) map[string]finding.Finding {
	t.Helper()
	p, err := Parse(name, data)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]finding.Finding{}
	for _, f := range Judge(p, allRules(t), now) {
		if f.Rule != RuleStarves || f.Source != "posture" || f.Object.Kind != "Policy" || f.Evidence["file"] != name {
			t.Errorf("finding not shaped like a posture finding about the policy file: %+v", f)
		}
		out[f.Evidence["starvedRule"]] = f
	}
	return out
}

func starved(got map[string]finding.Finding) []string {
	var ids []string
	for id := range got {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func TestRecommendedStarvesNoRule(t *testing.T) {
	if got := judge(t, RecommendedFile, Recommended()); len(got) > 0 {
		for id, f := range got {
			t.Errorf("the recommended policy starves %s: %s; gaps: %s", id, f.Message, f.Evidence["gaps"])
		}
	}
	p := RecommendedPolicy()
	for _, n := range Needs() { // Pending entries included
		if gaps := p.Gaps(n); len(gaps) > 0 {
			t.Errorf("the recommended policy starves %s: %s", n.Rule, gaps[0])
		}
	}
}

func TestMetadataBindingsStarveBindingRules(t *testing.T) {
	data, line := withFirstRule(t, `  - level: Metadata
    resources:
      - group: rbac.authorization.k8s.io
        resources: ["roles", "clusterroles", "rolebindings", "clusterrolebindings"]
`)
	got := judge(t, "rbac-metadata.yaml", data)
	if want := []string{"rbac-dangerous-grant", "rbac-powerful-binding"}; !slices.Equal(starved(got), want) {
		t.Fatalf("starved %v, want %v", starved(got), want)
	}
	f := got["rbac-powerful-binding"]
	if f.Evidence["line"] != strconv.Itoa(line) || !strings.Contains(f.Evidence["gives"], "Metadata (rules[0])") ||
		!strings.HasPrefix(f.Evidence["needs"], "Request at stage ResponseComplete for create rbac.authorization.k8s.io/rolebindings") ||
		!strings.Contains(f.Evidence["why"], "subjects") {
		t.Errorf("evidence does not say what the rule needs, what it gets and where (line %d): %v", line, f.Evidence)
	}
	if !strings.Contains(f.Message, "rbac-powerful-binding") || !strings.Contains(f.Message, "rbac-metadata.yaml:"+strconv.Itoa(line)) {
		t.Errorf("message: %s", f.Message)
	}
	if f.Severity != finding.Medium || f.Technique != finding.MaliciousVNFInstantiation || !slices.Equal(f.Mitigations, []string{finding.MitigationAudit}) {
		t.Errorf("severity %s technique %s mitigations %v", f.Severity, f.Technique, f.Mitigations)
	}
}

// sessionRules are the rules that report a session into a pod when it opens, and the node-exec rules that must
// find the audited exec while the session is open.
var sessionRules = []string{"break-glass-exec", "exec-any-pod", "exec-bypassed-api-server", "exec-bypassed-api-server-dormant-vnf",
	"exec-dormant-vnf", "exec-host-takeover-pod", "exec-protected-namespace", "exec-running-vnf", "exec-sensitive-command"}

func TestNoResponseStartedForExecStarvesSessionRules(t *testing.T) {
	data, line := withFirstRule(t, `  - level: Request
    omitStages: ["ResponseStarted"]
    resources:
      - group: ""
        resources: ["pods/exec"]
`)
	got := judge(t, "exec-late.yaml", data)
	if !slices.Equal(starved(got), sessionRules) {
		t.Fatalf("starved %v, want %v", starved(got), sessionRules)
	}
	f := got["exec-dormant-vnf"]
	if f.Evidence["line"] != strconv.Itoa(line+1) || !strings.Contains(f.Evidence["gives"], "Request but omits stage ResponseStarted") {
		t.Errorf("want the rule's omitStages line %d and the omitted stage named: %v", line+1, f.Evidence)
	}
	if f.Severity != finding.High { // exec-dormant-vnf is critical: the attack it reports goes unseen
		t.Errorf("severity %s, want high", f.Severity)
	}

	// The same stage omitted for the whole policy points at the policy's omitStages.
	text := strings.Replace(string(Recommended()), `omitStages: ["RequestReceived"]`, `omitStages: ["RequestReceived", "ResponseStarted"]`, 1)
	got = judge(t, "no-started.yaml", []byte(text))
	want := append(slices.Clone(sessionRules), "nodes-proxy-exec")
	slices.Sort(want)
	if !slices.Equal(starved(got), want) {
		t.Errorf("starved %v, want %v", starved(got), want)
	}
	omitLine := strings.Count(text[:strings.Index(text, "\nomitStages:")+1], "\n") + 1
	if f := got["exec-running-vnf"]; f.Evidence["line"] != strconv.Itoa(omitLine) {
		t.Errorf("line %s, want the policy's omitStages at %d", f.Evidence["line"], omitLine)
	}
}

func TestSecretsAtNoneStarveSecretRules(t *testing.T) {
	data, _ := withFirstRule(t, `  - level: None
    resources:
      - group: ""
        resources: ["secrets"]
`)
	got := judge(t, "secrets-none.yaml", data)
	want := []string{"anonymous-allowed", "read-dormant-vnf-data", "secret-dumping", "secret-read-across-namespaces", "serviceaccount-token-from-outside"}
	if !slices.Equal(starved(got), want) {
		t.Fatalf("starved %v, want %v", starved(got), want)
	}
	if f := got["read-dormant-vnf-data"]; !strings.Contains(f.Evidence["gives"], "None (rules[0])") || !strings.Contains(f.Evidence["needs"], "secrets") {
		t.Errorf("evidence: %v", f.Evidence)
	}
}

// The policy the lab and the chart shipped before logged RBAC at Metadata (so the binding and grant rules never
// saw a subject) and workload patches at Request (so the workload rules never saw the spec a patch leaves).
func TestLabPolicyBeforeStarvedRules(t *testing.T) {
	data, err := os.ReadFile("testdata/lab-before.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got := judge(t, "testdata/lab-before.yaml", data)
	want := []string{"anonymous-allowed", "dangerous-capability-pod", "host-network-pod", "host-takeover-pod", "rbac-dangerous-grant",
		"rbac-powerful-binding", "reverse-shell-pod", "root-user-pod"}
	if !slices.Equal(starved(got), want) {
		t.Errorf("starved %v, want %v", starved(got), want)
	}
}

func TestNoMatchingRuleMeansNone(t *testing.T) {
	p, err := Parse("leases.yaml", []byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n  resources:\n  - group: coordination.k8s.io\n    resources: [leases]\n"))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := NeedOf("rbac-powerful-binding")
	gaps := p.Gaps(n)
	if len(gaps) == 0 || gaps[0].PolicyRule != -1 || gaps[0].Level != audit.LevelNone || gaps[0].Line != 0 ||
		!strings.Contains(gaps[0].gives(), "no rule matches") {
		t.Errorf("gaps %+v", gaps)
	}
}

// A service account's requests quieted by group starve the rules about stolen tokens, not those about users.
func TestServiceAccountsQuieted(t *testing.T) {
	data, _ := withFirstRule(t, `  - level: None
    userGroups: ["system:serviceaccounts"]
`)
	got := judge(t, "sa-none.yaml", data)
	if _, ok := got["serviceaccount-token-from-outside"]; !ok {
		t.Errorf("starved %v: want serviceaccount-token-from-outside", starved(got))
	}
	if _, ok := got["anonymous-allowed"]; ok {
		t.Errorf("anonymous-allowed starved by a rule about service accounts")
	}
	if f := got["exec-running-vnf"]; !strings.Contains(f.Evidence["needs"], "system:serviceaccount:") {
		t.Errorf("evidence should name the service account whose requests go unlogged: %v", f.Evidence)
	}
}

func TestUnknownRuleIsReportedUnjudged(t *testing.T) {
	fs := Judge(RecommendedPolicy(), []RuleInfo{{ID: "my-own-rule", Severity: finding.High}}, now)
	if len(fs) != 1 || fs[0].Severity != finding.Info || !strings.Contains(fs[0].Message, "my-own-rule") {
		t.Errorf("findings %+v", fs)
	}
	if fs := Judge(RecommendedPolicy(), nil, now); len(fs) != 0 {
		t.Errorf("no rules loaded: %+v", fs)
	}
}

// The rule index found with one-rule policies is the rule kube-apiserver's evaluator applies: same level.
func TestMatchedRuleIsTheEvaluatorsChoice(t *testing.T) {
	for _, file := range []string{"testdata/lab-before.yaml", "recommended.yaml"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Parse(file, data)
		if err != nil {
			t.Fatal(err)
		}
		e := newEvaluator(p)
		for _, n := range Needs() {
			for _, req := range n.Requirements {
				for _, a := range probes(req) {
					cfg, idx := e.evaluate(a)
					want := audit.LevelNone
					if idx >= 0 {
						want = p.policy.Rules[idx].Level
					}
					if cfg.Level != want {
						t.Fatalf("%s: %v: evaluator gives %s, rules[%d] says %s", file, a, cfg.Level, idx, want)
					}
				}
			}
		}
	}
}

// What the policy gives is what the engine sees: a binding of cluster-admin logged at the level the policy gives
// fires rbac-powerful-binding under the recommended policy and not under one that logs RBAC at Metadata.
func TestEngineSeesWhatThePolicyGives(t *testing.T) {
	binding := `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"pwn"},` +
		`"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cluster-admin"},` +
		`"subjects":[{"kind":"User","name":"mallory"}]}`
	ev := auditv1.Event{
		Level: auditv1.LevelRequestResponse, AuditID: "a1", Stage: auditv1.StageResponseComplete, Verb: "create",
		RequestURI:    "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
		ObjectRef:     &auditv1.ObjectReference{Resource: "clusterrolebindings", APIGroup: "rbac.authorization.k8s.io", APIVersion: "v1"},
		RequestObject: &runtime.Unknown{Raw: []byte(binding)}, ResponseObject: &runtime.Unknown{Raw: []byte(binding)},
	}
	ev.User.Username = "mallory"
	ev.ResponseStatus = &metav1.Status{Code: 201}

	rules := builtinRules(t)
	metadataRBAC, _ := withFirstRule(t, "  - level: Metadata\n    resources:\n      - group: rbac.authorization.k8s.io\n")
	for _, tt := range []struct {
		name string
		data []byte
		want bool
	}{{"recommended", Recommended(), true}, {"rbac at Metadata", metadataRBAC, false}} {
		p, err := Parse(tt.name, tt.data)
		if err != nil {
			t.Fatal(err)
		}
		cfg, _ := newEvaluator(p).evaluate(authorizer.AttributesRecord{User: probeUser, Verb: "create", APIGroup: "rbac.authorization.k8s.io",
			APIVersion: "v1", Resource: "clusterrolebindings", ResourceRequest: true})
		logged := ev.DeepCopy()
		switch cfg.Level {
		case audit.LevelNone:
			t.Fatalf("%s: the binding is not logged at all", tt.name)
		case audit.LevelMetadata:
			logged.RequestObject, logged.ResponseObject = nil, nil
		case audit.LevelRequest:
			logged.ResponseObject = nil
		}
		logged.Level = auditv1.Level(cfg.Level)
		e, err := detect.NewEngine(rules, detect.Env{})
		if err != nil {
			t.Fatal(err)
		}
		fs, err := e.Evaluate(context.Background(), logged)
		if err != nil {
			t.Fatal(err)
		}
		fired := slices.ContainsFunc(fs, func(f finding.Finding) bool { return f.Rule == "rbac-powerful-binding" })
		if fired != tt.want {
			t.Errorf("%s (level %s): rbac-powerful-binding fired %v, want %v", tt.name, cfg.Level, fired, tt.want)
		}
	}
}

// Quieting kube-system's service accounts (a common way to cut volume) hides the pod creates of the controllers,
// and with them what ties a pod to its VNF instance once the cluster no longer shows it.
func TestControllersQuietedStarveLifecycleRules(t *testing.T) {
	data, _ := withFirstRule(t, `  - level: None
    userGroups: ["system:serviceaccounts:kube-system"]
`)
	got := judge(t, "controllers-none.yaml", data)
	want := []string{"break-glass-exec", "exec-dormant-vnf", "exec-protected-namespace", "exec-running-vnf", "kubelet-read-dormant-vnf-logs", "read-dormant-vnf-data"}
	if !slices.Equal(starved(got), want) {
		t.Fatalf("starved %v, want %v", starved(got), want)
	}
	if f := got["exec-dormant-vnf"]; !strings.Contains(f.Message, "by system:serviceaccount:kube-system:replicaset-controller") {
		t.Errorf("message should name the controller whose pod creates go unlogged: %s", f.Message)
	}
}
