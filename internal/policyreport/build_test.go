package policyreport

import (
	"slices"
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
	for _, tc := range []struct {
		api                 API
		kind, clusterKind   string
		apiVersion          string
		reportSourceWritten bool
	}{
		{WGPolicy, "PolicyReport", "ClusterPolicyReport", "wgpolicyk8s.io/v1alpha2", false},
		{OpenReports, "Report", "ClusterReport", "openreports.io/v1alpha1", true},
	} {
		t.Run(tc.api.Name, func(t *testing.T) {
			upf := got["vnf-upf"].Object(tc.api)
			if upf.GetAPIVersion() != tc.apiVersion || upf.GetKind() != tc.kind || upf.GetName() != "vnfguard-posture" || upf.GetNamespace() != "vnf-upf" ||
				upf.GetLabels()[SourceLabel] != "posture" || upf.GetLabels()[ManagedByLabel] != "vnfguard" ||
				upf.GetAnnotations()[ResultsHashAnnotation] != got["vnf-upf"].Hash {
				t.Errorf("namespace report: %s %s %s/%s labels %v annotations %v", upf.GetAPIVersion(), upf.GetKind(), upf.GetNamespace(), upf.GetName(), upf.GetLabels(), upf.GetAnnotations())
			}
			if src, ok := upf.Object["source"]; ok != tc.reportSourceWritten || (ok && src != "vnfguard") {
				t.Errorf("report-level source %v (present %v), want present %v: only openreports.io's schema has it", src, ok, tc.reportSourceWritten)
			}
			summary, _, _ := unstructured.NestedMap(upf.Object, "summary")
			if summary["fail"] != int64(1) || summary["warn"] != int64(1) || summary["pass"] != int64(0) || summary["error"] != int64(0) || summary["skip"] != int64(0) {
				t.Errorf("summary %v, want fail 1 (critical) and warn 1 (low), the others 0", summary)
			}
			results, _, _ := unstructured.NestedSlice(upf.Object, "results")
			if len(results) != 2 {
				t.Fatalf("%d results, want 2", len(results))
			}
			first := results[0].(map[string]any)
			// Sorted by policy: default-deny-missing before posture-host-takeover.
			if first["policy"] != "default-deny-missing" || first["severity"] != "low" || first["result"] != "warn" || first["category"] != "FGT1609.501" {
				t.Errorf("first result %v", first)
			}
			second := results[1].(map[string]any)
			props, _ := second["properties"].(map[string]any)
			res := second["resources"].([]any)[0].(map[string]any)
			if second["severity"] != "critical" || props["vnfInstance"] != "upf-1" || props["findingID"] != "a1" || res["kind"] != "Pod" || res["name"] != "peirates" ||
				res["apiVersion"] != "v1" || res["namespace"] != "vnf-upf" || second["source"] != "vnfguard" || second["scored"] != true ||
				second["message"] != "pod vnf-upf/peirates mounts the node's root filesystem" {
				t.Errorf("second result %v", second)
			}
			// Both CRDs require the timestamp's seconds and nanos, as integers.
			if ts, _ := second["timestamp"].(map[string]any); ts["seconds"] != at.Unix() || ts["nanos"] != int64(0) {
				t.Errorf("timestamp %#v, want seconds %d and nanos 0", second["timestamp"], at.Unix())
			}
			// Nothing but the schema's fields of a result: a structural CRD would prune the rest, and a UI miss it.
			for k := range second {
				if !slices.Contains([]string{"source", "policy", "rule", "category", "severity", "timestamp", "result", "scored", "resources", "message", "properties"}, k) {
					t.Errorf("result field %q is not in the report CRDs' schema", k)
				}
			}
			cluster := got[""].Object(tc.api)
			cres, _, _ := unstructured.NestedSlice(cluster.Object, "results")
			if cluster.GetKind() != tc.clusterKind || cluster.GetNamespace() != "" || len(cres) != 1 ||
				len(cres[0].(map[string]any)["message"].(string)) != maxMessage {
				t.Errorf("cluster report: %s ns %q, %d results", cluster.GetKind(), cluster.GetNamespace(), len(cres))
			}
		})
	}

	// The same findings found again later, in another order: the same results (hash), so no rewrite.
	later := findings(at.Add(time.Hour))
	later[0], later[1] = later[1], later[0]
	again, err := Build("posture", later)
	if err != nil {
		t.Fatal(err)
	}
	if h1, h2 := got["vnf-upf"].Hash, again["vnf-upf"].Hash; h1 == "" || h1 != h2 {
		t.Errorf("results hash %q then %q: a rescan finding the same must not rewrite the report", h1, h2)
	}
	changed := findings(at)
	changed[0].Severity = finding.High
	third, _ := Build("posture", changed)
	if third["vnf-upf"].Hash == got["vnf-upf"].Hash {
		t.Error("a changed severity must change the results hash")
	}
	moved := findings(at)
	moved[0].Object.Name = "peirates-2"
	if fourth, _ := Build("posture", moved); fourth["vnf-upf"].Hash == got["vnf-upf"].Hash {
		t.Error("a result about another object must change the results hash")
	}
}

func TestBuildTimestampOfTimelessFinding(t *testing.T) {
	got, err := Build("reconcile", []finding.Finding{{ID: "z", Rule: "zombie", Severity: finding.Medium, Object: finding.ObjectRef{Kind: "Pod", Namespace: "a", Name: "b"}}})
	if err != nil {
		t.Fatal(err)
	}
	if ts := got["a"].Results[0].Timestamp; ts.Seconds != 0 || ts.Nanos != 0 {
		t.Errorf("timestamp %+v of a finding without a time, want the epoch", ts)
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

func keys(m map[string]*Report) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
