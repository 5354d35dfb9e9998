package policy

import (
	"strings"
	"testing"
)

// TestUnderPrefix: underPrefix says what strings.HasPrefix(full+"/", prefix) says, for prefixes ending in "/".
func TestUnderPrefix(t *testing.T) {
	repos := []string{"", "r", "registry.5gc.example", "registry.5gc.example/5gc", "registry.5gc.example/5gc/upf", "registry.5gc.example/5gcx/upf", "index.docker.io/library/nginx"}
	prefixes := []string{"/", "r/", "registry.5gc.example/", "registry.5gc.example/5gc/", "registry.5gc.example/5gc/upf/", "registry.5gc.example/5g/", "index.docker.io/"}
	for _, full := range repos {
		for _, prefix := range prefixes {
			if got, want := underPrefix(full, prefix), strings.HasPrefix(full+"/", prefix); got != want {
				t.Errorf("underPrefix(%q, %q) = %v, want %v", full, prefix, got, want)
			}
		}
	}
}
