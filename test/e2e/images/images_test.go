package images

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/vnfguard/vnfguard/internal/imagesig/cosigntest"
	"github.com/vnfguard/vnfguard/internal/lab"
	"github.com/vnfguard/vnfguard/internal/vnfpkg/csartest"
)

const (
	namespace = "vnf-upf"
	instance  = "5f2b6a40-upf1"
)

// TestImageIntegrity registers vnfguard with signature and vulnerability checks and creates, as the VNFM, one pod
// per image case in a protected namespace.
func TestImageIntegrity(t *testing.T) {
	dir := t.TempDir()
	binary, err := lab.PrepareE2E(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	reg := cosigntest.StartRegistry()
	defer reg.Close()
	acme, mallory := mustKey(t), mustKey(t)
	push := func(repo string) name.Digest {
		d, err := reg.Push(repo, "1.0")
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	signed, unsigned, wrongKey, undeclared, vulnerable := push("5gc/upf"), push("5gc/upf-unsigned"), push("5gc/upf-mallory"), push("5gc/upf-undeclared"), push("5gc/upf-xz")
	late := push("5gc/upf-late") // signed and declared, first asked for when the registry is down
	for _, s := range []struct {
		key *cosigntest.Key
		img name.Digest
	}{{acme, signed}, {mallory, wrongKey}, {acme, undeclared}, {acme, vulnerable}, {acme, late}} {
		if err := reg.Sign(s.key, s.img); err != nil {
			t.Fatal(err)
		}
	}
	tagged := reg.Host + "/5gc/upf:1.0" // the signed image, by tag

	// The VNF package declares every image but the undeclared one. It is onboarded the way an operator does it:
	// a signed SOL004 CSAR, verified and imported into the inventory by `vnfguard package import`. The inventory
	// runs the UPF of provider Acme.
	declared := []name.Digest{signed, unsigned, wrongKey, vulnerable, late}
	var vnfd strings.Builder
	vnfd.WriteString(`tosca_definitions_version: tosca_simple_yaml_1_3
topology_template:
  node_templates:
    upf:
      type: tosca.nodes.nfv.VNF
      properties: {descriptor_id: upf-vnfd, provider: Acme, product_name: UPF, software_version: "1.0"}
`)
	for i, d := range declared {
		fmt.Fprintf(&vnfd, "    c%d:\n      type: tosca.nodes.nfv.Vdu.OsContainer\n      artifacts:\n        sw_image: {type: tosca.artifacts.nfv.SwImage, file: %q}\n", i, d.String())
	}
	ca := csartest.NewCA(t, "Operator VNF package CA")
	csar := csartest.New(t, ca.Issue(t, "Acme VNF signing"))
	csar.Files = []csartest.File{{Name: "Definitions/upf.yaml", Data: []byte(vnfd.String())}, {Name: "Files/ChangeLog.txt", Data: []byte("1.0\n")}}
	csarPath, caPath := filepath.Join(dir, "upf.csar"), filepath.Join(dir, "ca.pem")
	write(t, csarPath, string(csar.Build(t)))
	write(t, caPath, string(ca.PEM()))
	inventory := filepath.Join(dir, "inventory.yaml")
	write(t, inventory, `apiVersion: vnfguard.io/v1alpha1
kind: Inventory
vnfInstances:
  - id: `+instance+`
    vnfdId: upf-vnfd
    vnfProvider: Acme
    vnfProductName: UPF
    instantiationState: INSTANTIATED
    instantiatedVnfInfo: {flavourId: simple, vnfState: STARTED, metadata: {namespace: `+namespace+`}}
`)
	if out, err := exec.Command(binary, "package", "import", csarPath, "--packages", inventory, "--trust-anchor", caPath).CombinedOutput(); err != nil {
		t.Fatalf("vnfguard package import: %v\n%s", err, out)
	}
	write(t, filepath.Join(dir, "acme.pub"), string(acme.PublicPEM))
	reports := filepath.Join(dir, "reports")
	if err := os.MkdirAll(reports, 0o755); err != nil {
		t.Fatal(err)
	}
	// Trivy JSON files for every image but the vulnerable one, whose scan trivy-operator put in the cluster as a
	// VulnerabilityReport (created below).
	for i, d := range declared {
		if d != vulnerable {
			write(t, filepath.Join(reports, fmt.Sprintf("report-%d.json", i)), trivyReport(d, ""))
		}
	}
	write(t, filepath.Join(reports, "undeclared.json"), trivyReport(undeclared, ""))
	configPath := filepath.Join(dir, "vnfguard.yaml")
	write(t, configPath, `apiVersion: vnfguard.io/v1alpha1
kind: Config
protectedNamespaces: {names: [`+namespace+`]}
identities:
  vnfm: {users: [`+lab.VNFM+`]}
registries:
  allowed: ["`+reg.Host+`/"]
inventory: {file: `+inventory+`}
images:
  signatures:
    providers:
      - {provider: Acme, publicKeys: [acme.pub]}
  vulnerabilities:
    reports: [reports]
    operatorReports: true
    denyAt: CRITICAL
  registry:
    timeout: 3s
    insecure: ["`+reg.Host+`"]
`)

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cp, err := lab.Start(ctx, lab.Options{BinDir: lab.DefaultBinDir(), WorkDir: filepath.Join(dir, "lab"), Logger: logger, APIServerOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Stop()
	if err := cp.EnsureNamespace(ctx, namespace, nil); err != nil {
		t.Fatal(err)
	}
	_, adminCfg := cp.ClientFor(lab.Admin)
	installVulnerabilityReport(t, ctx, dynamic.NewForConfigOrDie(adminCfg), vulnerable)
	if _, err := cp.StartVNFGuard(ctx, binary, configPath); err != nil {
		t.Fatal(err)
	}
	vnfm, _ := cp.ClientFor(lab.VNFM)

	for _, tc := range []struct {
		name, image string
		want        []string // denial substrings; none: admitted
	}{
		{"signed, declared, clean", signed.String(), nil},
		{"unsigned", unsigned.String(), []string{"image-signature", "no signature"}},
		{"signed with another key", wrongKey.String(), []string{"image-signature", "not signed by any of the keys"}},
		{"digest the package did not declare", undeclared.String(), []string{"image-provenance", "is not one that the VNF package upf-vnfd"}},
		{"tag not pinned", tagged, []string{"image-provenance", "not pinned by digest"}},
		{"critical CVE (trivy-operator report in the cluster)", vulnerable.String(), []string{"image-vulnerabilities", "CVE-2024-3094", "VulnerabilityReport " + namespace + "/replicaset-upf-xz-upf"}},
		{"registry unreachable: fail closed", late.String(), []string{"image-signature", "unreachable"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.image == late.String() {
				reg.Close()
			}
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "upf-", Namespace: namespace,
				Labels: map[string]string{"tacker_vnf_instance_id": instance}},
				Spec: lab.RestrictedPodSpec("upf", tc.image, nil)}
			_, err := vnfm.CoreV1().Pods(namespace).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("denied: %v", err)
				}
				return
			}
			if err == nil || !lab.IsWebhookDenial(err) {
				t.Fatalf("got %v, want an admission-webhook denial", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("denial lacks %q: %v", w, err)
				}
			}
		})
	}
}

