package danger

import (
	"encoding/json"
	"testing"
)

// specMap is the pod spec as an audit event carries it: JSON, decoded into maps.
func specMap(t *testing.T, v any) map[string]any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCapabilityCases(t *testing.T) {
	for _, tc := range CapabilityCases {
		typed := DangerousCapabilities(PodOf(&tc.Spec), tc.Allow)
		fromJSON := DangerousCapabilities(PodOfMap(specMap(t, tc.Spec)), tc.Allow)
		if got := len(typed) > 0; got != tc.Dangerous {
			t.Errorf("%s: dangerous %v (%v), the table says %v", tc.Name, got, typed, tc.Dangerous)
		}
		if len(typed) != len(fromJSON) {
			t.Errorf("%s: the typed spec gives %v, its JSON %v", tc.Name, typed, fromJSON)
		}
		for _, h := range typed {
			if h.Reason == "" || h.Container.Name == "" {
				t.Errorf("%s: a hit without reason or container: %+v", tc.Name, h)
			}
		}
	}
}

func TestRootUserCases(t *testing.T) {
	for _, tc := range RootUserCases {
		typed := RunsAsRoot(PodOf(&tc.Spec))
		fromJSON := RunsAsRoot(PodOfMap(specMap(t, tc.Spec)))
		got := len(typed) > 0 && !tc.AllowRoot
		if got != tc.Root {
			t.Errorf("%s: root %v (%v), the table says %v", tc.Name, got, typed, tc.Root)
		}
		if len(typed) != len(fromJSON) {
			t.Errorf("%s: the typed spec gives %v, its JSON %v", tc.Name, typed, fromJSON)
		}
	}
}

func TestCapabilityNames(t *testing.T) {
	for _, tt := range []struct {
		name    string
		allowed []string
		want    bool
	}{
		{"SYS_ADMIN", nil, true}, {"cap_sys_admin", nil, true}, {" Sys_Admin ", nil, true},
		{"NET_ADMIN", []string{"CAP_NET_ADMIN"}, false}, {"net_admin", []string{"NET_ADMIN"}, false},
		{"NET_ADMIN", nil, true}, {"CHOWN", nil, false}, {"", nil, false}, {"CAP_", nil, false},
	} {
		if got, _ := Capability(tt.name, tt.allowed); got != tt.want {
			t.Errorf("Capability(%q, %v) = %v, want %v", tt.name, tt.allowed, got, tt.want)
		}
	}
}

// TestPodOfMapBadInput: a spec of the wrong shapes reads as nothing, without a panic.
func TestPodOfMapBadInput(t *testing.T) {
	for _, raw := range []string{
		`{}`, `{"containers":"x"}`, `{"containers":[1,"a",null]}`,
		`{"securityContext":{"runAsUser":"0"},"containers":[{"securityContext":{"runAsUser":0.5,"capabilities":{"add":[1,null]}}}]}`,
		`{"containers":[{"securityContext":{"capabilities":"SYS_ADMIN"}}]}`,
	} {
		var m map[string]any
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			t.Fatal(err)
		}
		p := PodOfMap(m)
		if len(DangerousCapabilities(p, nil)) != 0 || len(RunsAsRoot(p)) != 0 {
			t.Errorf("PodOfMap(%s) judged dangerous", raw)
		}
	}
}
