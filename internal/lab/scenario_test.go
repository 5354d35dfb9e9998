package lab

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/inventory/file"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// denialMessage is what the API server returned for the Peirates pod in a lab run (testdata holds it verbatim).
func denialMessage(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "denial-message.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

func statusError(code int32, msg string) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: code, Message: msg}}
}

func TestIsWebhookDenial(t *testing.T) {
	denial := denialMessage(t)
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"webhook denial", statusError(http.StatusForbidden, denial), true},
		{"rbac forbidden", apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "x", errors.New(`User "mallory" cannot create resource "pods"`)), false},
		{"webhook unreachable", statusError(http.StatusInternalServerError, `Internal error occurred: failed calling webhook "vnfguard": connection refused`), false},
		{"denial text outside a 403", statusError(http.StatusBadRequest, denial), false},
		{"controller event text", errors.New(denial), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsWebhookDenial(tt.err); got != tt.want {
				t.Errorf("IsWebhookDenial(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestClassifyExec(t *testing.T) {
	denial := denialMessage(t)
	tests := []struct {
		name      string
		err       error
		wantPast  bool // ErrPastAdmission: admission allowed it
		wantDenia bool
	}{
		{"upgrade required", apierrors.NewBadRequest("Upgrade request required"), true, false},
		{"no host", statusError(http.StatusBadRequest, `pod upf-1 does not have a host assigned`), true, false},
		{"kubelet unreachable", statusError(http.StatusInternalServerError, `error dialing backend: dial tcp 127.0.0.1:10250: connect: connection refused`), true, false},
		{"webhook denial", statusError(http.StatusForbidden, denial), false, true},
		{"rbac forbidden", apierrors.NewForbidden(schema.GroupResource{Resource: "pods/exec"}, "x", errors.New("no")), false, false},
		{"webhook call failed", statusError(http.StatusInternalServerError, `Internal error occurred: failed calling webhook "vnfguard": timeout`), false, false},
		{"2xx", nil, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classifyExec(tt.err)
			if errors.Is(got, ErrPastAdmission) != tt.wantPast {
				t.Errorf("classifyExec(%v) = %v; past admission = %v, want %v", tt.err, got, !tt.wantPast, tt.wantPast)
			}
			if IsWebhookDenial(got) != tt.wantDenia {
				t.Errorf("classifyExec(%v) = %v; denial = %v, want %v", tt.err, got, !tt.wantDenia, tt.wantDenia)
			}
		})
	}
}

func TestChecksOf(t *testing.T) {
	tests := []struct {
		msg  string
		want []string
	}{
		{denialMessage(t), []string{"host-takeover", "image-registry", "pod-security", "reverse-shell"}},
		{`vnfguard denied Pods/exec ns/p [lifecycle-access FGT1609.501] pods/exec: no`, []string{"lifecycle-access"}},
		{`vnfguard denied Pod ns/p [internal-error] could not decide`, []string{"internal-error"}},
		{`no tags at all`, nil},
	}
	for _, tt := range tests {
		if got := checksOf(tt.msg); !slices.Equal(got, tt.want) {
			t.Errorf("checksOf(%q) = %v, want %v", tt.msg, got, tt.want)
		}
	}
}

func TestJudge(t *testing.T) {
	denied := Step{Name: "exec", Identity: OpsAdmin, Expect: Denied, ExpectCheck: "lifecycle-access", Technique: finding.AccessingTerminatedVNF, Instance: UPF.InstanceID}
	good := finding.Finding{Rule: "lifecycle-access", Action: "denied", Technique: finding.AccessingTerminatedVNF, VNFInstance: UPF.InstanceID, Identity: OpsAdmin}
	wrongInstance := good
	wrongInstance.VNFInstance = "other"
	earlierSteps := good // an earlier step's finding of the same check, shown late by the store
	earlierSteps.Identity, earlierSteps.VNFInstance = Attacker, ""
	tests := []struct {
		name    string
		result  StepResult
		problem string // substring of the only expected problem; "" for none
	}{
		{"as expected", StepResult{Step: denied, Verdict: Denied, Checks: []string{"lifecycle-access"}, Findings: []finding.Finding{good}}, ""},
		{"an earlier step's finding first", StepResult{Step: denied, Verdict: Denied, Checks: []string{"lifecycle-access"}, Findings: []finding.Finding{earlierSteps, good}}, ""},
		{"allowed instead", StepResult{Step: denied, Verdict: Allowed, Findings: nil}, "expected denied, got allowed"},
		{"other check", StepResult{Step: denied, Verdict: Denied, Checks: []string{"pod-security"}, Findings: []finding.Finding{good}}, "expected check lifecycle-access"},
		{"no finding", StepResult{Step: denied, Verdict: Denied, Checks: []string{"lifecycle-access"}}, "no lifecycle-access denial finding"},
		{"finding names another instance", StepResult{Step: denied, Verdict: Denied, Checks: []string{"lifecycle-access"}, Findings: []finding.Finding{wrongInstance}}, `names VNF instance "other"`},
		{"benign step with a denial", StepResult{Step: Step{Name: "scale", Identity: VNFM, Expect: Allowed, Benign: true}, Verdict: Allowed, Findings: []finding.Finding{good}}, "benign step saw 1 denial"},
		{"break-glass without finding", StepResult{Step: Step{Name: "bg", Identity: BreakGlass, Expect: Allowed, BreakGlass: true}, Verdict: Allowed}, "no break-glass finding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := judge(&tt.result, true)
			if tt.problem == "" {
				if len(got) != 0 {
					t.Errorf("problems %q, want none", got)
				}
				return
			}
			if len(got) != 1 || !strings.Contains(got[0], tt.problem) {
				t.Errorf("problems %q, want exactly one containing %q", got, tt.problem)
			}
		})
	}
}

