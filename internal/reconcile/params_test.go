package reconcile

import (
	"maps"
	"testing"

	"github.com/vnfguard/vnfguard/internal/apipolicy"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// TestLifecycleParams projects each state the checks tell apart into the parameters of the protected namespace, and
// nothing into the others: the pods that may not be entered (stopped, terminated, terminating, unknown, being
// deleted), the claims and workloads of dormant instances (not of one with an operation in progress), and every
// instance with RUNNABLE or its state.
func TestLifecycleParams(t *testing.T) {
	const ns = "core"
	snap := vnf.NewSnapshot("test", "v7", t0, []*vnf.Instance{
		instance("run", "UPF", ns, "INSTANTIATED"),
		instance("stop", "UPF", ns, "STOPPED"),
		instance("gone", "UDR", ns, "NOT_INSTANTIATED"),
		instance("heal", "SMF", ns, "STOPPED", operating("HEAL")),
		instance("term", "AMF", ns, "INSTANTIATED", operating("TERMINATE")),
	})
	objs := []Object{
		object(KindDeployment, ns, "upf", label("run")),
		object(KindReplicaSet, ns, "upf-1", ownedBy(KindDeployment, "upf")),
		object(KindPod, ns, "upf-1-a", ownedBy(KindReplicaSet, "upf-1")),
		object(KindPod, ns, "upf-1-b", ownedBy(KindReplicaSet, "upf-1"), deleting(t0)),
		object(KindDeployment, ns, "upf-stopped", label("stop")),
		object(KindReplicaSet, ns, "upf-stopped-1", ownedBy(KindDeployment, "upf-stopped")),
		object(KindPod, ns, "upf-stopped-1-a", ownedBy(KindReplicaSet, "upf-stopped-1")),
		object(KindStatefulSet, ns, "smf", label("heal")),
		object(KindPod, ns, "smf-0", ownedBy(KindStatefulSet, "smf")),
		object(KindPod, ns, "amf-0", label("term")),
		object(KindPod, ns, "ghost-0", label("deleted-long-ago")),
		object(KindPersistentVolumeClaim, ns, "data-udr-0", label("gone")),
		object(KindPersistentVolumeClaim, ns, "data-smf-0", label("heal")),
		object(KindPersistentVolumeClaim, ns, "data-upf-0", label("run")),
		object(KindPod, "elsewhere", "stray", label("stop")),
	}
	got := LifecycleParams(snap, NewState([]string{ns}, objs), DefaultOptions(), t0)
	want := map[string]string{
		apipolicy.KeyInventory:                              "v7",
		apipolicy.KeyInstance + "run":                       apipolicy.Runnable,
		apipolicy.KeyInstance + "stop":                      "STOPPED",
		apipolicy.KeyInstance + "gone":                      "NOT_INSTANTIATED",
		apipolicy.KeyInstance + "heal":                      apipolicy.Runnable,
		apipolicy.KeyInstance + "term":                      apipolicy.Runnable,
		apipolicy.KeyPod + "upf-1-b":                        "DELETING run",
		apipolicy.KeyPod + "upf-stopped-1-a":                "STOPPED stop",
		apipolicy.KeyPod + "smf-0":                          "STOPPED heal",
		apipolicy.KeyPod + "amf-0":                          "TERMINATING term",
		apipolicy.KeyPod + "ghost-0":                        "UNKNOWN deleted-long-ago",
		apipolicy.KeyClaim + "data-udr-0":                   "NOT_INSTANTIATED gone",
		apipolicy.OwnerKey(KindDeployment, "upf-stopped"):   "STOPPED stop",
		apipolicy.OwnerKey(KindReplicaSet, "upf-stopped-1"): "STOPPED stop",
	}
	if len(got) != 1 {
		t.Fatalf("parameters for %d namespaces, want the one protected namespace: %v", len(got), got)
	}
	if !maps.Equal(got[ns], want) {
		for k, v := range want {
			if got[ns][k] != v {
				t.Errorf("%s = %q, want %q", k, got[ns][k], v)
			}
		}
		for k, v := range got[ns] {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected %s = %q", k, v)
			}
		}
	}
	if LifecycleParams(&vnf.Snapshot{}, NewState([]string{ns}, objs), DefaultOptions(), t0) != nil {
		t.Error("an inventory that has not loaded gives parameters: the policies would judge by nothing")
	}
}
