package admission

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDecodeAdmissionReview feeds arbitrary bytes to the server's decode path. It must never panic (decodeReview
// also recovers, so a recovered panic is reported here as a failure), and it must return either an error with a
// message or a review whose request carries a UID, decoded into a policy request with the same UID.
func FuzzDecodeAdmissionReview(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*-review.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed reviews in testdata: %v", err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, seed := range []string{
		``, `{`, `null`, `[]`, `"AdmissionReview"`,
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`,
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}}`,
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","kind":{"kind":"Pod","version":"v1"},"object":{"spec":{"containers":"x"}}}}`,
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","kind":{"group":"snapshot.storage.k8s.io","kind":"VolumeSnapshot","version":"v1"},"object":{"spec":{}}}}`,
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CONNECT","subResource":"exec","kind":{"kind":"PodExecOptions","version":"v1"},"object":{"command":["sh"]}}}`,
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"UPDATE","kind":{"group":"apps","kind":"Deployment","version":"v1"},"object":{"spec":{"replicas":"3"}},"oldObject":1}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, rerr := decodeReview(body)
		if rerr != nil {
			if req != nil {
				t.Fatalf("error %q with a result", rerr.msg)
			}
			if rerr.msg == "" || rerr.reason == "" {
				t.Fatalf("error without message or reason: %+v", rerr)
			}
			if strings.Contains(rerr.msg, "decode panicked") {
				t.Fatalf("decoder panicked: %s", rerr.msg)
			}
			return
		}
		if req == nil || req.UID == "" {
			t.Fatal("no error and no request with a uid")
		}
	})
}
