package policyreport

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	openreports "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/vnfguard/vnfguard/internal/finding"
)

// API is one of the report APIs vnfguard writes: the same reports, in another group.
type API struct {
	// Name is what --policy-report-api calls it.
	Name         string
	GroupVersion schema.GroupVersion
	// Kind and Resource of the namespaced reports, ClusterKind and ClusterResource of the cluster-scoped one.
	Kind, ClusterKind         string
	Resource, ClusterResource schema.GroupVersionResource
	// sourceField: the report itself has a source (openreports.io); wgpolicyk8s.io's has one only per result.
	sourceField bool
}

// The report APIs. wgpolicyk8s.io/v1alpha2 is the one Kyverno, Trivy Operator and kube-bench adapters write and
// every Policy Reporter reads; openreports.io/v1alpha1 is its successor (Kyverno >= 1.15 with
// --openreportsEnabled, Policy Reporter 3). Their results have the same schema: both are written from
// openreports.io's Go types.
var (
	WGPolicy = API{
		Name:         "wgpolicyk8s",
		GroupVersion: schema.GroupVersion{Group: "wgpolicyk8s.io", Version: "v1alpha2"},
		Kind:         "PolicyReport", ClusterKind: "ClusterPolicyReport",
		Resource:        schema.GroupVersionResource{Group: "wgpolicyk8s.io", Version: "v1alpha2", Resource: "policyreports"},
		ClusterResource: schema.GroupVersionResource{Group: "wgpolicyk8s.io", Version: "v1alpha2", Resource: "clusterpolicyreports"},
	}
	OpenReports = API{
		Name:         "openreports",
		GroupVersion: schema.GroupVersion(openreports.GroupVersion),
		Kind:         "Report", ClusterKind: "ClusterReport",
		Resource:        openreports.SchemeGroupVersion.WithResource("reports"),
		ClusterResource: openreports.SchemeGroupVersion.WithResource("clusterreports"),
		sourceField:     true,
	}
	// APIs are all of them, in the order they are tried and said.
	APIs = []API{WGPolicy, OpenReports}
)

// String names the API's group and version, as a log line or an error says it.
func (a API) String() string { return a.GroupVersion.String() }

// kindOf is the kind of the API's report of namespace ("" for the cluster-scoped one).
func (a API) kindOf(namespace string) string {
	if namespace == "" {
		return a.ClusterKind
	}
	return a.Kind
}

// Labels and annotation of vnfguard's reports.
const (
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedBy      = "vnfguard"
	SourceLabel    = "vnfguard.io/report-source"
	// ResultsHashAnnotation is the hash of the results a report holds: an unchanged report is not written again.
	ResultsHashAnnotation = "vnfguard.io/results-hash"
	// EngineSource is every result's source field (and an openreports.io report's): what Policy Reporter lists
	// the results under.
	EngineSource = "vnfguard"
)

// maxMessage bounds a result's message: a report is one object, and etcd refuses objects over 1.5 MiB.
const maxMessage = 1024

// hashVersion is part of every results hash: a vnfguard that writes its reports otherwise changes it, so its first
// pass rewrites the reports an older one wrote even where the results are the same.
const hashVersion = "2"

// Report is one namespace's report of a source, in no API yet: Object writes it in one.
type Report struct {
	Source    string
	Namespace string // "" for the cluster-scoped report
	Summary   openreports.ReportSummary
	Results   []openreports.ReportResult
	// Hash identifies the results, timestamps left out (ResultsHashAnnotation).
	Hash string
}

// Build turns a source's findings into its desired reports, keyed by namespace ("" for the cluster report of
// cluster-scoped objects). Findings whose condition has cleared (Resolved set) are left out. A finding vnfguard
// cannot place in a report — a severity outside the known ones, no rule — is an error naming it: a report that
// silently drops a result would tell a UI that all is well.
func Build(source string, fs []finding.Finding) (map[string]*Report, error) {
	if source == "" || strings.ContainsAny(source, "/ ") {
		return nil, fmt.Errorf("policyreport: source %q is not a name", source)
	}
	byNamespace := map[string][]openreports.ReportResult{}
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
	out := make(map[string]*Report, len(byNamespace))
	for ns, results := range byNamespace {
		// A stable order: the same findings make the same report, whatever order they came in.
		slices.SortFunc(results, func(a, b openreports.ReportResult) int {
			return cmp.Or(cmp.Compare(a.Policy, b.Policy), cmp.Compare(resourceKey(a), resourceKey(b)), cmp.Compare(a.Description, b.Description))
		})
		r := &Report{Source: source, Namespace: ns, Results: results, Hash: resultsHash(results)}
		for _, res := range results {
			switch res.Result {
			case "fail":
				r.Summary.Fail++
			case "warn":
				r.Summary.Warn++
			}
		}
		out[ns] = r
	}
	return out, nil
}

