package danger

import "testing"

func TestHostPath(t *testing.T) {
	for _, tc := range HostPathCases {
		got, why := HostPath(tc.Path)
		if got != tc.Takeover {
			t.Errorf("HostPath(%q) = %v (%s), want %v", tc.Path, got, why, tc.Takeover)
		}
		if got && why == "" {
			t.Errorf("HostPath(%q): a takeover without a reason", tc.Path)
		}
	}
	if got, _ := HostPath(""); got {
		t.Error("an empty path is no takeover")
	}
}
