package admission

import (
	"bytes"
	"regexp"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestDecodeStraight: the objects of a review that names its kind first are decoded straight from the stream, not
// set apart; an object before request.kind is set apart as a slice of the body, not a copy, and decoded after.
func TestDecodeStraight(t *testing.T) {
	body := readFixture(t, "pod-review.json")
	objectFirst := reviewVariants(t, body)["object-before-kind"]
	for _, tt := range []struct {
		name     string
		body     []byte
		straight bool
	}{{"kind first", body, true}, {"object first", objectFirst, false}} {
		d := reviewDecoders.Get().(*reviewDecoder)
		d.start(tt.body, false)
		if err := d.review(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		raw := d.object.raw
		if straight := d.object.obj != nil && raw == nil; straight != tt.straight {
			t.Errorf("%s: decoded straight %v, want %v", tt.name, straight, tt.straight)
		}
		if raw != nil && &raw[0] != &tt.body[d.object.at] {
			t.Errorf("%s: the object set apart is a copy, not the body's bytes", tt.name)
		}
		req, rerr := d.finish()
		if rerr != nil {
			t.Fatalf("%s: %s", tt.name, rerr.msg)
		}
		if pod, ok := req.Object.(*corev1.Pod); !ok || len(pod.Spec.Containers) != 2 {
			t.Errorf("%s: object %T", tt.name, req.Object)
		}
		d.release()
	}
}

// TestDecodeErrorOffsets: the byte offset an error names is where the offending value stands in the body, for a
// value in the envelope and in an object decoded after the envelope (whose offsets start at the object).
func TestDecodeErrorOffsets(t *testing.T) {
	body := readFixture(t, "pod-review.json")
	at := regexp.MustCompile(`byte offset (\d+)`)
	for _, tt := range []struct {
		name, value string
		body        []byte
	}{
		{"uid", `5`, bytes.Replace(body, []byte(`"uid": "3b1a6c2e-5f0d-4d7e-9a55-0c1d2e3f4a5b"`), []byte(`"uid": 5`), 1)},
		{"object decoded straight", `"no"`, bytes.Replace(body, []byte(`"containers": [`), []byte(`"containers": "no", "x": [`), 1)},
		{"object set apart", `"no"`, withRequestMembers(t, bytes.Replace(body, []byte(`"containers": [`), []byte(`"containers": "no", "x": [`), 1),
			func(ms []member) []member { return append(ms[len(ms)-4:], ms[:len(ms)-4]...) })},
		{"old object", `"no"`, bytes.Replace(bytes.Replace(body, []byte(`"oldObject": null`), []byte(`"oldObject": {"spec": {"containers": "no"}}`), 1),
			[]byte(`"CREATE"`), []byte(`"UPDATE"`), 1)},
	} {
		_, rerr := decodeReview(tt.body)
		if rerr == nil {
			t.Fatalf("%s: decoded", tt.name)
		}
		m := at.FindStringSubmatch(rerr.msg)
		if m == nil {
			t.Fatalf("%s: no offset in %q", tt.name, rerr.msg)
		}
		n, _ := strconv.Atoi(m[1])
		if !bytes.HasPrefix(tt.body[n:], []byte(tt.value)) {
			t.Errorf("%s: offset %d points at %q, want %s (%s)", tt.name, n, tt.body[n:min(n+20, len(tt.body))], tt.value, rerr.msg)
		}
	}
}