// The inventory the lab writes must be one vnfguard's file source reads, with the states the NFVO set.
func TestNFVOInventoryIsReadByTheFileSource(t *testing.T) {
	path := filepath.Join(t.TempDir(), "inventory.yaml")
	n := NewNFVO(path, UPF, UDR)
	n.Set(UPF, vnf.Instantiated, vnf.Stopped)
	version, err := n.Write()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := file.Version(data); got != version {
		t.Errorf("Write returned version %s, the file source computes %s", version, got)
	}
	snap, err := file.Load(path)
	if err != nil {
		t.Fatalf("the file source rejects the lab's inventory: %v\n%s", err, data)
	}
	upf, ok := snap.Instance(UPF.InstanceID)
	if !ok || upf.State() != string(vnf.Stopped) || upf.Namespace != UPF.Namespace {
		t.Fatalf("UPF instance = %+v, want STOPPED in %s", upf, UPF.Namespace)
	}
	if len(upf.DeclaredImages) == 0 || upf.DeclaredImages[0].Digest != ImageDigest(UPF.Repo) {
		t.Errorf("UPF declares images %+v, want digest %s", upf.DeclaredImages, ImageDigest(UPF.Repo))
	}
	udr, ok := snap.Instance(UDR.InstanceID)
	if !ok || udr.State() != string(vnf.NotInstantiated) || udr.Namespace != UDR.Namespace {
		t.Errorf("UDR instance = %+v, want NOT_INSTANTIATED in %s", udr, UDR.Namespace)
	}
}

