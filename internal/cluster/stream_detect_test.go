package cluster

import (
	"context"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/detect"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// TestFailedLookupsStillJudgeTheEvent: while the caches have not synced and the API server fails (then every
// lookup is failed or skipped), detection through the stream still reports what the event itself shows: an exec
// into the pod a STOPPED instance names as its compute resource, and an anonymous Secret list that needs no lookup
// at all. A failed lookup is never taken for "nothing there".
func TestFailedLookupsStillJudgeTheEvent(t *testing.T) {
	v, api := countingView(t)
	api.set(nil, apierrors.NewServiceUnavailable("etcd is down"))
	s := v.Stream()
	rules, err := detect.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	inst := &vnf.Instance{ID: "smf-1", VnfdID: "vnfd-smf", VnfProductName: "SMF", InstantiationState: vnf.Instantiated,
		InstantiatedVnfInfo: &vnf.InstantiatedVnfInfo{VnfState: vnf.Stopped, Metadata: map[string]any{"namespace": "5gc"},
			VnfcResourceInfo: []vnf.VnfcResourceInfo{{ID: "c1", ComputeResource: vnf.ResourceHandle{ResourceID: "smf-0"}}}}}
	engine, err := detect.NewEngine(rules, detect.Env{Config: config.Default(), Objects: s, Namespaces: s,
		Inventory: vnf.Static{Snap: vnf.NewSnapshot("test", "v1", time.Now(), []*vnf.Instance{inst})}})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.NewMicroTime(time.Now())
	for _, tc := range []struct {
		name, rule string
		ev         auditv1.Event
	}{
		{"exec into a STOPPED instance's pod", "exec-dormant-vnf", auditv1.Event{AuditID: "e1", Stage: auditv1.StageResponseComplete, Verb: "get",
			RequestURI: "/api/v1/namespaces/5gc/pods/smf-0/exec?command=sh", User: authnv1.UserInfo{Username: "mallory"},
			ObjectRef:      &auditv1.ObjectReference{Resource: "pods", APIVersion: "v1", Namespace: "5gc", Name: "smf-0", Subresource: "exec"},
			ResponseStatus: &metav1.Status{Code: 101}, RequestReceivedTimestamp: now, StageTimestamp: now}},
		{"anonymous list of Secrets", "", auditv1.Event{AuditID: "e2", Stage: auditv1.StageResponseComplete, Verb: "list",
			RequestURI: "/api/v1/secrets", User: authnv1.UserInfo{Username: "system:anonymous", Groups: []string{"system:unauthenticated"}},
			SourceIPs: []string{"203.0.113.7"}, ObjectRef: &auditv1.ObjectReference{Resource: "secrets", APIVersion: "v1"},
			ResponseStatus: &metav1.Status{Code: 200}, RequestReceivedTimestamp: now, StageTimestamp: now}},
	} {
		fs, err := engine.Evaluate(context.Background(), &tc.ev)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, f := range fs {
			if tc.rule == "" || f.Rule == tc.rule {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: findings %v; want %q with every lookup failing", tc.name, fs, tc.rule)
		}
	}
	if st := s.Stats(); st[AnswerFailed]+st[AnswerSkipped] == 0 {
		t.Errorf("no lookup failed (%v): the test does not test what it says", st)
	}
}
