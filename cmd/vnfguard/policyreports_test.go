package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	discoveryfake "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/vnfguard/vnfguard/internal/policyreport"
)

// A cluster without any report API: auto says so once at Info and succeeds; a choice by name fails, saying which
// API is missing, and follow would warn of it once.
func TestPolicyReporterWithoutCRDs(t *testing.T) {
	for _, tc := range []struct {
		choice   policyreport.Choice
		wantErr  string
		wantLogs []string
		said     int // "not published" lines over two passes
	}{
		{policyreport.Auto, "", []string{"level=INFO", "serves neither wgpolicyk8s.io/v1alpha2 (PolicyReport, ClusterPolicyReport) nor openreports.io/v1alpha1 (Report, ClusterReport)"}, 1},
		{policyreport.ChooseOpenReports, "--policy-report-api openreports: the cluster does not serve openreports.io/v1alpha1 (Report, ClusterReport)", nil, 0},
	} {
		t.Run(string(tc.choice), func(t *testing.T) {
			var logs bytes.Buffer
			p := &policyReporter{client: dynamicfake.NewSimpleDynamicClient(runtime.NewScheme()), disco: &discoveryfake.FakeDiscovery{Fake: &clienttesting.Fake{}},
				source: "posture", choice: tc.choice, logger: slog.New(slog.NewTextHandler(&logs, nil))}
			for pass := range 2 {
				err := p.publish(context.Background(), nil)
				var unserved *errUnserved
				switch {
				case tc.wantErr == "" && err != nil:
					t.Fatalf("pass %d: %v, want no error", pass, err)
				case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.As(err, &unserved)):
					t.Fatalf("pass %d: %v, want an error saying %q", pass, err, tc.wantErr)
				case tc.wantErr != "" && unserved.first != (pass == 0):
					t.Errorf("pass %d: first %v: follow must warn of an unserved API once, not at every pass", pass, unserved.first)
				}
			}
			for _, want := range tc.wantLogs {
				if !strings.Contains(logs.String(), want) {
					t.Errorf("logs %q, want %q", logs.String(), want)
				}
			}
			// Auto logs the missing APIs once over two passes; a choice by name leaves them to its error (scan) or follow.
			if n, want := strings.Count(logs.String(), "not published"), tc.said; n != want {
				t.Errorf("said %d times over two passes, want %d: %s", n, want, logs.String())
			}
		})
	}
}

func TestPolicyReportAPIFlag(t *testing.T) {
	code, _, errOut := runCLI(t, "scan", "--policy-reports", "--policy-report-api", "wgpolicy")
	if code != exitError || !strings.Contains(errOut, "auto, wgpolicyk8s, openreports, both") {
		t.Errorf("exit %d, %q: want a usage error naming the choices", code, errOut)
	}
	var f reportAPIFlag
	if f.get() != policyreport.Auto || f.String() != "auto" {
		t.Errorf("default %q, want auto", f.String())
	}
	if err := f.Set("both"); err != nil || f.get() != policyreport.Both {
		t.Errorf("Set(both): %v, %q", err, f.get())
	}
}
