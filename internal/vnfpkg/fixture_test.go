package vnfpkg_test

import (
	"flag"
	"os"
	"testing"

	"github.com/vnfguard/vnfguard/internal/vnfpkg"
	"github.com/vnfguard/vnfguard/internal/vnfpkg/csartest"
)

var update = flag.Bool("update", false, "regenerate testdata/upf.csar and testdata/ca.pem")

// TestGenerate checks the fixture package testdata/upf.csar against its trust anchor testdata/ca.pem, which docs
// and demos use ("vnfguard package verify internal/vnfpkg/testdata/upf.csar --trust-anchor
// internal/vnfpkg/testdata/ca.pem"). With -update it first makes them anew (go test ./internal/vnfpkg -run
// TestGenerate -update): a fresh CA and provider key, kept only in memory; the certificates are valid for 100 years.
func TestGenerate(t *testing.T) {
	if *update {
		ca := csartest.NewCA(t, "Example Operator VNF CA")
		data := csartest.New(t, ca.Issue(t, "Acme VNF signing")).Build(t)
		if err := os.WriteFile("testdata/upf.csar", data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("testdata/ca.pem", ca.PEM(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	anchors, err := vnfpkg.LoadTrustAnchors("testdata/ca.pem")
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := vnfpkg.Open("testdata/upf.csar", vnfpkg.Options{TrustAnchors: anchors})
	if err != nil {
		t.Fatal(err)
	}
	if pkg.VnfdID != csartest.VnfdID || !pkg.Signed || len(pkg.Images) != 4 {
		t.Errorf("fixture: vnfdId %q signed %v %d images, want %s, signed, 4 images", pkg.VnfdID, pkg.Signed, len(pkg.Images), csartest.VnfdID)
	}
	// The fixture's signer is not trusted by another CA.
	other := csartest.NewCA(t, "Other CA")
	pool, err := vnfpkg.LoadTrustAnchors(writeTemp(t, other.PEM()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vnfpkg.Open("testdata/upf.csar", vnfpkg.Options{TrustAnchors: pool}); err == nil {
		t.Errorf("the fixture verified against another CA")
	}
}

func writeTemp(t *testing.T, data []byte) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "*.pem")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}