func TestRenderTable(t *testing.T) {
	results := []StepResult{
		{Step: Step{Name: "Peirates pod", Identity: Attacker, Request: "create Pod lab-sandbox/peirates", Expect: Denied, ExpectCheck: "host-takeover", Technique: finding.MaliciousVNFInstantiation},
			Verdict: Denied, Checks: []string{"reverse-shell", "host-takeover", "pod-security"}, Message: denialMessage(t)},
		{Step: Step{Name: "scale out UPF", Identity: VNFM, Request: "update Deployment vnf-upf/upf/scale 2→3", Expect: Allowed, Benign: true}, Verdict: Allowed,
			Detail: "a detail nobody asked to see"},
		{Step: Step{Name: "exec", Identity: OpsAdmin, Request: "exec", Expect: Denied, ExpectCheck: "lifecycle-access"}, Verdict: Allowed,
			Problems: []string{"expected denied, got allowed"}},
		{Step: Step{Name: "break-glass exec", Identity: BreakGlass, Request: "exec", Expect: Allowed, BreakGlass: true, ShowDetail: true}, Verdict: Allowed,
			Detail: "printed break-glass-ok debug-target", Findings: []finding.Finding{{Rule: "break-glass"}}},
	}
	var b strings.Builder
	if err := RenderTable(&b, results); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"IDENTITY", "FIGHT",
		"host-takeover +2", "FGT5013", // the expected check first, its technique from the message
		"tacker-vnfm", "UNEXPECTED", "step 3 (exec): expected denied, got allowed",
		"4 steps, 3 as expected, 1 denied, 0 denials during the benign lifecycle",
		"break-glass (recorded)", "step 4 (break-glass exec): printed break-glass-ok debug-target",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "nobody asked") {
		t.Errorf("the table prints the detail of a step without ShowDetail:\n%s", out)
	}
}

func TestDefaultScenarioIsWellFormed(t *testing.T) {
	sc := DefaultScenario()
	known := map[string]bool{NFVOIdentity: true}
	for _, id := range Identities() {
		known[id] = true
	}
	var denied, benign int
	for i, st := range sc.Steps {
		if st.Name == "" || st.Request == "" || st.Action == nil || !known[st.Identity] {
			t.Errorf("step %d %+v: name, request, action and a known identity are required", i+1, st)
		}
		if st.Expect == Denied {
			denied++
			if st.ExpectCheck == "" || st.Technique == "" || st.Benign {
				t.Errorf("step %d %s: a denied step needs a check and a technique and cannot be benign", i+1, st.Name)
			}
		}
		if st.Benign {
			benign++
		}
	}
	if denied < 10 || benign < 10 {
		t.Errorf("%d attack and %d benign steps; the issue asks for more", denied, benign)
	}
}

// trickleObserver shows its findings one at a time, every 50 ms, as the store-backed observer of the in-cluster
// replicas can.
type trickleObserver struct {
	start time.Time
	all   []finding.Finding
}

func (o *trickleObserver) visible() int {
	return min(len(o.all), 1+int(time.Since(o.start)/(50*time.Millisecond)))
}
func (o *trickleObserver) WaitInventory(context.Context, string) error { return nil }
func (o *trickleObserver) Findings() []finding.Finding                 { return o.all[:o.visible()] }
func (o *trickleObserver) FindingCount() int                           { return o.visible() }
func (o *trickleObserver) WaitFindings(ctx context.Context, n int, timeout time.Duration) []finding.Finding {
	time.Sleep(10 * time.Millisecond)
	return o.Findings()[min(n, o.visible()):]
}

// A denial by two checks whose findings arrive one after the other: the step waits for the check it expects, not
// for the first denial of any check (the in-cluster CI failure "no lifecycle-data denial finding").
func TestCollectFindingsWaitsForTheExpectedCheck(t *testing.T) {
	all := []finding.Finding{
		{Rule: "vnf-instantiation", Action: "denied", Identity: "mallory"},
		{Rule: "lifecycle-data", Action: "denied", Identity: "tacker-vnfm"}, // an earlier step's, shown late
		{Rule: "image-registry", Action: "denied", Identity: "mallory"},
		{Rule: "lifecycle-data", Action: "denied", Identity: "mallory"},
	}
	got := collectFindings(t.Context(), &trickleObserver{start: time.Now(), all: all}, 0, "lifecycle-data", "mallory", false)
	if !slices.ContainsFunc(got, func(f finding.Finding) bool { return f.Rule == "lifecycle-data" && f.Identity == "mallory" }) {
		t.Errorf("collected %d findings without the step's own lifecycle-data denial", len(got))
	}
	got = collectFindings(t.Context(), &trickleObserver{start: time.Now(), all: all}, 0, anyDenial, "mallory", false)
	if len(got) == 0 || got[0].Rule != "vnf-instantiation" {
		t.Errorf("waiting for any denial collected %v", got)
	}
}
