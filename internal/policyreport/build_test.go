package policyreport

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/vnfguard/vnfguard/internal/finding"
)

func findings(at time.Time) []finding.Finding {
	return []finding.Finding{
		{ID: "a1", Time: at, Source: "posture", Rule: "posture-host-takeover", Technique: "FGT5013", Severity: finding.Critical,
			Message: "pod vnf-upf/peirates mounts the node's root filesystem", VNFInstance: "upf-1",
			Object: finding.ObjectRef{APIVersion: "v1", Kind: "Pod", Namespace: "vnf-upf", Name: "peirates"}},
		{ID: "a2", Time: at, Source: "posture", Rule: "default-deny-missing", Technique: "FGT1609.501", Severity: finding.Low,
			Message: "namespace vnf-upf has no default-deny NetworkPolicy", Object: finding.ObjectRef{Kind: "Namespace", Namespace: "vnf-upf", Name: "vnf-upf"}},
		{ID: "c1", Time: at, Source: "posture", Rule: "rbac-powerful-binding", Technique: "FGT5013", Severity: finding.High,
			Message: strings.Repeat("x", 5000), Object: finding.ObjectRef{Kind: "ClusterRoleBinding", Name: "web-admin"}},
		{ID: "r1", Time: at, Source: "posture", Rule: "posture-host-takeover", Severity: finding.High, Resolved: at,
			Object: finding.ObjectRef{Kind: "Pod", Namespace: "vnf-smf", Name: "gone"}},
	}
}

func TestBuild(t *testing.T) {
	at := time.Date(2026, 12, 6, 11, 0, 0, 0, time.UTC)
	got, err := Build("posture", findings(at))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["vnf-upf"] == nil || got[""] == nil {
		t.Fatalf("reports for %v, want vnf-upf and the cluster report (the resolved finding's namespace has none)", keys(got))
	}
	upf := got["vnf-upf"]
	if upf.GetKind() != "PolicyReport" || upf.GetName() != "vnfguard-posture" || upf.GetNamespace() != "vnf-upf" ||
		upf.GetLabels()[SourceLabel] != "posture" || upf.GetLabels()[ManagedByLabel] != "vnfguard" {
		t.Errorf("namespace report: %s %s/%s labels %v", upf.GetKind(), upf.GetNamespace(), upf.GetName(), upf.GetLabels())
	}
	summary, _, _ := unstructured.NestedMap(upf.Object, "summary")
	if summary["fail"] != int64(1) || summary["warn"] != int64(1) || summary["pass"] != int64(0) {
		t.Errorf("summary %v, want fail 1 (critical) and warn 1 (low)", summary)
	}
	results, _, _ := unstructured.NestedSlice(upf.Object, "results")
	first := results[0].(map[string]any)
	// Sorted by policy: default-deny-missing before posture-host-takeover.
	if first["policy"] != "default-deny-missing" || first["severity"] != "low" || first["result"] != "warn" || first["category"] != "FGT1609.501" {
		t.Errorf("first result %v", first)
	}
	second := results[1].(map[string]any)
	props := second["properties"].(map[string]any)
	res := second["resources"].([]any)[0].(map[string]any)
	if second["severity"] != "critical" || props["vnfInstance"] != "upf-1" || props["findingID"] != "a1" || res["kind"] != "Pod" || res["name"] != "peirates" ||
		second["source"] != "vnfguard" {
		t.Errorf("second result %v", second)
	}
	cluster := got[""]
	cres, _, _ := unstructured.NestedSlice(cluster.Object, "results")
	if cluster.GetKind() != "ClusterPolicyReport" || cluster.GetNamespace() != "" || len(cres) != 1 ||
		len(cres[0].(map[string]any)["message"].(string)) != maxMessage {
		t.Errorf("cluster report: %s ns %q, %d results", cluster.GetKind(), cluster.GetNamespace(), len(cres))
	}

	// The same findings found again later, in another order: the same results (hash), so no rewrite.
	later := findings(at.Add(time.Hour))
	later[0], later[1] = later[1], later[0]
	again, err := Build("posture", later)
	if err != nil {
		t.Fatal(err)
	}
	if h1, h2 := upf.GetAnnotations()[ResultsHashAnnotation], again["vnf-upf"].GetAnnotations()[ResultsHashAnnotation]; h1 == "" || h1 != h2 {
		t.Errorf("results hash %q then %q: a rescan finding the same must not rewrite the report", h1, h2)
	}
	changed := findings(at)
	changed[0].Severity = finding.High
	third, _ := Build("posture", changed)
	if third["vnf-upf"].GetAnnotations()[ResultsHashAnnotation] == upf.GetAnnotations()[ResultsHashAnnotation] {
		t.Error("a changed severity must change the results hash")
	}
}

func TestBuildRefusesWhatItCannotPlace(t *testing.T) {
	for name, tc := range map[string]struct {
		source string
		fs     []finding.Finding
		want   string
	}{
		"unknown severity":  {"posture", []finding.Finding{{ID: "x", Rule: "r", Severity: finding.Severity(9)}}, "severity 9"},
		"no rule":           {"posture", []finding.Finding{{ID: "y", Severity: finding.High}}, "no rule"},
		"no source":         {"", nil, "source"},
		"source with slash": {"a/b", nil, "source"},
	} {
		if _, err := Build(tc.source, tc.fs); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming %q", name, err, tc.want)
		}
	}
	if got, err := Build("posture", nil); err != nil || len(got) != 0 {
		t.Errorf("no findings: %v %v, want no report (Sync then deletes the old ones)", got, err)
	}
}

func keys(m map[string]*unstructured.Unstructured) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
