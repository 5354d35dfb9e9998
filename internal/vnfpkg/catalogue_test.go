package vnfpkg_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vnfguard/vnfguard/internal/inventory/file"
	"github.com/vnfguard/vnfguard/internal/vnfpkg"
	"github.com/vnfguard/vnfguard/internal/vnfpkg/csartest"
)

// exampleVnfdID is the package of examples/packages.yaml, which an import must keep.
const exampleVnfdID = "b1bb0ce7-ebca-4fa7-95ed-4840d70a1177"

func TestImport(t *testing.T) {
	p := newPKI(t)
	pkg, err := verify(t, csartest.New(t, p.provider).Build(t), vnfpkg.Options{TrustAnchors: p.anchors})
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("../../examples/packages.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		existing []byte // nil: no file
		keep     []string
	}{
		{"into the example catalogue", example, []string{exampleVnfdID}},
		{"into a new catalogue", nil, nil},
		{"into an empty file", []byte("# nothing yet\n"), nil},
		{"into a catalogue with instances", []byte("apiVersion: vnfguard.io/v1alpha1\nkind: Inventory\nvnfPackages: []\nvnfInstances:\n  - id: upf-1\n    vnfdId: " + csartest.VnfdID + "\n    instantiationState: NOT_INSTANTIATED\n"), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "packages.yaml")
			if tc.existing != nil {
				if err := os.WriteFile(path, tc.existing, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			for round, wantReplaced := range []bool{false, true} {
				replaced, err := vnfpkg.Import(path, pkg)
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				if replaced != wantReplaced {
					t.Errorf("round %d: replaced=%v, want %v", round, replaced, wantReplaced)
				}
				got, err := file.LoadPackages(path)
				if err != nil {
					t.Fatalf("round %d: the catalogue does not load: %v", round, err)
				}
				if !slices.Equal(got[csartest.VnfdID], pkg.Images) {
					t.Errorf("round %d: catalogue declares %+v, want %+v", round, got[csartest.VnfdID], pkg.Images)
				}
				if len(got) != 1+len(tc.keep) {
					t.Errorf("round %d: %d packages in the catalogue, want %d", round, len(got), 1+len(tc.keep))
				}
				for _, id := range tc.keep {
					if len(got[id]) == 0 {
						t.Errorf("round %d: package %s was lost", round, id)
					}
				}
			}
			data, _ := os.ReadFile(path)
			if tc.name == "into the example catalogue" && !strings.Contains(string(data), "# The onboarded VNF packages") {
				t.Errorf("comments were lost:\n%s", data)
			}
			if st, err := os.Stat(path); err != nil || (tc.existing != nil && st.Mode().Perm() != 0o600) {
				t.Errorf("file mode not kept: %v %v", st.Mode(), err)
			}
			if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
				t.Errorf("temporary files left: %v", entries)
			}
		})
	}
}

func TestImportRefusesBadCatalogue(t *testing.T) {
	p := newPKI(t)
	pkg, err := verify(t, csartest.New(t, p.provider).Build(t), vnfpkg.Options{TrustAnchors: p.anchors})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "packages.yaml")
	bad := []byte("apiVersion: vnfguard.io/v1alpha1\nkind: Inventory\nvnfPackages:\n  - vnfdId: x\n    imgaes: []\n")
	if err := os.WriteFile(path, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := vnfpkg.Import(path, pkg); err == nil || !strings.Contains(err.Error(), "catalogue is invalid, not changing it") || !strings.Contains(err.Error(), "imgaes") {
		t.Fatalf("import into a broken catalogue: %v", err)
	}
	if data, _ := os.ReadFile(path); string(data) != string(bad) {
		t.Errorf("the broken catalogue was changed")
	}
}
