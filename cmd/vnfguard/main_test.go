package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"

	"github.com/vnfguard/vnfguard/internal/admission"
	"github.com/vnfguard/vnfguard/internal/config"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestPolicyTestExamples(t *testing.T) {
	code, out, errOut := runCLI(t, "policy", "test", "-f", "../../examples/manifests", "--config", "../../examples/config.yaml", "--as", "tacker-vnfm", "-o", "json")
	if code != exitFindings {
		t.Fatalf("exit %d, want %d (something denied); stderr %s", code, exitFindings, errOut)
	}
	var results []policyResult
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	want := map[string]struct {
		verdict string
		checks  []string
	}{
		"Pod/peirates":        {"denied", []string{"host-takeover", "reverse-shell", "pod-security", "image-registry"}},
		"Deployment/fake-smf": {"denied", []string{"image-provenance", "reverse-shell", "pod-security"}},
		"Deployment/upf":      {"allowed", nil},
		"Namespace/vnf-5gc":   {"not-governed", nil},
	}
	if len(results) != len(want) {
		t.Fatalf("%d results, want one per object (%d): %s", len(results), len(want), out)
	}
	for _, r := range results {
		key := r.Object.Kind + "/" + r.Object.Name
		w, ok := want[key]
		if !ok {
			t.Errorf("unexpected object %s", key)
			continue
		}
		if r.Verdict != w.verdict || r.Source == "" {
			t.Errorf("%s: verdict %q source %q, want %q", key, r.Verdict, r.Source, w.verdict)
		}
		got := map[string]bool{}
		for _, v := range r.Violations {
			got[v.Check] = true
			if v.Technique == "" || v.Field == "" || v.Message == "" || v.Mode != "enforce" {
				t.Errorf("%s: incomplete violation %+v", key, v)
			}
		}
		for _, c := range w.checks {
			if !got[c] {
				t.Errorf("%s: no %s violation in %+v", key, c, r.Violations)
			}
		}
	}
	for _, r := range results {
		if r.Object.Name == "upf" && (r.Instance != "5f2b6a40-upf1" || r.State != "INSTANTIATED" || r.Profile != "upf" || len(r.Exceptions) == 0) {
			t.Errorf("upf: want instance, state, profile and the exceptions it used: %+v", r)
		}
	}
}

func TestPolicyTestAsAttacker(t *testing.T) {
	code, out, _ := runCLI(t, "policy", "test", "-f", "../../examples/manifests/upf.yaml", "--config", "../../examples/config.yaml", "--as", "mallory")
	if code != exitFindings || !strings.Contains(out, "vnf-instantiation") || !strings.Contains(out, "mallory, which is not a VNFM identity") {
		t.Fatalf("exit %d, want the UPF denied for a non-VNFM identity:\n%s", code, out)
	}
}

// TestPolicyTestVolumes: offline as online, a claim in another namespace naming a STOPPED VNF's volume, a pod
// mounting it, and an edit re-pointing the volume's claimRef are denied by lifecycle-data; the volume as first
// given is not judged (the API server sends no volume creations).
func TestPolicyTestVolumes(t *testing.T) {
	for _, tt := range []struct {
		files []string
		want  map[string]string // kind/name (the second PersistentVolume as kind/name#2) → verdict
	}{
		{[]string{"testdata/volumes/volume.yaml", "testdata/volumes/steal.yaml"}, map[string]string{
			"PersistentVolumeClaim/smf-data": "allowed", "PersistentVolume/pv-smf": "not-governed",
			"PersistentVolumeClaim/loot": "denied", "Pod/dump": "denied"}},
		{[]string{"testdata/volumes/volume.yaml", "testdata/volumes/repoint.yaml"}, map[string]string{
			"PersistentVolumeClaim/smf-data": "allowed", "PersistentVolume/pv-smf": "not-governed", "PersistentVolume/pv-smf#2": "denied"}},
	} {
		args := []string{"policy", "test", "--config", "../../examples/config.yaml", "--inventory", "../../examples/inventory.yaml", "--as", "mallory", "-o", "json"}
		for _, f := range tt.files {
			args = append(args, "-f", f)
		}
		code, out, errOut := runCLI(t, args...)
		if code != exitFindings {
			t.Fatalf("%v: exit %d, want %d; stderr %s", tt.files, code, exitFindings, errOut)
		}
		var results []policyResult
		if err := json.Unmarshal([]byte(out), &results); err != nil {
			t.Fatalf("output is not JSON: %v\n%s", err, out)
		}
		seen := map[string]bool{}
		for _, r := range results {
			key := r.Object.Kind + "/" + r.Object.Name
			if seen[key] {
				key += "#2"
			}
			seen[key] = true
			want, ok := tt.want[key]
			if !ok || r.Verdict != want {
				t.Errorf("%v: %s: verdict %q, want %q (%+v)", tt.files, key, r.Verdict, want, r)
				continue
			}
			if want != "denied" {
				continue
			}
			found := false
			for _, v := range r.Violations {
				found = found || (v.Check == "lifecycle-data" && strings.Contains(v.Message, "8c1d2e30-smf1") && strings.Contains(v.Message, "STOPPED"))
			}
			if !found {
				t.Errorf("%v: %s: no lifecycle-data violation naming the STOPPED SMF: %+v", tt.files, key, r.Violations)
			}
		}
		if len(results) != len(tt.want) {
			t.Errorf("%v: %d results, want %d", tt.files, len(results), len(tt.want))
		}
	}
}

func TestPolicyTestBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n---\nkind: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"policy", "test", "-f", bad}, "bad.yaml"},
		{[]string{"policy", "test"}, "no manifests"},
		{[]string{"policy", "test", "-f", "../../examples/manifests", "-o", "xml"}, `-o "xml"`},
		{[]string{"policy", "test", "-f", "../../examples/manifests", "--config", bad}, "bad.yaml"},
		{[]string{"policy", "test", "-f", "../../examples/manifests", "--inventory", "/nonexistent/inv.yaml"}, "inv.yaml"},
	} {
		code, _, errOut := runCLI(t, tt.args...)
		if code != exitError || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d stderr %q, want exit 2 naming %q", tt.args, code, errOut, tt.want)
		}
	}
}

func TestWebhookConfig(t *testing.T) {
	certs, err := admission.GenerateCertificates([]string{"127.0.0.1"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := certs.WriteFiles(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), ca); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "webhook-config", "--config", "../../examples/config.yaml", "--url", "https://127.0.0.1:8443/validate", "--ca-file", ca, "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var vwc admissionregistrationv1.ValidatingWebhookConfiguration
	if err := json.Unmarshal([]byte(out), &vwc); err != nil {
		t.Fatal(err)
	}
	if len(vwc.Webhooks) < 2 || *vwc.Webhooks[0].ClientConfig.URL != "https://127.0.0.1:8443/validate" || len(vwc.Webhooks[0].ClientConfig.CABundle) == 0 {
		t.Fatalf("webhook configuration: %s", out)
	}
	if code, _, errOut := runCLI(t, "webhook-config", "--url", "http://x/validate", "--ca-file", ca); code != exitError || !strings.Contains(errOut, "https") {
		t.Errorf("a plain-http URL must be refused: exit %d %s", code, errOut)
	}
}

// TestExampleSOL003Config: the SOL003 example configuration and its packages file are valid, and the packages
// catalogue gives the UPF package's image.
func TestExampleSOL003Config(t *testing.T) {
	cfg, err := config.Load("../../examples/config-sol003.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Inventory.SOL003
	if s == nil || s.APIRoot == "" || s.CallbackURL == "" || s.PackagesFile != filepath.Join("..", "..", "examples", "packages.yaml") {
		t.Fatalf("inventory.sol003 = %+v; want the API root, the callback and the packages file beside the configuration", s)
	}
	catalog, err := newPackageCatalog(s.PackagesFile, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if imgs := catalog.images("b1bb0ce7-ebca-4fa7-95ed-4840d70a1177"); len(imgs) != 1 || imgs[0].Digest == "" {
		t.Fatalf("the UPF package declares %+v, want one image with its digest", imgs)
	}
	// A missing secret file is an error that names the field.
	if _, _, err := sol003Config(s, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "clientSecretFile") {
		t.Fatalf("sol003Config with absent secret files: %v, want an error naming clientSecretFile", err)
	}
}
