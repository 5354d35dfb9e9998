package policy

import (
	"encoding/json/jsontext"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestRequestComplete(t *testing.T) {
	podKind := schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
	pod, err := DecodeObject(podKind, []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"upf-7d9c-"},"spec":{"containers":[{"name":"c","image":"x"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	req := &Request{UID: "u", Operation: Create, Kind: podKind, Namespace: "vnf", Object: pod}
	req.Complete()
	if p, ok := req.Object.(*corev1.Pod); !ok || p.Spec.Containers[0].Image != "x" || req.Name != "upf-7d9c-" {
		t.Errorf("decoded %T name %q", req.Object, req.Name)
	}
	named := &Request{UID: "u", Operation: Create, Kind: podKind, Name: "given", Object: pod}
	if named.Complete(); named.Name != "given" {
		t.Errorf("a request's own name was replaced by %q", named.Name)
	}

	execKind := schema.GroupVersionKind{Version: "v1", Kind: "PodExecOptions"}
	opts, err := DecodeObject(execKind, []byte(`{"kind":"PodExecOptions","apiVersion":"v1","command":["sh"]}`))
	if err != nil {
		t.Fatal(err)
	}
	exec := &Request{UID: "u", Operation: Connect, Kind: execKind, SubResource: "exec", Name: "upf-0", Namespace: "vnf", Object: opts}
	if exec.Complete(); exec.Kind.Kind != "Pod" || exec.Name != "upf-0" {
		t.Errorf("CONNECT: kind %v name %q", exec.Kind, exec.Name)
	}
	if o, ok := exec.Object.(*corev1.PodExecOptions); !ok || o.Command[0] != "sh" {
		t.Errorf("CONNECT options decoded as %T %+v", exec.Object, exec.Object)
	}

	for _, op := range []string{Create, Update, Delete, Connect} {
		if err := CheckOperation(op); err != nil {
			t.Errorf("%s: %v", op, err)
		}
	}
	if err := CheckOperation("PATCH"); err == nil || !strings.Contains(err.Error(), `request.operation "PATCH" is not one of CREATE, UPDATE, DELETE, CONNECT`) {
		t.Errorf("PATCH: %v", err)
	}
}

// TestDecodeObject: the objects decode into their types, from bytes and straight from a stream alike, with the
// options the webhook decodes with (DecodeOptions): case-sensitive names, no duplicate names, valid UTF-8 only.
func TestDecodeObject(t *testing.T) {
	podKind := schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
	snapshot := schema.GroupVersionKind{Group: "snapshot.storage.k8s.io", Version: "v1", Kind: "VolumeSnapshot"}
	for _, tt := range []struct {
		name string
		kind schema.GroupVersionKind
		raw  string
		want string // an error's text; "" for none
		nil  bool
	}{
		{name: "null", kind: podKind, raw: `null`, nil: true},
		{name: "pod", kind: podKind, raw: `{"spec":{"hostPID":true}}`},
		{name: "unknown fields ignored", kind: podKind, raw: `{"spec":{"hostPID":true,"future":{"x":1}}}`},
		{name: "wrong type", kind: podKind, raw: `{"spec":{"containers":"no"}}`, want: `decode Pod: json: `},
		{name: "duplicate name", kind: podKind, raw: `{"spec":{"hostPID":false,"hostPID":true}}`, want: `duplicate object member name "hostPID"`},
		{name: "invalid UTF-8", kind: podKind, raw: "{\"metadata\":{\"name\":\"\xff\"}}", want: "invalid UTF-8"},
		{name: "unstructured", kind: snapshot, raw: `{"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshot","spec":{"source":{"persistentVolumeClaimName":"data"}}}`},
		{name: "unstructured without kind", kind: snapshot, raw: `{"spec":{}}`, want: "Object 'Kind' is missing"},
		{name: "unsupported version", kind: schema.GroupVersionKind{Group: "batch", Version: "v1beta1", Kind: "CronJob"}, raw: `{}`, want: "API version not judged"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fromBytes, err1 := DecodeObject(tt.kind, []byte(tt.raw))
			fromStream, err2 := DecodeObjectFrom(jsontext.NewDecoder(strings.NewReader(tt.raw), DecodeOptions), tt.kind)
			for i, err := range []error{err1, err2} {
				switch {
				case tt.want == "" && err != nil:
					t.Errorf("%d: %v", i, err)
				case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
					t.Errorf("%d: error %v, want %q", i, err, tt.want)
				}
			}
			if tt.want != "" {
				return
			}
			if (fromBytes == nil) != tt.nil || (fromStream == nil) != tt.nil {
				t.Fatalf("objects %v, %v; want nil %v", fromBytes, fromStream, tt.nil)
			}
			if p, ok := fromBytes.(*corev1.Pod); ok && !p.Spec.HostPID {
				t.Errorf("hostPID lost: %+v", p.Spec)
			}
			if u, ok := fromStream.(*unstructured.Unstructured); ok && u.GetKind() != "VolumeSnapshot" {
				t.Errorf("unstructured %v", u)
			}
		})
	}
	// Case-sensitive: "HostPID" is not hostPID (encoding/json matched it case-insensitively).
	obj, err := DecodeObject(podKind, []byte(`{"spec":{"HostPID":true}}`))
	if err != nil || obj.(*corev1.Pod).Spec.HostPID {
		t.Errorf("HostPID read as hostPID: %v %v", obj, err)
	}
}
