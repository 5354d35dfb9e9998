package policyreport

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/vnfguard/vnfguard/internal/lab"
	"github.com/vnfguard/vnfguard/internal/policyreport"
)

const protected = "vnf-upf"

// scanFinding is what the test reads of `scan -o json`.
type scanFinding struct {
	Rule     string `json:"rule"`
	Resolved string `json:"resolved"`
	Object   struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"object"`
}

func TestScanPublishesPolicyReports(t *testing.T) {
	dir := t.TempDir()
	binary, err := lab.PrepareE2E(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cp := lab.StartForTest(t, 4*time.Minute)
	for _, ns := range []string{lab.Sandbox, protected} {
		if err := cp.EnsureNamespace(ctx, ns, nil); err != nil {
			t.Fatal(err)
		}
	}
	admin, adminCfg := cp.ClientFor(lab.Admin)
	dyn, err := dynamic.NewForConfig(adminCfg)
	if err != nil {
		t.Fatal(err)
	}
	// A Peirates pod in the protected namespace (no vnfguard registered: it is admitted and stays).
	if _, err := admin.CoreV1().Pods(protected).Create(ctx, lab.PeiratesPod(protected, "peirates"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	configPath := filepath.Join(dir, "vnfguard.yaml")
	if err := os.WriteFile(configPath, []byte("apiVersion: vnfguard.io/v1alpha1\nkind: Config\nprotectedNamespaces: {names: ["+protected+"]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	scan := func() (map[string][]scanFinding, string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, binary, "scan", "--kubeconfig", cp.Kubeconfig(lab.Admin), "--config", configPath,
			"--policy-reports", "--fail-on", "none", "-o", "json")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("vnfguard scan --policy-reports: %v\n%s", err, stderr.String())
		}
		var doc struct {
			Findings []scanFinding `json:"findings"`
		}
		if err := json.Unmarshal(out, &doc); err != nil {
			t.Fatalf("scan -o json: %v", err)
		}
		byNS := map[string][]scanFinding{}
		for _, f := range doc.Findings {
			byNS[f.Object.Namespace] = append(byNS[f.Object.Namespace], f)
		}
		return byNS, stderr.String()
	}

	// No CRDs: said once, not a failure.
	if _, stderr := scan(); !strings.Contains(stderr, "no wgpolicyk8s.io/v1alpha2 CRDs") {
		t.Errorf("scan on a cluster without the CRDs says %q; want it to say the CRDs are missing", stderr)
	}
	installCRDs(t, ctx, dyn)
	// Another tool's report in the same namespace, labelled as its own: vnfguard must never touch it.
	foreign := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": "PolicyReport",
		"metadata": map[string]any{"name": "kyverno-pod-security", "namespace": protected, "labels": map[string]any{"app.kubernetes.io/managed-by": "kyverno"}},
		"summary":  map[string]any{"fail": 1},
		"results":  []any{map[string]any{"policy": "disallow-host-path", "result": "fail", "severity": "high", "source": "kyverno"}},
	}}
	if _, err := dyn.Resource(policyreport.PolicyReports).Namespace(protected).Create(ctx, foreign, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	byNS, _ := scan()
	if len(byNS[protected]) == 0 || !slices.ContainsFunc(byNS[protected], func(f scanFinding) bool { return f.Object.Name == "peirates" }) {
		t.Fatalf("the scan reports nothing about the Peirates pod in %s: %v", protected, byNS[protected])
	}
	reports := checkReports(t, ctx, dyn, byNS)
	upf := reports[protected]
	if !resultsName(upf, "peirates") {
		t.Errorf("the %s report has no result about the Peirates pod", protected)
	}
	// The same findings again: the reports are not rewritten.
	scan()
	again := checkReports(t, ctx, dyn, byNS)
	for ns, r := range reports {
		if again[ns].GetResourceVersion() != r.GetResourceVersion() {
			t.Errorf("report of %q rewritten by a rescan that found the same (resourceVersion %s -> %s)", ns, r.GetResourceVersion(), again[ns].GetResourceVersion())
		}
	}

	// The Peirates pod removed: the protected namespace's report loses its results (or goes, if none are left).
	if err := admin.CoreV1().Pods(protected).Delete(ctx, "peirates", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	byNS, _ = scan()
	after := checkReports(t, ctx, dyn, byNS)
	if r, ok := after[protected]; ok && resultsName(r, "peirates") {
		t.Errorf("the %s report still names the deleted Peirates pod", protected)
	}
	if _, err := dyn.Resource(policyreport.PolicyReports).Namespace(protected).Get(ctx, "kyverno-pod-security", metav1.GetOptions{}); err != nil {
		t.Errorf("another tool's report was touched: %v", err)
	}
}

// checkReports asserts that vnfguard's posture reports are exactly the scan's findings per namespace (the
// ClusterPolicyReport for cluster-scoped objects) and returns them by namespace.
func checkReports(t *testing.T, ctx context.Context, dyn dynamic.Interface, byNS map[string][]scanFinding) map[string]*unstructured.Unstructured {
	t.Helper()
	selector := metav1.ListOptions{LabelSelector: policyreport.SourceLabel + "=posture"}
	got := map[string]*unstructured.Unstructured{}
	for _, gvr := range []schema.GroupVersionResource{policyreport.PolicyReports, policyreport.ClusterPolicyReports} {
		list, err := dyn.Resource(gvr).List(ctx, selector)
		if err != nil {
			t.Fatal(err)
		}
		for i := range list.Items {
			got[list.Items[i].GetNamespace()] = &list.Items[i]
		}
	}
	for ns, fs := range byNS {
		r, ok := got[ns]
		if !ok {
			t.Errorf("no vnfguard-posture report for namespace %q, which has %d findings", ns, len(fs))
			continue
		}
		results, _, _ := unstructured.NestedSlice(r.Object, "results")
		if len(results) != len(fs) {
			t.Errorf("report of %q holds %d results, the scan found %d", ns, len(results), len(fs))
		}
		summary, _, _ := unstructured.NestedMap(r.Object, "summary")
		fail, _ := summary["fail"].(int64)
		warn, _ := summary["warn"].(int64)
		if int(fail+warn) != len(fs) {
			t.Errorf("report of %q: summary %v does not add up to its %d results", ns, summary, len(fs))
		}
	}
	for ns := range got {
		if _, ok := byNS[ns]; !ok {
			t.Errorf("a vnfguard-posture report remains for namespace %q, where the scan found nothing", ns)
		}
	}
	return got
}

func resultsName(r *unstructured.Unstructured, name string) bool {
	results, _, _ := unstructured.NestedSlice(r.Object, "results")
	for _, it := range results {
		res, _ := it.(map[string]any)["resources"].([]any)
		for _, ref := range res {
			if ref.(map[string]any)["name"] == name {
				return true
			}
		}
	}
	return false
}

func installCRDs(t *testing.T, ctx context.Context, dyn dynamic.Interface) {
	t.Helper()
	data, err := os.ReadFile("testdata/crds.yaml")
	if err != nil {
		t.Fatal(err)
	}
	crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatal(err)
		}
		if _, err := dyn.Resource(crds).Create(ctx, &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Served once established: list until both answer.
	deadline := time.Now().Add(30 * time.Second)
	for _, gvr := range []schema.GroupVersionResource{policyreport.PolicyReports, policyreport.ClusterPolicyReports} {
		for {
			if _, err := dyn.Resource(gvr).List(ctx, metav1.ListOptions{}); err == nil {
				break
			} else if time.Now().After(deadline) {
				t.Fatalf("%s not served: %v", gvr.Resource, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}
