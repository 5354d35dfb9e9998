package main

import (
	"bufio"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/store"
)

// upperKeys returns the paths of the JSON object keys in v that start with an upper-case letter: Go field names
// leaking into output that should use the lowerCamel keys of every Kubernetes tool. Maps keyed by data (evidence,
// instances, label values) are skipped by their parent key.
func upperKeys(v any, path string, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if r := []rune(k); len(r) > 0 && unicode.IsUpper(r[0]) {
				*out = append(*out, path+"."+k)
			}
			switch k {
			case "evidence", "instances", "mitigationNames", "bySeverity", "byTechnique", "byMitigation", "properties", "labels", "counts":
				continue
			}
			upperKeys(val, path+"."+k, out)
		}
	case []any:
		for _, e := range x {
			upperKeys(e, path+"[]", out)
		}
	}
}

// Every command's JSON output uses lowerCamel keys (rules list printed Go field names: "ID", "Description").
func TestJSONOutputsUseLowerCamelKeys(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "findings.db")
	st, err := store.Open(t.Context(), db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Record(t.Context(), []finding.Finding{{ID: "x", Rule: "host-takeover", Technique: "FGT5013", Severity: finding.High, Message: "m",
		Evidence: map[string]string{"auditID": "a"}, Object: finding.ObjectRef{Kind: "Pod", Namespace: "vnf-upf", Name: "p"}}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	for _, args := range [][]string{
		{"rules", "list", "-o", "json"},
		{"policy", "test", "-f", "../../examples/manifests", "--config", "../../examples/config.yaml", "-o", "json"},
		{"scan", "-f", "../../examples/posture", "-o", "json", "--fail-on", "none"},
		{"findings", "list", "--store", db, "-o", "json"},
		{"scan", "rbac", "--who-can", "create", "pods", "-f", "../../examples/posture", "-o", "json"},
		{"detect", "--file", "../../internal/detect/testdata/corpus.jsonl", "-o", "json", "--fail-on", "critical"},
	} {
		_, out, errOut := runCLI(t, args...)
		if strings.TrimSpace(out) == "" {
			t.Errorf("%s: no output (stderr %s)", strings.Join(args, " "), errOut)
			continue
		}
		var docs []any
		if args[0] == "detect" { // JSON lines
			sc := bufio.NewScanner(strings.NewReader(out))
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for sc.Scan() {
				var v any
				if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
					t.Fatalf("%s: a line is not JSON: %v", strings.Join(args, " "), err)
				}
				docs = append(docs, v)
			}
		} else {
			var v any
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Fatalf("%s: not JSON: %v\n%.500s", strings.Join(args, " "), err, out)
			}
			docs = append(docs, v)
		}
		var bad []string
		for _, d := range docs {
			upperKeys(d, "", &bad)
		}
		if len(bad) > 0 {
			t.Errorf("%s: Go-style keys %v", strings.Join(args, " "), bad[:min(len(bad), 10)])
		}
	}
}

// A list of findings renders in every format of the one report path, and an unknown format names the known ones.
func TestFindingListFormats(t *testing.T) {
	db := filepath.Join(t.TempDir(), "findings.db")
	st, err := store.Open(t.Context(), db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Record(t.Context(), []finding.Finding{{ID: "x", Rule: "host-takeover", Technique: "FGT5013", Severity: finding.High, Message: "pod mounts /",
		VNFInstance: "upf-1", Object: finding.ObjectRef{Kind: "Pod", Namespace: "vnf-upf", Name: "p"}}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	for format, want := range map[string]string{"table": "host-takeover", "json": `"rule": "host-takeover"`, "sarif": `"ruleId": "host-takeover"`, "html": "<html"} {
		code, out, errOut := runCLI(t, "findings", "list", "--store", db, "-o", format)
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("findings list -o %s: exit %d, output lacks %q (stderr %s)\n%.300s", format, code, want, errOut, out)
		}
	}
	for _, args := range [][]string{{"findings", "list", "--store", db, "-o", "xml"}, {"detect", "--file", "-", "-o", "xml"}, {"rules", "list", "-o", "yaml"}} {
		code, _, errOut := runCLI(t, args...)
		if code != exitError || !strings.Contains(errOut, `"xml"`) && !strings.Contains(errOut, `"yaml"`) || !strings.Contains(errOut, "json") {
			t.Errorf("%s: exit %d, stderr %q; want a usage error naming the formats", strings.Join(args, " "), code, errOut)
		}
	}
}
