package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vnfguard/vnfguard/internal/inventory/file"
	"github.com/vnfguard/vnfguard/internal/vnfpkg/csartest"
)

// runPackageCLI runs "vnfguard package ARGS" the way run does, whether or not main.go registers the command yet.
func runPackageCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := newPackageCommand(&stdout, &stderr)
	cmd.SetArgs(args)
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	err := cmd.Execute()
	code := exitClean
	var ec *exitCodeError
	switch {
	case err == nil:
	case errors.As(err, &ec):
		code = ec.code
		stderr.WriteString(err.Error())
	default:
		code = exitError
		stderr.WriteString(err.Error())
	}
	return code, stdout.String(), stderr.String()
}

// packageFixture writes a CSAR (tampered by tamper, if not nil) and the operator's CA to a temporary directory.
func packageFixture(t *testing.T, tamper func(c *csartest.CSAR, rogue *csartest.Identity)) (csarPath, caPath string) {
	t.Helper()
	ca := csartest.NewCA(t, "Operator VNF CA")
	c := csartest.New(t, ca.Issue(t, "Acme VNF signing"))
	if tamper != nil {
		tamper(c, csartest.NewCA(t, "Rogue CA").Issue(t, "Acme VNF signing"))
	}
	dir := t.TempDir()
	csarPath, caPath = filepath.Join(dir, "upf.csar"), filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(csarPath, c.Build(t), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(caPath, ca.PEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	return csarPath, caPath
}

func TestPackageVerifyCLI(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(c *csartest.CSAR, rogue *csartest.Identity)
		args   func(csar, ca string) []string
		code   int
		out    []string // in stdout (exit 0) or stderr
	}{
		{"good", nil, func(csar, ca string) []string { return []string{"verify", csar, "--trust-anchor", ca} }, exitClean,
			[]string{"VNFD:      " + csartest.VnfdID, "Provider:  Acme", "Product:   UPF 1.4.2", "CN=Acme VNF signing", "(chains to a trust anchor)",
				"Files/kubernetes/upf-1.4.2.tgz", "hash ok", "registry.5gc.example/5gc/sidecar", csartest.SidecarDigest}},
		{"broken hash", func(c *csartest.CSAR, _ *csartest.Identity) {
			c.Replace = map[string][]byte{"Files/ChangeLog.txt": []byte("tampered\n")}
		}, func(csar, ca string) []string { return []string{"verify", csar, "--trust-anchor", ca} }, exitFindings,
			[]string{"Files/ChangeLog.txt: hash mismatch"}},
		{"missing artifact", func(c *csartest.CSAR, _ *csartest.Identity) { c.Omit = map[string]bool{"Licenses/LICENSE.txt": true} },
			func(csar, ca string) []string { return []string{"verify", csar, "--trust-anchor", ca} }, exitFindings,
			[]string{"Licenses/LICENSE.txt: missing artifact"}},
		{"bad signature", func(c *csartest.CSAR, rogue *csartest.Identity) { c.Signer, c.CertInPackage = rogue, rogue },
			func(csar, ca string) []string { return []string{"verify", csar, "--trust-anchor", ca} }, exitFindings,
			[]string{"untrusted signer", "does not chain to a trust anchor"}},
		{"signed, no trust anchor", nil, func(csar, _ string) []string { return []string{"verify", csar} }, exitFindings,
			[]string{"no trust anchor was given"}},
		{"unsigned", func(c *csartest.CSAR, _ *csartest.Identity) { c.Signer, c.CertInPackage = nil, nil },
			func(csar, ca string) []string { return []string{"verify", csar, "--trust-anchor", ca} }, exitFindings,
			[]string{"package not signed"}},
		{"unsigned allowed", func(c *csartest.CSAR, _ *csartest.Identity) { c.Signer, c.CertInPackage = nil, nil },
			func(csar, _ string) []string { return []string{"verify", csar, "--allow-unsigned"} }, exitClean,
			[]string{"Signer:    not signed", "warning: Definitions/upf.mf: the package is not signed"}},
		{"no file argument", nil, func(string, string) []string { return []string{"verify"} }, exitError, []string{"accepts 1 arg(s)"}},
		{"bad output", nil, func(csar, ca string) []string { return []string{"verify", csar, "--trust-anchor", ca, "-o", "xml"} }, exitError,
			[]string{`-o "xml": want one of table, json`}},
		{"missing trust anchor file", nil, func(csar, _ string) []string {
			return []string{"verify", csar, "--trust-anchor", "/nonexistent/ca.pem"}
		},
			exitError, []string{"--trust-anchor: read trust anchor"}},
		{"missing package file", nil, func(_, ca string) []string { return []string{"verify", "/nonexistent/x.csar", "--trust-anchor", ca} },
			exitError, []string{"open VNF package"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			csar, ca := packageFixture(t, tc.tamper)
			code, out, errOut := runPackageCLI(t, tc.args(csar, ca)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			text := errOut
			if code == exitClean {
				text = out
			}
			for _, want := range tc.out {
				if !strings.Contains(text, want) {
					t.Errorf("output does not say %q:\n%s", want, text)
				}
			}
		})
	}
}

func TestPackageVerifyJSON(t *testing.T) {
	csar, ca := packageFixture(t, nil)
	code, out, errOut := runPackageCLI(t, "verify", csar, "--trust-anchor", ca, "-o", "json")
	if code != exitClean {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var v packageView
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if v.VnfdID != csartest.VnfdID || !v.Signed || len(v.Images) != 4 || len(v.Artifacts) != 4 {
		t.Errorf("JSON %+v, want the signed package with 4 images and 4 artifacts", v)
	}
}

func TestPackageImportCLI(t *testing.T) {
	dir := t.TempDir()
	catalogue := filepath.Join(dir, "packages.yaml")
	example, err := os.ReadFile("../../examples/packages.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(catalogue, example, 0o644); err != nil {
		t.Fatal(err)
	}
	csar, ca := packageFixture(t, nil)
	code, out, errOut := runPackageCLI(t, "import", csar, "--packages", catalogue, "--trust-anchor", ca)
	if code != exitClean || !strings.Contains(out, "added "+csartest.VnfdID) || !strings.Contains(out, "4 images") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	pkgs, err := file.LoadPackages(catalogue)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs[csartest.VnfdID]) != 4 || len(pkgs["b1bb0ce7-ebca-4fa7-95ed-4840d70a1177"]) != 1 {
		t.Errorf("catalogue after import: %+v", pkgs)
	}

	// A package whose chart names an image by tag: refused, then imported with --allow-tags.
	tagged, ca2 := packageFixture(t, func(c *csartest.CSAR, _ *csartest.Identity) {
		c.Files[1].Data = csartest.Chart(t, "upf", "image: registry.5gc.example/5gc/upf:1.4.2\n")
	})
	before, _ := os.ReadFile(catalogue)
	code, _, errOut = runPackageCLI(t, "import", tagged, "--packages", catalogue, "--trust-anchor", ca2)
	if code != exitFindings || !strings.Contains(errOut, "without a digest (first: registry.5gc.example/5gc/upf:1.4.2)") {
		t.Fatalf("tagged image: exit %d, stderr %q; want exit 1 naming the image", code, errOut)
	}
	if after, _ := os.ReadFile(catalogue); !bytes.Equal(before, after) {
		t.Errorf("a refused import changed the catalogue")
	}
	code, out, errOut = runPackageCLI(t, "import", tagged, "--packages", catalogue, "--trust-anchor", ca2, "--allow-tags")
	if code != exitClean || !strings.Contains(out, "replaced "+csartest.VnfdID) {
		t.Fatalf("--allow-tags: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	// Usage: no --packages; a tampered package is exit 1 and leaves the catalogue alone.
	if code, _, errOut := runPackageCLI(t, "import", csar); code != exitError || !strings.Contains(errOut, "--packages") {
		t.Errorf("import without --packages: exit %d, stderr %q", code, errOut)
	}
	bad, ca3 := packageFixture(t, func(c *csartest.CSAR, _ *csartest.Identity) {
		c.Extra = []csartest.File{{Name: "Files/evil.sh", Data: []byte("x")}}
	})
	before, _ = os.ReadFile(catalogue)
	if code, _, errOut := runPackageCLI(t, "import", bad, "--packages", catalogue, "--trust-anchor", ca3); code != exitFindings || !strings.Contains(errOut, "Files/evil.sh: artifact not listed") {
		t.Errorf("tampered import: exit %d, stderr %q", code, errOut)
	}
	if after, _ := os.ReadFile(catalogue); !bytes.Equal(before, after) {
		t.Errorf("a tampered package changed the catalogue")
	}
}
