package vnf

import (
	"errors"
	"fmt"
	"testing"
)

func TestNotFound(t *testing.T) {
	for _, tt := range []struct {
		kind, namespace, name, detail, want string
	}{
		{"Pod", "5gc", "upf-0", "", "Pod 5gc/upf-0: not found"},
		{"PersistentVolume", "", "pv-1", "", "PersistentVolume pv-1: not found"},
		{"Secret", "5gc", "tls", "not in the synced cache", "Secret 5gc/tls (not in the synced cache): not found"},
	} {
		err := NotFound(tt.kind, tt.namespace, tt.name, tt.detail)
		if got := err.Error(); got != tt.want {
			t.Errorf("NotFound(%q, %q, %q, %q) = %q, want %q", tt.kind, tt.namespace, tt.name, tt.detail, got, tt.want)
		}
		if !errors.Is(err, ErrNotFound) || !errors.Is(fmt.Errorf("look up owner: %w", err), ErrNotFound) {
			t.Errorf("NotFound(%q, ...) does not wrap ErrNotFound", tt.kind)
		}
	}
}
