package admission

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/vnfguard/vnfguard/internal/policy"
)

// AccessRecorder notes a way into a pod that passed the API server (detect.AccessLedger implements it).
type AccessRecorder interface {
	Record(namespace, pod, container, via string, at time.Time)
}

// RecordingAccess wraps a handler so that every exec and attach it allows is recorded: the node agent later sees
// the process start in the container, and the recorder lets detection tell an exec that passed the API server from
// one that went to the kubelet or containerd directly. The admission request arrives before the kubelet is even
// called, so it is the earliest and surest record; denied requests are not recorded (nothing ran).
func RecordingAccess(next Handler, rec AccessRecorder) Handler {
	return HandlerFunc(func(ctx context.Context, req *policy.Request) *policy.Decision {
		d := next.Handle(ctx, req)
		if d == nil || !d.Allowed || req.Operation != policy.Connect || req.Resource.Resource != "pods" {
			return d
		}
		container := ""
		switch o := req.Object.(type) {
		case *corev1.PodExecOptions:
			container = o.Container
		case *corev1.PodAttachOptions:
			container = o.Container
		default:
			return d
		}
		rec.Record(req.Namespace, req.Name, container, "admission request "+req.UID+" (pods/"+req.SubResource+" by "+req.User.Username+")", time.Now())
		return d
	})
}
