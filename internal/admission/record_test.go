package admission

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/vnfguard/vnfguard/internal/policy"
)

type recorded struct{ ns, pod, container, via string }

type recorderFunc func(ns, pod, container, via string, at time.Time)

func (f recorderFunc) Record(ns, pod, container, via string, at time.Time) {
	f(ns, pod, container, via, at)
}

func TestRecordingAccessRecordsOnlyAllowedExecAndAttach(t *testing.T) {
	var got []recorded
	rec := recorderFunc(func(ns, pod, container, via string, _ time.Time) {
		got = append(got, recorded{ns, pod, container, via})
	})
	deny := HandlerFunc(func(_ context.Context, req *policy.Request) *policy.Decision { return &policy.Decision{Request: req} })
	pods := schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	exec := &policy.Request{UID: "u1", Operation: policy.Connect, Resource: pods, SubResource: "exec", Namespace: "5gc", Name: "upf-0",
		Object: &corev1.PodExecOptions{Container: "upf", Command: []string{"sh"}}}
	attach := &policy.Request{UID: "u2", Operation: policy.Connect, Resource: pods, SubResource: "attach", Namespace: "5gc", Name: "upf-0",
		Object: &corev1.PodAttachOptions{Container: "upf"}}
	portforward := &policy.Request{UID: "u3", Operation: policy.Connect, Resource: pods, SubResource: "portforward", Namespace: "5gc", Name: "upf-0",
		Object: &corev1.PodPortForwardOptions{}}
	for _, req := range []*policy.Request{exec, attach, portforward} {
		RecordingAccess(AllowAll, rec).Handle(context.Background(), req)
		RecordingAccess(deny, rec).Handle(context.Background(), req)
	}
	if len(got) != 2 || got[0].container != "upf" || got[1].via == "" || got[0].ns != "5gc" || got[0].pod != "upf-0" {
		t.Errorf("recorded %+v; want the allowed exec and attach only", got)
	}
}