// installVulnerabilityReport installs trivy-operator's VulnerabilityReport CRD (schema left open, as only the
// fields vnfguard reads matter here) and a report with CVE-2024-3094 for the image, as trivy-operator writes it.
func installVulnerabilityReport(t *testing.T, ctx context.Context, dyn dynamic.Interface, img name.Digest) {
	t.Helper()
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "vulnerabilityreports.aquasecurity.github.io"},
		"spec": map[string]any{
			"group": "aquasecurity.github.io", "scope": "Namespaced",
			"names": map[string]any{"plural": "vulnerabilityreports", "singular": "vulnerabilityreport", "kind": "VulnerabilityReport", "shortNames": []any{"vuln"}},
			"versions": []any{map[string]any{"name": "v1alpha1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}},
		},
	}}
	crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	if _, err := dyn.Resource(crds).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatalf("install the VulnerabilityReport CRD: %v", err)
	}
	reports := schema.GroupVersionResource{Group: "aquasecurity.github.io", Version: "v1alpha1", Resource: "vulnerabilityreports"}
	report := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "aquasecurity.github.io/v1alpha1", "kind": "VulnerabilityReport",
		"metadata": map[string]any{"name": "replicaset-upf-xz-upf", "namespace": namespace},
		"report": map[string]any{
			"updateTimestamp": time.Now().UTC().Format(time.RFC3339),
			"registry":        map[string]any{"server": img.RegistryStr()},
			"artifact":        map[string]any{"repository": img.RepositoryStr(), "digest": img.DigestStr(), "tag": "1.0"},
			"summary":         map[string]any{"criticalCount": 1, "highCount": 0, "mediumCount": 0, "lowCount": 0, "unknownCount": 0},
			"vulnerabilities": []any{map[string]any{"vulnerabilityID": "CVE-2024-3094", "resource": "xz-utils", "installedVersion": "5.6.0-0.2",
				"fixedVersion": "5.6.1+really5.4.5-1", "severity": "CRITICAL", "title": "xz: malicious code in distributed source"}},
		},
	}}
	// The CRD takes a moment to be served.
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := dyn.Resource(reports).Namespace(namespace).Create(ctx, report, metav1.CreateOptions{})
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("create the VulnerabilityReport: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// trivyReport is a `trivy image --format json` report for the image, with the given vulnerabilities.
func trivyReport(d name.Digest, vulns string) string {
	return `{
  "SchemaVersion": 2,
  "CreatedAt": "` + time.Now().UTC().Format(time.RFC3339Nano) + `",
  "ArtifactName": "` + d.String() + `",
  "ArtifactType": "container_image",
  "Metadata": {"RepoTags": [], "RepoDigests": ["` + d.String() + `"]},
  "Results": [{"Target": "` + d.String() + ` (debian 12.8)", "Class": "os-pkgs", "Type": "debian", "Vulnerabilities": [` + vulns + `]}]
}`
}

func mustKey(t *testing.T) *cosigntest.Key {
	t.Helper()
	k, err := cosigntest.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
