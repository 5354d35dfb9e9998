package policy

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

func fakePod() *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "fake"}, Spec: cnfPodSpec()}
}

func TestModesWarnAndAudit(t *testing.T) {
	for _, tt := range []struct {
		mode, action string
		warnings     int
	}{{"warn", "warned", 1}, {"audit", "audited", 0}, {"enforce", "denied", 0}} {
		t.Run(tt.mode, func(t *testing.T) {
			env := newTestEnv(t, "checks: {vnf-instantiation: {mode: "+tt.mode+"}}\n")
			d := env.evaluator(t).Evaluate(context.Background(), podRequest(attacker, protectedNS, fakePod()))
			if d.Allowed != (tt.mode != "enforce") {
				t.Fatalf("allowed = %v in mode %s", d.Allowed, tt.mode)
			}
			if got := len(d.WarningTexts()); got != tt.warnings {
				t.Errorf("warnings = %d (%q), want %d", got, d.WarningTexts(), tt.warnings)
			}
			fs := d.Findings(time.Unix(0, 0))
			if len(fs) != 1 || fs[0].Action != tt.action || fs[0].Rule != "vnf-instantiation" || fs[0].Technique != finding.MaliciousVNFInstantiation {
				t.Fatalf("findings = %+v, want one %s vnf-instantiation finding", fs, tt.action)
			}
			if fs[0].Identity != "mallory" || fs[0].Object.Name != "fake" || fs[0].ID == "" {
				t.Errorf("finding lacks identity/object/id: %+v", fs[0])
			}
		})
	}
}

func TestBreakGlassFinding(t *testing.T) {
	env := newTestEnv(t, "")
	d := env.evaluator(t).Evaluate(context.Background(), connectRequest(breakGlassUser, protectedNS, "upf-pod", "exec"))
	fs := d.Findings(time.Now())
	if !d.Allowed || len(fs) != 1 || fs[0].Rule != "break-glass" || fs[0].VNFInstance != "upf-1" || fs[0].Action != "allowed" {
		t.Fatalf("want one allowed break-glass finding for upf-1, got allowed=%v %+v", d.Allowed, fs)
	}
}

func TestInventoryNotLoadedFailsClosed(t *testing.T) {
	env := newTestEnv(t, "")
	env.inv = vnf.Static{Snap: vnf.Empty("file:/etc/vnfguard/inventory.yaml")}
	d := env.evaluator(t).Evaluate(context.Background(), deploymentRequest(Create, vnfmUser, vnfmDeployment("upf", "upf-1", cnfPodSpec()), nil))
	if d.Allowed || !strings.Contains(d.Message(), "has not loaded yet") || !strings.Contains(d.Message(), "file:/etc/vnfguard/inventory.yaml") {
		t.Fatalf("want a fail-closed denial naming the inventory, got allowed=%v %q", d.Allowed, d.Message())
	}
}

type failingNamespaces struct{}

func (failingNamespaces) Labels(context.Context, string) (map[string]string, error) {
	return nil, errors.New("connection refused")
}

type failingObjects struct{}

func (failingObjects) Get(context.Context, string, string, string) (metav1.Object, error) {
	return nil, errors.New("etcdserver: request timed out")
}

func TestInternalErrorsFailClosedInProtectedNamespaces(t *testing.T) {
	for _, tt := range []struct {
		name    string
		ns      string
		allowed bool
	}{{"protected fails closed", protectedNS, false}, {"other fails open", "default", true}} {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, "")
			ev, err := New(Environment{Config: env.cfg, Inventory: env.inv, Objects: failingObjects{}})
			if err != nil {
				t.Fatal(err)
			}
			d := ev.Evaluate(context.Background(), connectRequest(opsAdmin, tt.ns, "some-pod", "exec"))
			if d.Allowed != tt.allowed || len(d.Errors) != 1 || !strings.Contains(d.Errors[0].Error(), "request timed out") {
				t.Fatalf("allowed=%v errors=%v, want allowed=%v and the lookup error", d.Allowed, d.Errors, tt.allowed)
			}
			fs := d.Findings(time.Now())
			if len(fs) != 1 || fs[0].Rule != "internal-error" {
				t.Errorf("want an internal-error finding, got %+v", fs)
			}
			if !tt.allowed && !strings.Contains(d.Message(), "fails closed") {
				t.Errorf("message %q does not explain the fail-closed denial", d.Message())
			}
		})
	}
	env := newTestEnv(t, "")
	ev, _ := New(Environment{Config: env.cfg, Inventory: env.inv, Objects: env.objs, Namespaces: failingNamespaces{}})
	if d := ev.Evaluate(context.Background(), podRequest(vnfmUser, protectedNS, fakePod())); d.Allowed {
		t.Errorf("a namespace lookup failure in a protected namespace must deny")
	}
}

func TestUnknownCheckInConfig(t *testing.T) {
	env := newTestEnv(t, "checks: {no-such-check: {mode: warn}}\n")
	_, err := New(Environment{Config: env.cfg, Inventory: env.inv})
	if err == nil || !strings.Contains(err.Error(), "checks.no-such-check: no such check") || !strings.Contains(err.Error(), "lifecycle-access") {
		t.Fatalf("want an error naming the unknown check and listing the known ones, got %v", err)
	}
}

type panickyCheck struct{}

func (panickyCheck) ID() string            { return "panicky" }
func (panickyCheck) Technique() string     { return "" }
func (panickyCheck) Mitigations() []string { return nil }
func (panickyCheck) Evaluate(context.Context, *Attributes, []Violation) ([]Violation, error) {
	panic("a bug in a check")
}

func TestPanickingCheckIsAnInternalError(t *testing.T) {
	env := newTestEnv(t, "")
	ev := env.evaluator(t)
	ev.checks = append(ev.checks, panickyCheck{})
	ev.modes = append(ev.modes, "enforce")
	d := ev.Evaluate(context.Background(), podRequest(vnfmUser, protectedNS, fakePod()))
	if d.Allowed || len(d.Errors) == 0 || !strings.Contains(d.Errors[0].Error(), "panicked") {
		t.Fatalf("want a fail-closed internal error for the panic, got allowed=%v errors=%v", d.Allowed, d.Errors)
	}
}
