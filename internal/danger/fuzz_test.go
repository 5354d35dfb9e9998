package danger

import (
	"encoding/json"
	"testing"

	corev1 "k8s.io/api/core/v1"
	sigsjson "sigs.k8s.io/json"
)

// FuzzPodOfMap: any JSON reads into a Pod without a panic, and whenever the API server's decoder (case-sensitive,
// as sigs.k8s.io/json) accepts it as a PodSpec, the typed and the JSON views give the same verdicts.
func FuzzPodOfMap(f *testing.F) {
	for _, tc := range CapabilityCases {
		raw, _ := json.Marshal(tc.Spec)
		f.Add(raw)
	}
	for _, tc := range RootUserCases {
		raw, _ := json.Marshal(tc.Spec)
		f.Add(raw)
	}
	for _, s := range []string{`{}`, `{"containers":null}`, `{"securityContext":{"runAsUser":-0}}`, `{"containers":[{"securityContext":{"runAsUser":1e400}}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var m map[string]any
		if json.Unmarshal(raw, &m) != nil {
			return
		}
		p := PodOfMap(m)
		caps, root := DangerousCapabilities(p, nil), RunsAsRoot(p)
		var spec corev1.PodSpec
		if err := sigsjson.UnmarshalCaseSensitivePreserveInts(raw, &spec); err != nil {
			return
		}
		typed := PodOf(&spec)
		if got := DangerousCapabilities(typed, nil); len(got) != len(caps) {
			t.Errorf("%s: typed %v, JSON %v", raw, got, caps)
		}
		if got := RunsAsRoot(typed); len(got) != len(root) {
			t.Errorf("%s: root typed %v, JSON %v", raw, got, root)
		}
	})
}