// ReportName is the name of a source's report in every namespace and API.
func ReportName(source string) string { return "vnfguard-" + source }

// Object is the report as an object of api: a PolicyReport or ClusterPolicyReport of wgpolicyk8s.io, a Report or
// ClusterReport of openreports.io.
func (r *Report) Object(api API) *unstructured.Unstructured {
	results := make([]any, len(r.Results))
	for i := range r.Results {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&r.Results[i])
		if err != nil {
			panic(fmt.Sprintf("policyreport: a ReportResult does not convert: %v", err)) // strings, numbers and a Timestamp: cannot happen
		}
		results[i] = m
	}
	summary, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&r.Summary)
	if err != nil {
		panic(fmt.Sprintf("policyreport: a ReportSummary does not convert: %v", err))
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": api.GroupVersion.String(),
		"kind":       api.kindOf(r.Namespace),
		"metadata": map[string]any{
			"name":        ReportName(r.Source),
			"labels":      map[string]any{ManagedByLabel: ManagedBy, SourceLabel: r.Source},
			"annotations": map[string]any{ResultsHashAnnotation: r.Hash},
		},
		"summary": summary,
		"results": results,
	}}
	if api.sourceField {
		u.Object["source"] = EngineSource
	}
	if r.Namespace != "" {
		u.SetNamespace(r.Namespace)
	}
	return u
}

// result is one finding as a report result.
func result(f *finding.Finding) (openreports.ReportResult, error) {
	if f.Rule == "" {
		return openreports.ReportResult{}, fmt.Errorf("policyreport: finding %s has no rule", f.ID)
	}
	severity, outcome, err := severityOf(f.Severity)
	if err != nil {
		return openreports.ReportResult{}, fmt.Errorf("policyreport: finding %s (%s): %w", f.ID, f.Rule, err)
	}
	msg := f.Message
	if len(msg) > maxMessage {
		msg = msg[:maxMessage-3] + "..."
	}
	props := map[string]string{}
	for k, v := range map[string]string{"findingID": f.ID, "technique": f.Technique, "vnfInstance": f.VNFInstance,
		"vnfProduct": f.VNFProduct, "mitigations": strings.Join(f.Mitigations, ","), "cluster": f.Cluster, "findingSource": f.Source} {
		if v != "" {
			props[k] = v
		}
	}
	r := openreports.ReportResult{
		Source:      EngineSource,
		Policy:      f.Rule,
		Rule:        f.Rule,
		Category:    cmp.Or(f.Technique, "vnfguard"),
		Severity:    severity,
		Result:      outcome,
		Scored:      true,
		Description: msg,
		// Both CRDs require seconds and nanos; a finding without a time says the epoch rather than year 1.
		Timestamp:  metav1.Timestamp{Seconds: max(f.Time.Unix(), 0)},
		Properties: props,
	}
	if f.Object.Kind != "" || f.Object.Name != "" {
		r.Subjects = []corev1.ObjectReference{{APIVersion: f.Object.APIVersion, Kind: f.Object.Kind, Namespace: f.Object.Namespace, Name: f.Object.Name}}
	}
	return r, nil
}

// severityOf maps a finding's severity onto the report's severity and result: every finding is a requirement not
// met, a failure — but an informational or low one is a warning, as Kyverno's audit-mode results are.
func severityOf(s finding.Severity) (openreports.ResultSeverity, openreports.Result, error) {
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

func resourceKey(r openreports.ReportResult) string {
	if len(r.Subjects) == 0 {
		return ""
	}
	return r.Subjects[0].Kind + "/" + r.Subjects[0].Name
}

// resultsHash identifies a report's results without their timestamps: a condition found again at the next scan
// is the same result, and rewriting the report for a new time would wake every watcher for nothing.
func resultsHash(results []openreports.ReportResult) string {
	h := sha256.New()
	h.Write([]byte(hashVersion))
	for _, r := range results {
		r.Timestamp = metav1.Timestamp{}
		b, err := json.Marshal(r)
		if err != nil {
			panic(fmt.Sprintf("policyreport: a ReportResult does not marshal: %v", err))
		}
		h.Write([]byte{0})
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
