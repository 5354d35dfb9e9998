package reconcile

import (
	"encoding/json"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

// FuzzFromUnstructured feeds arbitrary objects (as a dynamic informer or a manifest would give them) through the
// record converter and a whole evaluation: whatever the fields hold, nothing panics and the kind is kept.
func FuzzFromUnstructured(f *testing.F) {
	for _, seed := range []string{
		`{"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"pv","labels":{"tacker_vnf_instance_id":"amf-1"}},"spec":{"persistentVolumeReclaimPolicy":"Retain","claimRef":{"namespace":"vnf","name":"amf-data"}},"status":{"phase":"Released"}}`,
		`{"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshot","metadata":{"name":"s","namespace":"vnf"},"spec":{"source":{"persistentVolumeClaimName":"amf-data"}}}`,
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"vnf","ownerReferences":[{"kind":"ReplicaSet","name":"p"}]}}`,
		`{"kind":"PersistentVolume","spec":{"claimRef":"not an object","persistentVolumeReclaimPolicy":7}}`,
		`{"kind":"Pod","metadata":{"name":"x","namespace":"vnf","deletionTimestamp":"2026-11-24T08:00:00Z","labels":{"tacker_vnf_instance_id":""}}}`,
	} {
		f.Add([]byte(seed))
	}
	snap := vnf.NewSnapshot("fuzz", "v", t0, []*vnf.Instance{
		instance("amf-1", "AMF", ns, "NOT_INSTANTIATED", pvcs("amf-data")),
		instance("upf-1", "UPF", ns, "INSTANTIATED", pods("p")),
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		var m map[string]any
		if json.Unmarshal(data, &m) != nil {
			return
		}
		u := &unstructured.Unstructured{Object: m}
		o := FromUnstructured(u)
		if o.Kind != u.GetKind() {
			t.Fatalf("kind %q became %q", u.GetKind(), o.Kind)
		}
		// Self-owned and duplicated objects too: the owner walk must stay bounded.
		fs := Evaluate(snap, nil, NewState([]string{ns}, []Object{o, o}), DefaultOptions(), t0)
		seen := map[string]bool{}
		for _, f := range fs {
			if seen[f.ID] {
				t.Fatalf("finding %s (%s %s) twice", f.ID, f.Rule, f.Object)
			}
			seen[f.ID] = true
		}
	})
}
