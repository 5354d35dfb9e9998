package policy

import (
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestFromAdmission(t *testing.T) {
	pod := []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"upf-7d9c-"},"spec":{"containers":[{"name":"c","image":"x"}]}}`)
	req, err := FromAdmission(&admissionv1.AdmissionRequest{UID: "u", Operation: admissionv1.Create, Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
		Namespace: "vnf", Object: runtime.RawExtension{Raw: pod}})
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := req.Object.(*corev1.Pod); !ok || p.Spec.Containers[0].Image != "x" || req.Name != "upf-7d9c-" {
		t.Errorf("decoded %T name %q", req.Object, req.Name)
	}
	exec, err := FromAdmission(&admissionv1.AdmissionRequest{UID: "u", Operation: admissionv1.Connect, Kind: metav1.GroupVersionKind{Version: "v1", Kind: "PodExecOptions"},
		SubResource: "exec", Name: "upf-0", Namespace: "vnf", Object: runtime.RawExtension{Raw: []byte(`{"kind":"PodExecOptions","apiVersion":"v1","command":["sh"]}`)}})
	if err != nil || exec.Kind.Kind != "Pod" || exec.Name != "upf-0" {
		t.Errorf("CONNECT: kind %v name %q err %v", exec.Kind, exec.Name, err)
	}
	for _, tt := range []struct {
		ar   *admissionv1.AdmissionRequest
		want string
	}{
		{nil, "no request"},
		{&admissionv1.AdmissionRequest{Operation: "PATCH"}, `operation "PATCH"`},
		{&admissionv1.AdmissionRequest{Operation: admissionv1.Create, Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, Namespace: "vnf", Name: "p",
			Object: runtime.RawExtension{Raw: []byte(`{"spec":{"containers":"no"}}`)}}, "request.object (Pod vnf/p): decode Pod"},
		{&admissionv1.AdmissionRequest{Operation: admissionv1.Update, Kind: metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"},
			OldObject: runtime.RawExtension{Raw: []byte(`{"spec":{"replicas":"two"}}`)}}, "request.oldObject (Deployment"},
	} {
		if _, err := FromAdmission(tt.ar); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("error %v, want %q", err, tt.want)
		}
	}
}
