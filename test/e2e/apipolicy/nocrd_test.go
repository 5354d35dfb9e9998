package apipolicy

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	admregv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/vnfguard/vnfguard/internal/apipolicy"
	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/lab"
)

// TestNoCRDNoLifecyclePolicies: on an API server that does not serve the lifecycle parameters' kind (the CRD was
// not installed), the keeper applies the policies that need no parameters and not the others, and says what to
// install. Applied, a policy with a missing parameter kind is misconfigured, and under failurePolicy Fail the API
// server refuses every request it matches: a benign pod is created, and the workloads policy still refuses a
// privileged one; the control applies the lifecycle policy anyway, and the same benign pod is refused.
func TestNoCRDNoLifecyclePolicies(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cp, err := lab.Start(ctx, lab.Options{BinDir: lab.DefaultBinDir(), WorkDir: filepath.Join(t.TempDir(), "lab"), Logger: logger, APIServerOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Stop()
	admin, _ := cp.ClientFor(lab.Admin)
	cfg, err := config.Parse([]byte(lab.ConfigYAML("unused.yaml")))
	if err != nil {
		t.Fatal(err)
	}
	set, err := apipolicy.Render(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = (&apipolicy.Keeper{Client: admin, Set: set}).Apply(ctx)
	if err == nil || !strings.Contains(err.Error(), "install the CRD") {
		t.Fatalf("Apply without the CRD: %v, want an error naming the CRD", err)
	}
	list, err := admin.AdmissionregistrationV1().ValidatingAdmissionPolicies().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var applied []string
	for _, p := range list.Items {
		applied = append(applied, p.Name)
		if p.Spec.ParamKind != nil {
			t.Errorf("policy %s with parameters applied without their CRD", p.Name)
		}
	}
	if !slices.Contains(applied, apipolicy.Prefix+"workloads") {
		t.Fatalf("applied %v: the workloads policy is missing", applied)
	}
	// The workloads policy takes effect (its privileged-pod refusal), then a benign pod must go through.
	if _, err := admin.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mallory, _ := cp.ClientFor(lab.Attacker)
	privileged := lab.RestrictedPodSpec("app", lab.ImageRef("5gc/upf"), []string{"/usr/bin/upf"})
	privileged.Containers[0].SecurityContext.Privileged = ptr.To(true)
	privileged.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr.To(true)
	// In a protected namespace too: with the parameters, the joint policy judges the workload twins there; without
	// them, the workloads policy must be bound there itself.
	const protected = "vnf-protected"
	if err := cp.EnsureNamespace(ctx, protected, map[string]string{"vnfguard.io/protected": "true"}); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"default", protected} {
		if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			_, err := mallory.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: ns}, Spec: privileged},
				metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			return lab.IsWebhookDenial(err) && strings.Contains(err.Error(), "[pod-security "), nil
		}); err != nil {
			t.Fatalf("the workloads policy never refused a privileged pod in namespace %s: %v", ns, err)
		}
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "benign", Namespace: "default"},
		Spec: lab.RestrictedPodSpec("app", lab.ImageRef("5gc/upf"), []string{"/usr/bin/upf"})}
	if _, err := admin.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Errorf("a benign pod is refused: %v", err)
	}

	// The danger is real: the lifecycle policy applied anyway makes the API server refuse that benign pod.
	var lifecycle apipolicy.Set
	for _, p := range set.Policies {
		if p.Name == apipolicy.Prefix+"lifecycle" {
			lifecycle.Policies = append(lifecycle.Policies, p)
			lifecycle.Bindings = append(lifecycle.Bindings, set.BindingsOf(p.Name)...)
		}
	}
	for _, obj := range []any{&lifecycle.Policies[0], &lifecycle.Bindings[0]} {
		data, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		req := admin.AdmissionregistrationV1().RESTClient().Patch(types.ApplyPatchType).Param("fieldManager", "test").Body(data)
		if p, ok := obj.(*admregv1.ValidatingAdmissionPolicy); ok {
			req = req.Resource("validatingadmissionpolicies").Name(p.Name)
		} else {
			req = req.Resource("validatingadmissionpolicybindings").Name(lifecycle.Bindings[0].Name)
		}
		if err := req.Do(ctx).Error(); err != nil {
			t.Fatalf("apply the lifecycle policy without its CRD: %v", err)
		}
	}
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := admin.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			t.Logf("with the lifecycle policy and no CRD, the benign pod: %v", err)
		}
		return err != nil && strings.Contains(err.Error(), apipolicy.Prefix+"lifecycle"), nil
	}); err != nil {
		t.Errorf("the lifecycle policy applied without its CRD did not refuse the benign pod (so the keeper's care would be moot): %v", err)
	}
}
