package detect

import (
	"testing"

	"github.com/vnfguard/vnfguard/internal/danger"
)

// TestSharedHostPathTable: detection's hostTakeover() agrees with danger.HostPathCases, the table admission and
// posture run too.
func TestSharedHostPathTable(t *testing.T) {
	for _, tc := range danger.HostPathCases {
		spec := map[string]any{"volumes": []any{map[string]any{"name": "h", "hostPath": map[string]any{"path": tc.Path}}}}
		if got := len(hostTakeover(spec)) > 0; got != tc.Takeover {
			t.Errorf("detection: hostPath %q takeover %v, the shared table says %v", tc.Path, got, tc.Takeover)
		}
	}
}
