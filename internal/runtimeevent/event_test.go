package runtimeevent

import (
	"strings"
	"testing"
	"time"
)

func validExec() Event {
	return Event{ID: "n1/k8s.io/c1/exec/x1", Kind: KindExec, Time: time.Unix(1700000000, 0).UTC(), Node: "n1", Observed: "event",
		Container: Container{Namespace: "k8s.io", ID: "c1", Origin: OriginCRI, Running: true,
			Pod: &Pod{Namespace: "vnf-upf", Name: "upf-0", UID: "u1", Container: "upf"}},
		Exec: &Exec{ID: "x1", Pid: 7, Command: []string{"cat", "/data/secret"}}}
}

func TestEnvelopeRoundTrip(t *testing.T) {
	e := validExec()
	env, err := Envelope(&e, "system:serviceaccount:vnfguard:vnfguard-node", "10.0.0.7")
	if err != nil {
		t.Fatal(err)
	}
	if env.ObjectRef.Resource != "pods" || env.ObjectRef.Namespace != "vnf-upf" || env.ObjectRef.Name != "upf-0" {
		t.Errorf("a CRI container's envelope must name its pod: %+v", env.ObjectRef)
	}
	again, _ := Envelope(&e, "x", "")
	if env.AuditID != again.AuditID || env.AuditID == "" {
		t.Error("the same event must get the same audit ID (the intake drops a batch sent twice by it)")
	}
	back, ok, err := FromEnvelope(&env)
	if !ok || err != nil || back.Exec.Command[1] != "/data/secret" || !back.Time.Equal(e.Time) {
		t.Fatalf("FromEnvelope = %+v, %v, %v", back, ok, err)
	}
	// A rogue container claims a pod through its labels: the envelope names the node, never the claimed pod.
	rogue := validExec()
	rogue.Container.Origin, rogue.Container.Pod, rogue.Container.ClaimedPod = OriginContainerd, nil, "vnf-upf/upf-0"
	env, _ = Envelope(&rogue, "x", "")
	if env.ObjectRef.Resource != "nodes" || env.ObjectRef.Name != "n1" {
		t.Errorf("rogue container's envelope: %+v", env.ObjectRef)
	}
}

func TestDecodeListNamesTheFault(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{`, "not a RuntimeEventList"},
		{`{"apiVersion":"v1","kind":"List","items":[]}`, "want vnfguard.io/v1alpha1 RuntimeEventList"},
		{`{"apiVersion":"vnfguard.io/v1alpha1","kind":"RuntimeEventList","items":[]}`, "has no items"},
		{`{"apiVersion":"vnfguard.io/v1alpha1","kind":"RuntimeEventList","items":[{"id":"a","kind":"exec","time":"2026-01-01T00:00:00Z","node":"n","container":{"namespace":"k8s.io","id":"c","origin":"cri"}}]}`,
			`items[0] (id "a"): container.pod (namespace and name) is required for origin cri; exec.id is required for kind exec`},
		{`{"apiVersion":"vnfguard.io/v1alpha1","kind":"RuntimeEventList","items":[{"id":"a","kind":"shell","node":"n","container":{"namespace":"moby","id":"c","origin":"forged"}}]}`,
			`kind "shell"`},
	} {
		_, err := DecodeList([]byte(tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to say %q", tc.body, err, tc.want)
		}
	}
}

func FuzzDecodeList(f *testing.F) {
	f.Add([]byte(`{"apiVersion":"vnfguard.io/v1alpha1","kind":"RuntimeEventList","items":[{"id":"a","kind":"container","time":"2026-01-01T00:00:00Z","node":"n","container":{"namespace":"moby","id":"c","origin":"engine"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := DecodeList(data)
		if err != nil {
			return
		}
		for i := range l.Items {
			env, err := Envelope(&l.Items[i], "u", "")
			if err != nil {
				t.Fatal(err)
			}
			if _, ok, err := FromEnvelope(&env); !ok || err != nil {
				t.Fatalf("a valid event did not survive its envelope: %v", err)
			}
		}
	})
}
