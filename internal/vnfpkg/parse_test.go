package vnfpkg

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseManifestFixtures(t *testing.T) {
	cases := []struct {
		file     string
		metadata map[string]string
		sources  []string
	}{
		{"sol004.mf", map[string]string{"vnf_product_name": "vMRF", "vnf_provider_id": "Acme", "vnf_package_version": "1.0",
			"vnf_release_date_time": "2017-09-15T15:00:10+01:00", "vnfd_id": "1b5ebfa0-1234-4c6b-9a2f-2b6ac7e2f0d1"},
			[]string{"MRF.yaml", "scripts/install.sh", "https://registry.example.com/charts/mrf-1.0.tgz"}},
		{"compact.mf", map[string]string{"vnf_provider_id": "Acme", "vnf_product_name": "UPF",
			"vnf_release_date_time": "2025-06-01T10:00:00+00:00", "vnf_package_version": "1.4.2"},
			[]string{"Definitions/upf.yaml"}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata/manifest", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			m, err := ParseManifest(tc.file, data)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Metadata) != len(tc.metadata) {
				t.Errorf("metadata %v, want %v", m.Metadata, tc.metadata)
			}
			for k, v := range tc.metadata {
				if m.Metadata[k] != v {
					t.Errorf("metadata %s = %q, want %q", k, m.Metadata[k], v)
				}
			}
			var got []string
			for _, e := range m.Entries {
				got = append(got, e.Source)
			}
			if strings.Join(got, ",") != strings.Join(tc.sources, ",") {
				t.Errorf("sources %q, want %q", got, tc.sources)
			}
			if m.Signature != nil || string(m.Signed) != string(data) {
				t.Errorf("an unsigned manifest has a signature, or Signed is not the whole manifest")
			}
		})
	}
}

func TestParseManifestErrors(t *testing.T) {
	h := strings.Repeat("ab", 32)
	cases := []struct {
		name, in string
		want     error
		msg      string
	}{
		{"no hash", "Source: a.yaml\nAlgorithm: SHA-256\n", ErrFormat, "m.mf:1: a.yaml: malformed package: the artifact needs both Algorithm and Hash"},
		{"unknown algorithm", "Source: a.yaml\nAlgorithm: SHA256\nHash: " + h + "\n", ErrAlgorithm, `m.mf:1: a.yaml: unsupported hash algorithm "SHA256"`},
		{"short hash", "Source: a.yaml\nAlgorithm: SHA-512\nHash: " + h + "\n", ErrFormat, "a SHA-512 hash has 128 hex digits, not 64"},
		{"not hex", "Source: a.yaml\nAlgorithm: SHA-256\nHash: xyz\n", ErrFormat, `m.mf:3: a.yaml: malformed package: Hash "xyz" is not hexadecimal`},
		{"duplicate", "Source: a.yaml\nAlgorithm: SHA-256\nHash: " + h + "\n\nSource: a.yaml\n", ErrDuplicate, "m.mf:5: a.yaml: duplicate entry: also listed at line 1"},
		{"two algorithms", "Source: a.yaml\nAlgorithm: SHA-256\nAlgorithm: SHA-512\n", ErrFormat, "Algorithm is given twice"},
		{"unknown keyword", "Sauce: a.yaml\n", ErrFormat, `m.mf:1: malformed package: unexpected "Sauce"`},
		{"no colon", "metadata:\nvnf_provider_id Acme\n", ErrFormat, `m.mf:2: malformed package: "vnf_provider_id Acme" is not "keyword: value"`},
		{"bad PEM", "Source: a.yaml\nAlgorithm: SHA-256\nHash: " + h + "\n-----BEGIN CMS-----\n!!\n", ErrSignature, "not valid PEM"},
		{"CMS mid-line", "x: y -----BEGIN CMS-----\n", ErrSignature, "does not start a line"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseManifest("m.mf", []byte(tc.in))
			if !errors.Is(err, tc.want) || m != nil {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
		})
	}
}

func TestParseToscaMeta(t *testing.T) {
	data, err := os.ReadFile("testdata/meta/TOSCA.meta")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseToscaMeta(data)
	if err != nil {
		t.Fatal(err)
	}
	if m.EntryDefinitions != "Definitions/MRF.yaml" || m.EntryManifest != "MRF.mf" || m.EntryCertificate != "Files/Certificates/MRF.cert" ||
		m.CSARVersion != "1.1" || m.CreatedBy != "Acme" || m.EntryChangeLog != "Files/ChangeLog.txt" || m.Other["X-Acme-Build"] != "4711" {
		t.Errorf("parsed %+v", m)
	}
	if _, ok := m.Other["Name"]; ok {
		t.Errorf("block 1's Name leaked into block 0")
	}
	for _, tc := range []struct{ in, msg string }{
		{"CSAR-Version: 1.1\n", "no Entry-Definitions"},
		{"Entry-Definitions: a.yaml\nEntry-Definitions: b.yaml\n", "TOSCA.meta:2: malformed package: Entry-Definitions is given twice"},
		{"Entry-Definitions a.yaml\n", "TOSCA.meta:1: malformed package"},
	} {
		if _, err := ParseToscaMeta([]byte(tc.in)); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("ParseToscaMeta(%q): %v, want %q", tc.in, err, tc.msg)
		}
	}
}

func TestCheckPath(t *testing.T) {
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{"Definitions/upf.yaml", true}, {"a", true}, {"../a", false}, {"a/../../b", false}, {"/etc/passwd", false},
		{"C:/x", false}, {`a\..\b`, false}, {"a//b", false}, {"./a", false}, {"a/./b", false}, {"a\x00b", false}, {"", false},
	} {
		if err := checkPath(tc.path); (err == nil) != tc.ok {
			t.Errorf("checkPath(%q) = %v, want ok=%v", tc.path, err, tc.ok)
		}
	}
}

func FuzzParseManifest(f *testing.F) {
	files, _ := filepath.Glob("testdata/manifest/*.mf")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("Source: a\nAlgorithm: SHA-256\nHash: 00\n-----BEGIN CMS-----\nMA==\n-----END CMS-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest("fuzz.mf", data)
		if err != nil {
			if m != nil {
				t.Fatal("a manifest with an error")
			}
			return
		}
		for _, e := range m.Entries {
			if e.Source == "" || len(e.Hash) != e.hash.Size() {
				t.Fatalf("accepted an invalid entry %+v", e)
			}
		}
		if m.Signature != nil && len(m.Signed) > len(data) {
			t.Fatal("signed content longer than the manifest")
		}
		// A signature that parses must not make the verifier panic either.
		if m.Signature != nil {
			_, _ = verifySignature("fuzz.mf", m, "", nil, nil, time.Time{})
		}
	})
}

func FuzzParseToscaMeta(f *testing.F) {
	data, err := os.ReadFile("testdata/meta/TOSCA.meta")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("Entry-Definitions:\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseToscaMeta(data)
		if err == nil && m.EntryDefinitions == "" {
			t.Fatal("accepted TOSCA.meta without Entry-Definitions")
		}
	})
}
