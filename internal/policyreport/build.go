package policyreport

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/vnfguard/vnfguard/internal/finding"
)

// The API the reports are written in.
var (
	GroupVersion            = schema.GroupVersion{Group: "wgpolicyk8s.io", Version: "v1alpha2"}
	PolicyReports           = GroupVersion.WithResource("policyreports")
	ClusterPolicyReports    = GroupVersion.WithResource("clusterpolicyreports")
	policyReportKind        = "PolicyReport"
	clusterPolicyReportKind = "ClusterPolicyReport"
)

// Labels and annotation of vnfguard's reports.
const (
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedBy      = "vnfguard"
	SourceLabel    = "vnfguard.io/report-source"
	// ResultsHashAnnotation is the hash of the results a report holds: an unchanged report is not written again.
	ResultsHashAnnotation = "vnfguard.io/results-hash"
	// EngineSource is every result's source field: what Policy Reporter lists the results under.
	EngineSource = "vnfguard"
)

// maxMessage bounds a result's message: a report is one object, and etcd refuses objects over 1.5 MiB.
const maxMessage = 1024

// Build turns a source's findings into its desired reports, keyed by namespace ("" for the ClusterPolicyReport of
// cluster-scoped objects). Findings whose condition has cleared (Resolved set) are left out. A finding vnfguard
// cannot place in a report — a severity outside the known ones, no rule — is an error naming it: a report that
// silently drops a result would tell a UI that all is well.
func Build(source string, fs []finding.Finding) (map[string]*unstructured.Unstructured, error) {
	if source == "" || strings.ContainsAny(source, "/ ") {
		return nil, fmt.Errorf("policyreport: source %q is not a name", source)
	}
	byNamespace := map[string][]map[string]any{}
	for i := range fs {
		f := &fs[i]
		if !f.Resolved.IsZero() {
			continue
		}
		r, err := result(f)
		if err != nil {
			return nil, err
		}
		byNamespace[f.Object.Namespace] = append(byNamespace[f.Object.Namespace], r)
	}
	out := make(map[string]*unstructured.Unstructured, len(byNamespace))
	for ns, results := range byNamespace {
		// A stable order: the same findings make the same report, whatever order they came in.
		slices.SortFunc(results, func(a, b map[string]any) int {
			return cmp.Or(cmp.Compare(a["policy"].(string), b["policy"].(string)), cmp.Compare(resourceKey(a), resourceKey(b)),
				cmp.Compare(a["message"].(string), b["message"].(string)))
		})
		out[ns] = report(source, ns, results)
	}
	return out, nil
}

// ReportName is the name of a source's report in every namespace.
func ReportName(source string) string { return "vnfguard-" + source }

func report(source, namespace string, results []map[string]any) *unstructured.Unstructured {
	summary := map[string]any{"pass": int64(0), "fail": int64(0), "warn": int64(0), "error": int64(0), "skip": int64(0)}
	items := make([]any, len(results))
	for i, r := range results {
		summary[r["result"].(string)] = summary[r["result"].(string)].(int64) + 1
		items[i] = r
	}
	kind := policyReportKind
	if namespace == "" {
		kind = clusterPolicyReportKind
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": GroupVersion.String(),
		"kind":       kind,
		"metadata": map[string]any{
			"name":   ReportName(source),
			"labels": map[string]any{ManagedByLabel: ManagedBy, SourceLabel: source},
		},
		"summary": summary,
		"results": items,
	}}
	if namespace != "" {
		u.SetNamespace(namespace)
	}
	u.SetAnnotations(map[string]string{ResultsHashAnnotation: resultsHash(items)})
	return u
}

// result is one finding as a PolicyReportResult.
func result(f *finding.Finding) (map[string]any, error) {
	if f.Rule == "" {
		return nil, fmt.Errorf("policyreport: finding %s has no rule", f.ID)
	}
	severity, outcome, err := severityOf(f.Severity)
	if err != nil {
		return nil, fmt.Errorf("policyreport: finding %s (%s): %w", f.ID, f.Rule, err)
	}
	msg := f.Message
	if len(msg) > maxMessage {
		msg = msg[:maxMessage-3] + "..."
	}
	props := map[string]any{}
	for k, v := range map[string]string{"findingID": f.ID, "technique": f.Technique, "vnfInstance": f.VNFInstance,
		"vnfProduct": f.VNFProduct, "mitigations": strings.Join(f.Mitigations, ","), "cluster": f.Cluster, "findingSource": f.Source} {
		if v != "" {
			props[k] = v
		}
	}
	r := map[string]any{
		"source":     EngineSource,
		"policy":     f.Rule,
		"rule":       f.Rule,
		"category":   cmp.Or(f.Technique, "vnfguard"),
		"severity":   severity,
		"result":     outcome,
		"scored":     true,
		"message":    msg,
		"timestamp":  map[string]any{"seconds": f.Time.Unix(), "nanos": int64(0)},
		"properties": props,
	}
	if f.Object.Kind != "" || f.Object.Name != "" {
		ref := map[string]any{}
		for k, v := range map[string]string{"apiVersion": f.Object.APIVersion, "kind": f.Object.Kind, "namespace": f.Object.Namespace, "name": f.Object.Name} {
			if v != "" {
				ref[k] = v
			}
		}
		r["resources"] = []any{ref}
	}
	return r, nil
}

// severityOf maps a finding's severity onto the report's severity and result: every finding is a requirement not
// met, a failure — but an informational or low one is a warning, as Kyverno's audit-mode results are.
func severityOf(s finding.Severity) (severity, outcome string, err error) {
	switch s {
	case finding.Critical:
		return "critical", "fail", nil
	case finding.High:
		return "high", "fail", nil
	case finding.Medium:
		return "medium", "fail", nil
	case finding.Low:
		return "low", "warn", nil
	case finding.Info:
		return "info", "warn", nil
	}
	return "", "", fmt.Errorf("severity %d is none of info, low, medium, high, critical", int(s))
}

func resourceKey(r map[string]any) string {
	refs, _ := r["resources"].([]any)
	if len(refs) == 0 {
		return ""
	}
	ref, _ := refs[0].(map[string]any)
	name, _ := ref["name"].(string)
	kind, _ := ref["kind"].(string)
	return kind + "/" + name
}

// resultsHash identifies a report's results without their timestamps: a condition found again at the next scan
// is the same result, and rewriting the report for a new time would wake every watcher for nothing.
func resultsHash(items []any) string {
	h := sha256.New()
	for _, it := range items {
		r := it.(map[string]any)
		stable := map[string]any{}
		for k, v := range r {
			if k != "timestamp" {
				stable[k] = v
			}
		}
		b, _ := json.Marshal(stable) // maps of strings, numbers and bools: cannot fail
		h.Write(b)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
