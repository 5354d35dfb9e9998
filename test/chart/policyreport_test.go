package chart

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

// The chart tells serve how often and in which report APIs to publish its policy reports (policyReports.interval,
// policyReports.api), and the values reach the flags serve parses.
func TestPolicyReportValues(t *testing.T) {
	h := helm(t)
	args := func(set ...string) []string {
		d := find[*appsv1.Deployment](render(t, h, set...), "Deployment", "vnfguard")
		if d == nil {
			t.Fatal("no Deployment vnfguard")
		}
		return d.Spec.Template.Spec.Containers[0].Args
	}
	def := args()
	for _, want := range []string{"--policy-reports=1m", "--policy-report-api=auto"} {
		if !slices.Contains(def, want) {
			t.Errorf("default args %v lack %s", def, want)
		}
	}
	set := args("--set", "policyReports.api=openreports", "--set", "policyReports.interval=0")
	for _, want := range []string{"--policy-reports=0", "--policy-report-api=openreports"} {
		if !slices.Contains(set, want) {
			t.Errorf("args %v lack %s", set, want)
		}
	}
}
