package vnfpkg

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

func TestValuesImages(t *testing.T) {
	data, err := os.ReadFile("testdata/values/mixed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var s imageSet
	if err := valuesImages(data, "core", "mixed.yaml", &s); err != nil {
		t.Fatal(err)
	}
	d1, d2 := "sha256:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
	want := []vnf.DeclaredImage{
		{Name: "backup", Image: "registry.example/ops/backup@" + d1, Digest: d1},
		{Name: "core", Image: "registry.example/5gc/amf@" + d1, Digest: d1},
		{Name: "nrf", Image: "registry.example/5gc/nrf:2.0"},
		{Name: "smf", Image: "registry.example/5gc/smf@" + d2, Digest: d2},
		{Name: "smf", Image: "busybox:1.36"},
	}
	if !slices.Equal(s.images, want) {
		t.Errorf("images\n got %+v\nwant %+v", s.images, want)
	}
	for _, w := range []string{"mixed.yaml: nrf.image: image registry.example/5gc/nrf:2.0 has no digest", "mixed.yaml: smf.initImage: image busybox:1.36 has no digest",
		"mixed.yaml: badRef.image: \"UPPER/Case@sha256:zz\" is not an image reference"} {
		if !slices.ContainsFunc(s.warnings, func(got string) bool { return strings.HasPrefix(got, w) }) {
			t.Errorf("no warning %q in %q", w, s.warnings)
		}
	}
	if len(s.warnings) != 3 {
		t.Errorf("%d warnings, want 3: %q", len(s.warnings), s.warnings)
	}
}

func TestValuesAliasBomb(t *testing.T) {
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	for i, prev := 'b', 'a'; i <= 'j'; i, prev = i+1, i {
		bomb += string(i) + ": &" + string(i) + " [" + strings.Repeat("*"+string(prev)+", ", 9) + "*" + string(prev) + "]\n"
	}
	var s imageSet
	if err := valuesImages([]byte(bomb), "bomb", "bomb.yaml", &s); err == nil || !strings.Contains(err.Error(), "aliases are expanded") {
		t.Fatalf("alias bomb: %v, want an error about expanded aliases", err)
	}
}
