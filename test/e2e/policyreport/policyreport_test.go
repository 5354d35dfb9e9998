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

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/vnfguard/vnfguard/internal/lab"
	"github.com/vnfguard/vnfguard/internal/policyreport"
)

const protected = "vnf-upf"

// The published CRDs the test installs: Kyverno's wgpolicyk8s.io ones (its module is not a dependency of
// vnfguard's: `go mod download` fetches it into the module cache) and openreports.io's (a dependency: vnfguard
// writes its Go types).
const (
	kyvernoModule = "github.com/kyverno/kyverno@v1.19.1"
	reportsModule = "github.com/openreports/reports-api"
)

var (
	kyvernoCRDs = []string{"config/crds/policyreport/wgpolicyk8s.io_policyreports.yaml", "config/crds/policyreport/wgpolicyk8s.io_clusterpolicyreports.yaml"}
	reportsCRDs = []string{"config/crd/openreports.io_reports.yaml", "config/crd/openreports.io_clusterreports.yaml"}
)

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// scanFinding is what the test reads of `scan -o json`.
type scanFinding struct {
	Rule   string `json:"rule"`
	Object struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"object"`
}

// The reports through the cluster's generations of the report API: none, Kyverno's wgpolicyk8s.io CRDs only, both
// (openreports.io added), a choice by name, and openreports.io's only (wgpolicyk8s.io removed).
func TestScanPublishesPolicyReports(t *testing.T) {
	// The CRDs first: a test that cannot find them fails before it starts a control plane.
	kyverno := crdFiles(t, kyvernoDir(t), kyvernoCRDs)
	reports := crdFiles(t, reportsDir(t), reportsCRDs)

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
	disco, err := discovery.NewDiscoveryClientForConfig(adminCfg)
	if err != nil {
		t.Fatal(err)
	}
	// A Peirates pod in the protected namespace (no vnfguard registered: it is admitted and stays).
	peirates := func() {
		t.Helper()
		if _, err := admin.CoreV1().Pods(protected).Create(ctx, lab.PeiratesPod(protected, "peirates"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	peirates()
	configPath := filepath.Join(dir, "vnfguard.yaml")
	if err := os.WriteFile(configPath, []byte("apiVersion: vnfguard.io/v1alpha1\nkind: Config\nprotectedNamespaces: {names: ["+protected+"]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	scan := func(extra ...string) (map[string][]scanFinding, string, error) {
		t.Helper()
		args := append([]string{"scan", "--kubeconfig", cp.Kubeconfig(lab.Admin), "--config", configPath,
			"--policy-reports", "--fail-on", "none", "-o", "json"}, extra...)
		cmd := exec.CommandContext(ctx, binary, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, stderr.String(), err
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
		return byNS, stderr.String(), nil
	}
	mustScan := func(extra ...string) map[string][]scanFinding {
		t.Helper()
		byNS, stderr, err := scan(extra...)
		if err != nil {
			t.Fatalf("vnfguard scan --policy-reports %s: %v\n%s", strings.Join(extra, " "), err, stderr)
		}
		return byNS
	}

	// No CRDs: auto says so, naming both APIs, and the scan succeeds; an API chosen by name fails the scan.
	if _, stderr, err := scan(); err != nil || !strings.Contains(stderr, "serves neither wgpolicyk8s.io/v1alpha2 (PolicyReport, ClusterPolicyReport) nor openreports.io/v1alpha1 (Report, ClusterReport)") {
		t.Errorf("scan on a cluster without the CRDs: %v, says %q; want success and the CRDs said missing", err, stderr)
	}
	if _, stderr, err := scan("--policy-report-api", "openreports"); err == nil || !strings.Contains(stderr, "--policy-report-api openreports: the cluster does not serve openreports.io/v1alpha1") {
		t.Errorf("scan --policy-report-api openreports without its CRDs: %v, says %q; want a failure naming the API", err, stderr)
	}

	// Kyverno's wgpolicyk8s.io CRDs only, and a report of Kyverno's in the protected namespace.
	installCRDs(t, ctx, dyn, disco, kyverno, policyreport.WGPolicy)
	createForeign(t, ctx, dyn, policyreport.WGPolicy)
	byNS := mustScan()
	if !slices.ContainsFunc(byNS[protected], func(f scanFinding) bool { return f.Object.Name == "peirates" }) {
		t.Fatalf("the scan reports nothing about the Peirates pod in %s: %v", protected, byNS[protected])
	}
	wg := checkReports(t, ctx, dyn, policyreport.WGPolicy, byNS)
	if !resultsName(wg[protected], "peirates") {
		t.Errorf("the %s PolicyReport has no result about the Peirates pod", protected)
	}
	checkNone(t, ctx, dyn, policyreport.OpenReports)
	// The same findings again: the reports are not rewritten.
	mustScan()
	sameVersions(t, wg, checkReports(t, ctx, dyn, policyreport.WGPolicy, byNS))

	// openreports.io installed beside: the reports land there too, and the wgpolicyk8s.io ones are not rewritten.
	installCRDs(t, ctx, dyn, disco, reports, policyreport.OpenReports)
	createForeign(t, ctx, dyn, policyreport.OpenReports)
	mustScan()
	sameVersions(t, wg, checkReports(t, ctx, dyn, policyreport.WGPolicy, byNS))
	or := checkReports(t, ctx, dyn, policyreport.OpenReports, byNS)
	if !resultsName(or[protected], "peirates") {
		t.Errorf("the %s Report has no result about the Peirates pod", protected)
	}
	mustScan()
	sameVersions(t, or, checkReports(t, ctx, dyn, policyreport.OpenReports, byNS))

	// The Peirates pod removed: the protected namespace's reports lose its results (or go, if none are left), in
	// both APIs; Kyverno's reports stay.
	if err := admin.CoreV1().Pods(protected).Delete(ctx, "peirates", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	byNS = mustScan()
	for _, api := range policyreport.APIs {
		if r, ok := checkReports(t, ctx, dyn, api, byNS)[protected]; ok && resultsName(r, "peirates") {
			t.Errorf("the %s %s report still names the deleted Peirates pod", api, protected)
		}
		checkForeign(t, ctx, dyn, api)
	}

	// openreports.io chosen by name while both are served: vnfguard's wgpolicyk8s.io reports go, Kyverno's stay.
	or = checkReports(t, ctx, dyn, policyreport.OpenReports, byNS)
	mustScan("--policy-report-api", "openreports")
	checkNone(t, ctx, dyn, policyreport.WGPolicy)
	checkForeign(t, ctx, dyn, policyreport.WGPolicy)
	sameVersions(t, or, checkReports(t, ctx, dyn, policyreport.OpenReports, byNS))

	// openreports.io's CRDs only: auto writes there, and the Peirates pod is back in its report.
	removeCRDs(t, ctx, disco, dyn, kyverno, policyreport.WGPolicy)
	peirates()
	byNS = mustScan()
	if r := checkReports(t, ctx, dyn, policyreport.OpenReports, byNS)[protected]; r == nil || !resultsName(r, "peirates") {
		t.Errorf("with only openreports.io served, the %s Report has no result about the Peirates pod", protected)
	}
	checkForeign(t, ctx, dyn, policyreport.OpenReports)
}

// kyvernoDir is where `go mod download` puts Kyverno's module.
func kyvernoDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", kyvernoModule).Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); err != nil || jerr != nil || info.Dir == "" {
		t.Fatalf("cannot locate Kyverno's wgpolicyk8s.io CRDs: `go mod download -json %s` (the Go module proxy, or a module cache that holds it, is needed): %v %s\n%s",
			kyvernoModule, err, info.Error, stderrOf(err))
	}
	return info.Dir
}

// reportsDir is the directory of the openreports.io module vnfguard builds with.
func reportsDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", reportsModule).Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		t.Fatalf("cannot locate the openreports.io CRDs: `go list -m -f {{.Dir}} %s` said %q: %v\n%s (go mod download %s fetches it)",
			reportsModule, dir, err, stderrOf(err), reportsModule)
	}
	return dir
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

func crdFiles(t *testing.T, dir string, files []string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatalf("the published CRD %s: %v", f, err)
		}
		for _, doc := range strings.Split(string(data), "\n---\n") {
			if strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(doc), "---")) == "" {
				continue
			}
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			out = append(out, &unstructured.Unstructured{Object: obj})
		}
	}
	return out
}

// installCRDs creates the CRDs and waits until discovery serves api (vnfguard asks discovery, not a list).
func installCRDs(t *testing.T, ctx context.Context, dyn dynamic.Interface, disco discovery.DiscoveryInterface, crds []*unstructured.Unstructured, api policyreport.API) {
	t.Helper()
	for _, crd := range crds {
		if _, err := dyn.Resource(crdResource).Create(ctx, crd.DeepCopy(), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitServed(t, ctx, disco, api, true)
}

func removeCRDs(t *testing.T, ctx context.Context, disco discovery.DiscoveryInterface, dyn dynamic.Interface, crds []*unstructured.Unstructured, api policyreport.API) {
	t.Helper()
	for _, crd := range crds {
		if err := dyn.Resource(crdResource).Delete(ctx, crd.GetName(), metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitServed(t, ctx, disco, api, false)
}

func waitServed(t *testing.T, ctx context.Context, disco discovery.DiscoveryInterface, api policyreport.API, want bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		served, err := policyreport.Served(disco)
		is := slices.ContainsFunc(served, func(a policyreport.API) bool { return a.Name == api.Name })
		if err == nil && is == want {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("%s served %v, want %v: %v", api, is, want, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// createForeign writes a report of Kyverno's in the protected namespace: vnfguard must never touch it.
func createForeign(t *testing.T, ctx context.Context, dyn dynamic.Interface, api policyreport.API) {
	t.Helper()
	foreign := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": api.GroupVersion.String(), "kind": api.Kind,
		"metadata": map[string]any{"name": "kyverno-pod-security", "namespace": protected, "labels": map[string]any{"app.kubernetes.io/managed-by": "kyverno"}},
		"summary":  map[string]any{"fail": int64(1)},
		"results": []any{map[string]any{"policy": "disallow-host-path", "result": "fail", "severity": "high", "source": "kyverno",
			"timestamp": map[string]any{"seconds": time.Now().Unix(), "nanos": int64(0)}}},
	}}
	if _, err := dyn.Resource(api.Resource).Namespace(protected).Create(ctx, foreign, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func checkForeign(t *testing.T, ctx context.Context, dyn dynamic.Interface, api policyreport.API) {
	t.Helper()
	got, err := dyn.Resource(api.Resource).Namespace(protected).Get(ctx, "kyverno-pod-security", metav1.GetOptions{})
	if err != nil {
		t.Errorf("Kyverno's %s report was touched: %v", api, err)
		return
	}
	if got.GetGeneration() != 1 || len(got.GetManagedFields()) != 1 {
		t.Errorf("Kyverno's %s report was written again: generation %d, managers %v", api, got.GetGeneration(), got.GetManagedFields())
	}
}

// checkReports asserts that vnfguard's posture reports in api are exactly the scan's findings per namespace (the
// cluster report for cluster-scoped objects), with every field the CRD's schema keeps, and returns them by
// namespace.
func checkReports(t *testing.T, ctx context.Context, dyn dynamic.Interface, api policyreport.API, byNS map[string][]scanFinding) map[string]*unstructured.Unstructured {
	t.Helper()
	got := list(t, ctx, dyn, api)
	for ns, fs := range byNS {
		r, ok := got[ns]
		if !ok {
			t.Errorf("no vnfguard-posture %s report for namespace %q, which has %d findings", api, ns, len(fs))
			continue
		}
		if want := map[bool]string{true: api.ClusterKind, false: api.Kind}[ns == ""]; r.GetKind() != want {
			t.Errorf("%s report of %q is a %s", api, ns, r.GetKind())
		}
		results, _, _ := unstructured.NestedSlice(r.Object, "results")
		if len(results) != len(fs) {
			t.Errorf("%s report of %q holds %d results, the scan found %d", api, ns, len(results), len(fs))
		}
		// What the API server kept of what vnfguard wrote: nothing pruned by the real schema.
		for _, it := range results {
			res := it.(map[string]any)
			seconds, _, _ := unstructured.NestedInt64(res, "timestamp", "seconds")
			id, _, _ := unstructured.NestedString(res, "properties", "findingID")
			if res["source"] != "vnfguard" || res["policy"] == "" || res["severity"] == nil || seconds <= 0 || id == "" {
				t.Errorf("%s report of %q: result %v lost a field vnfguard wrote", api, ns, res)
				break
			}
		}
		if src, _, _ := unstructured.NestedString(r.Object, "source"); (api.Name == policyreport.OpenReports.Name) != (src == "vnfguard") {
			t.Errorf("%s report of %q: report-level source %q", api, ns, src)
		}
		summary, _, _ := unstructured.NestedMap(r.Object, "summary")
		fail, _ := summary["fail"].(int64)
		warn, _ := summary["warn"].(int64)
		if int(fail+warn) != len(fs) {
			t.Errorf("%s report of %q: summary %v does not add up to its %d results", api, ns, summary, len(fs))
		}
	}
	for ns := range got {
		if _, ok := byNS[ns]; !ok {
			t.Errorf("a vnfguard-posture %s report remains for namespace %q, where the scan found nothing", api, ns)
		}
	}
	return got
}

func checkNone(t *testing.T, ctx context.Context, dyn dynamic.Interface, api policyreport.API) {
	t.Helper()
	if got := list(t, ctx, dyn, api); len(got) > 0 {
		t.Errorf("%d vnfguard-posture %s reports, want none", len(got), api)
	}
}

// list is vnfguard's posture reports in api by namespace (none when the API is not served).
func list(t *testing.T, ctx context.Context, dyn dynamic.Interface, api policyreport.API) map[string]*unstructured.Unstructured {
	t.Helper()
	selector := metav1.ListOptions{LabelSelector: policyreport.SourceLabel + "=posture"}
	got := map[string]*unstructured.Unstructured{}
	for _, gvr := range []schema.GroupVersionResource{api.Resource, api.ClusterResource} {
		l, err := dyn.Resource(gvr).List(ctx, selector)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for i := range l.Items {
			got[l.Items[i].GetNamespace()] = &l.Items[i]
		}
	}
	return got
}

func sameVersions(t *testing.T, before, after map[string]*unstructured.Unstructured) {
	t.Helper()
	for ns, r := range before {
		if a, ok := after[ns]; ok && a.GetResourceVersion() != r.GetResourceVersion() {
			t.Errorf("%s of %q rewritten by a scan that found the same (resourceVersion %s -> %s)", r.GetKind(), ns, r.GetResourceVersion(), a.GetResourceVersion())
		}
	}
}

func resultsName(r *unstructured.Unstructured, name string) bool {
	if r == nil {
		return false
	}
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
