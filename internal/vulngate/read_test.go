package vulngate

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

const validHead = `{"SchemaVersion": 2, "Metadata": {"RepoDigests": ["registry.example.com/5gc/amf@` + cleanDigest + `"]},`

func TestParseTrivy(t *testing.T) {
	data, err := os.ReadFile("testdata/reports/xz.json")
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseTrivy(data, "xz.json")
	if err != nil {
		t.Fatal(err)
	}
	if r.Digest != xzDigest || len(r.Refs) != 1 || r.Refs[0] != "index.docker.io/vnfvendor/upf@"+xzDigest {
		t.Errorf("Digest %s, Refs %v: want %s under index.docker.io/vnfvendor/upf", r.Digest, r.Refs, xzDigest)
	}
	if r.Artifact != "docker.io/vnfvendor/upf:2.1.0" || !r.Scanned.Equal(time.Date(2026, 11, 24, 7, 30, 0, 0, time.UTC)) {
		t.Errorf("Artifact %q, Scanned %v", r.Artifact, r.Scanned)
	}
	if len(r.Vulnerabilities) != 6 || r.Vulnerabilities[0].Score != 10 || r.Vulnerabilities[0].Title != "xz: malicious code in distributed source" {
		t.Errorf("vulnerabilities: %+v", r.Vulnerabilities)
	}
	if r.Summary[Critical] != 2 || r.Summary[Medium] != 2 {
		t.Errorf("Summary = %v", r.Summary)
	}

	// A report of an image pulled by digest with no RepoDigests names the digest in ArtifactName.
	r, err = ParseTrivy([]byte(`{"SchemaVersion": 2, "ArtifactName": "quay.io/vnf/nrf@`+unfixedDigest+`"}`), "nrf.json")
	if err != nil || r.Digest != unfixedDigest || r.Refs[0] != "quay.io/vnf/nrf@"+unfixedDigest {
		t.Errorf("ArtifactName by digest: %+v, %v", r, err)
	}
}

func TestParseTrivyErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		data string
		want string // the whole error, or a prefix and suffix split by "…"
	}{
		{"empty", ``, "r.json:1:1 (offset 0): the file is empty"},
		{"syntax", "{\n  \"SchemaVersion\": 2,,\n}", `r.json:2:22 (offset 23): not valid JSON near "hemaVersion\": 2,,\n}": invalid character ',' looking for beginning of object key string`},
		{"truncated", `{"SchemaVersion": 2, "Results": [`, "r.json:1:34 (offset 33): the JSON ends early: the report is truncated"},
		{"type", "{\n\"SchemaVersion\": \"2\"}", "r.json:2:21 (offset 22): field SchemaVersion: json: cannot unmarshal string into Go struct field trivyReport.SchemaVersion of type int"},
		{"two values", validHead + `"Results": []} {}`, "r.json:1:…unexpected data after the report: a file holds one Trivy report"},
		{"schema 1", `{"SchemaVersion": 1}`, "r.json: SchemaVersion is 1, want 2: not a Trivy JSON report…"},
		{"not trivy", `{"apiVersion": "v1"}`, "r.json: SchemaVersion is 0, want 2…"},
		{"no digest", `{"SchemaVersion": 2, "ArtifactName": "upf:latest", "Metadata": {"RepoTags": ["upf:latest"]}}`, `r.json: artifact "upf:latest" has no digest (Metadata.RepoDigests is empty)…`},
		{"bad digest", `{"SchemaVersion": 2, "Metadata": {"RepoDigests": ["upf@sha256:abc"]}}`, `r.json: Metadata.RepoDigests: image reference "upf@sha256:abc": …`},
		{"two digests", `{"SchemaVersion": 2, "Metadata": {"RepoDigests": ["a/upf@` + cleanDigest + `", "b/upf@` + xzDigest + `"]}}`, "r.json: Metadata.RepoDigests names two digests, " + cleanDigest + " and " + xzDigest},
		{"bad severity", validHead + `"Results": [{"Vulnerabilities": [{"VulnerabilityID": "CVE-1", "Severity": "SEVERE"}]}]}`, `r.json: Results[0].Vulnerabilities[0] (CVE-1): unknown severity "SEVERE"…`},
		{"no ID", validHead + `"Results": [{}, {"Vulnerabilities": [{"Severity": "LOW"}]}]}`, "r.json: Results[1].Vulnerabilities[0]: no VulnerabilityID"},
		{"bad time", `{"SchemaVersion": 2, "CreatedAt": "yesterday"}`, `r.json:1:47 (offset 46): CreatedAt: parsing time "yesterday"…`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTrivy([]byte(tt.data), "r.json")
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("ParseTrivy = %v, want an *Error", err)
			}
			got := err.Error()
			prefix, suffix, partial := strings.Cut(tt.want, "…")
			if !partial && got != tt.want || partial && (!strings.HasPrefix(got, prefix) || !strings.Contains(got, suffix)) {
				t.Fatalf("error\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		file string // written to a temporary directory
		data string
		want string
	}{
		{"bad JSON", "bad.json", "{\n\"SchemaVersion\": 2,\n\"Results\": [}\n", "bad.json:3:13 (offset 34): not valid JSON near"},
		{"bad YAML", "vr.yaml", "apiVersion: aquasecurity.github.io/v1alpha1\nkind: VulnerabilityReport\nreport: [\n", "vr.yaml"},
		{"other kind", "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n", "cm.yaml:1 (document 1): a ConfigMap, not a Trivy report or an aquasecurity.github.io/VulnerabilityReport"},
		{"bad digest", "vr.yaml", "apiVersion: aquasecurity.github.io/v1alpha1\nkind: VulnerabilityReport\nmetadata:\n  name: r\n  namespace: vnf-nrf\nreport:\n  artifact:\n    digest: md5:abc\n", `vr.yaml:1 (document 1): VulnerabilityReport vnf-nrf/r: report.artifact.digest "md5:abc" is not a sha256 digest`},
		{"bad severity", "vr.yaml", "apiVersion: aquasecurity.github.io/v1alpha1\nkind: VulnerabilityReport\nmetadata:\n  name: r\nreport:\n  artifact:\n    digest: " + cleanDigest + "\n  vulnerabilities:\n  - vulnerabilityID: CVE-1\n    severity: SEVERE\n", `VulnerabilityReport r: report.vulnerabilities[0] (CVE-1): unknown severity "SEVERE"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, tt.file), []byte(tt.data), 0o600); err != nil {
				t.Fatal(err)
			}
			ix, err := Build([]string{dir}, nil, quiet)
			if err == nil || ix != nil {
				t.Fatalf("Build = %v, %v; want an error", ix, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error\n%s\ndoes not contain\n%s", err, tt.want)
			}
		})
	}
	if _, err := Build([]string{"testdata/nonexistent"}, nil, quiet); err == nil || !strings.Contains(err.Error(), "testdata/nonexistent: no such file or directory") {
		t.Errorf("missing path: %v", err)
	}
}

// TestReloadKeepsLastGood breaks a report between two loads: the gate keeps deciding with the last good index.
func TestReloadKeepsLastGood(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"xz.json", "clean.json"} {
		data, err := os.ReadFile(filepath.Join("testdata/reports", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	g, err := NewGate(Policy{DenyAt: Critical}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if res := g.Check(xzDigest, ""); res.Reason != ReasonMissing || res.Allowed {
		t.Fatalf("before Load: %+v", res)
	}
	if err := g.Load([]string{dir}, nil); err != nil {
		t.Fatal(err)
	}
	first := g.Index()
	if first.Len() != 2 || g.Check(xzDigest, "").Reason != ReasonSeverity {
		t.Fatalf("after Load: %d reports, %+v", first.Len(), g.Check(xzDigest, ""))
	}

	bad, err := os.ReadFile("testdata/bad/truncated.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "clean.json"), bad, 0o600); err != nil {
		t.Fatal(err)
	}
	err = g.Reload()
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "clean.json")+":11:69 (offset 430): not valid JSON") {
		t.Fatalf("Reload = %v, want the bad file's line", err)
	}
	if g.Index() != first || !g.Check(cleanDigest, "").Allowed {
		t.Fatal("a bad reload replaced the index")
	}

	// Fixed and rescanned: the next reload swaps the index.
	if err := os.Remove(filepath.Join(dir, "clean.json")); err != nil {
		t.Fatal(err)
	}
	if err := g.Reload(); err != nil {
		t.Fatal(err)
	}
	if g.Index() == first || g.Index().Len() != 1 || g.Check(cleanDigest, "").Reason != ReasonMissing {
		t.Fatalf("after the fix: %d reports", g.Index().Len())
	}
}

// readObject reads the VulnerabilityReport fixture as the caller would list it from the API server.
func readObject(t *testing.T) *unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile("testdata/reports/vulnerabilityreport.yaml")
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(data, &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestObjects(t *testing.T) {
	good := readObject(t)

	noDigest := good.DeepCopy()
	noDigest.SetName("replicaset-nrf-abc-nrf")
	if err := unstructured.SetNestedField(noDigest.Object, "", "report", "artifact", "digest"); err != nil {
		t.Fatal(err)
	}
	if _, err := FromUnstructured(noDigest); !errors.Is(err, ErrNoDigest) {
		t.Fatalf("no digest: %v, want ErrNoDigest", err)
	}

	// A report with only the summary: nothing can be ignored, and the counts deny.
	summaryOnly := good.DeepCopy()
	summaryOnly.SetName("replicaset-smf-abc-smf")
	unstructured.RemoveNestedField(summaryOnly.Object, "report", "vulnerabilities")
	if err := unstructured.SetNestedField(summaryOnly.Object, unfixedDigest, "report", "artifact", "digest"); err != nil {
		t.Fatal(err)
	}
	if err := unstructured.SetNestedField(summaryOnly.Object, int64(1), "report", "summary", "criticalCount"); err != nil {
		t.Fatal(err)
	}

	g, err := NewGate(Policy{DenyAt: Critical, IgnoreUnfixed: true}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	g.now = func() time.Time { return checkTime }
	if err := g.Load(nil, []*unstructured.Unstructured{good, noDigest, nil, summaryOnly}); err != nil {
		t.Fatal(err)
	}
	if g.Index().Len() != 2 {
		t.Fatalf("%d reports indexed, want 2 (the one without a digest skipped)", g.Index().Len())
	}
	res := g.Check(operatorDigest, "registry.example.com/5gc/upf")
	if !res.Allowed || res.Source != "VulnerabilityReport vnf-upf/replicaset-upf-6d4cf56db6-upf" || res.Age != time.Hour || res.Counts[High] != 2 || res.Ignored != 1 {
		t.Fatalf("operator report: %+v", res)
	}
	res = g.Check(unfixedDigest, "")
	if res.Allowed || res.Reason != ReasonSeverity || res.Counts[Critical] != 1 || res.Counts[High] != 2 ||
		!strings.Contains(res.Message, "has 1 vulnerability at or above CRITICAL; counts CRITICAL=1 HIGH=2 MEDIUM=0 LOW=1 UNKNOWN=0 (from the report's summary: it lists no vulnerabilities)") {
		t.Fatalf("summary-only report: %+v", res)
	}

	wrong := good.DeepCopy()
	wrong.SetKind("ConfigAuditReport")
	if err := g.Load(nil, []*unstructured.Unstructured{wrong}); err == nil || !strings.Contains(err.Error(), "is a aquasecurity.github.io/v1alpha1, Kind=ConfigAuditReport, not an aquasecurity.github.io/VulnerabilityReport") {
		t.Fatalf("wrong kind: %v", err)
	}
	if g.Index().Len() != 2 {
		t.Fatal("a bad load replaced the index")
	}
}

func TestIndex(t *testing.T) {
	old := &Report{Source: "old", Digest: xzDigest, Refs: []string{"index.docker.io/vnfvendor/upf@" + xzDigest}, Scanned: checkTime.Add(-48 * time.Hour)}
	newer := &Report{Source: "new", Digest: xzDigest, Refs: []string{"index.docker.io/vnfvendor/upf@" + xzDigest}, Scanned: checkTime.Add(-time.Hour)}
	mirror := &Report{Source: "mirror", Digest: xzDigest, Refs: []string{"registry.example.com/mirror/upf@" + xzDigest}, Scanned: checkTime.Add(-24 * time.Hour)}
	ix := NewIndex([]*Report{newer, old, mirror, nil})
	for _, tt := range []struct {
		digest, repo, want string
	}{
		{xzDigest, "", "new"},
		{xzDigest, "vnfvendor/upf", "new"},
		{xzDigest, "registry.example.com/mirror/upf", "mirror"},
		{"registry.example.com/mirror/upf@" + xzDigest, "", "mirror"},
		{xzDigest, "quay.io/other/upf", "new"}, // the content is the same
		{xzDigest, "not a repo!", "new"},
		{missingDigest, "vnfvendor/upf", ""},
		{"", "", ""},
	} {
		got := ""
		if r, ok := ix.Lookup(tt.digest, tt.repo); ok {
			got = r.Source
		}
		if got != tt.want {
			t.Errorf("Lookup(%q, %q) = %q, want %q", tt.digest, tt.repo, got, tt.want)
		}
	}
	if ix.Len() != 3 {
		t.Errorf("Len = %d, want 3", ix.Len())
	}
	var none *Index
	if _, ok := none.Lookup(xzDigest, ""); ok || none.Len() != 0 {
		t.Error("a nil index found something")
	}
}
