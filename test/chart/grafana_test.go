package chart

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// The chart ships the same Grafana dashboard as deploy/grafana (which test/e2e/metrics evaluates panel by panel
// against a real Prometheus), and only when asked: the ConfigMap carries the sidecar's label.
func TestGrafanaDashboard(t *testing.T) {
	source, err := os.ReadFile("../../deploy/grafana/vnfguard.json")
	if err != nil {
		t.Fatal(err)
	}
	copyInChart, err := os.ReadFile(filepath.Join(chartDir, "files/grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(source, copyInChart) {
		t.Fatal("deploy/helm/vnfguard/files/grafana-dashboard.json differs from deploy/grafana/vnfguard.json: copy it again")
	}
	h := helm(t)
	if cm := find[*corev1.ConfigMap](render(t, h), "ConfigMap", "vnfguard-grafana-dashboard"); cm != nil {
		t.Error("the dashboard ConfigMap is rendered by default; it must be opt-in (grafana.dashboard.enabled)")
	}
	cm := find[*corev1.ConfigMap](render(t, h, "--set", "grafana.dashboard.enabled=true", "--set", "grafana.dashboard.namespace=monitoring"),
		"ConfigMap", "vnfguard-grafana-dashboard")
	if cm == nil {
		t.Fatal("grafana.dashboard.enabled=true renders no ConfigMap vnfguard-grafana-dashboard")
	}
	if cm.Labels["grafana_dashboard"] != "1" || cm.Namespace != "monitoring" {
		t.Errorf("dashboard ConfigMap labels %v, namespace %q; want grafana_dashboard=1 in monitoring", cm.Labels, cm.Namespace)
	}
	if got := cm.Data["vnfguard.json"]; got != string(source) {
		t.Errorf("the ConfigMap's vnfguard.json is not the dashboard (%d bytes, want %d)", len(got), len(source))
	}
}
