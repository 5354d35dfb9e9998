package admission

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"
	sigsjson "sigs.k8s.io/json"
)

// FuzzDecodeAdmissionReview feeds arbitrary bytes to the server's decode path and, when they decode, to the whole
// in-process path (Server.judge with the real evaluator). Decoding must never panic (decodeReview also recovers,
// so a recovered panic is reported here as a failure); it must return either an error with a reason and a message
// or a policy request with a UID; its fast and careful passes must agree; and a request that decodes must be
// judged: judge answers 200 with an AdmissionReview whose response echoes the UID, from a handler that did not
// panic.
func FuzzDecodeAdmissionReview(f *testing.F) {
	var seeds [][]byte
	for _, pattern := range []string{filepath.Join("testdata", "*-review.json"), filepath.Join("..", "policy", "testdata", "reviews", "*.json")} {
		files, err := filepath.Glob(pattern)
		if err != nil || len(files) == 0 {
			f.Fatalf("no seed reviews in %s: %v", pattern, err)
		}
		for _, name := range files {
			data, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			seeds = append(seeds, data)
		}
	}
	for name, variant := range reviewVariants(f, readFixture(f, "pod-review.json")) {
		if !strings.HasPrefix(name, "truncated-") { // the fuzzer cuts bodies itself
			seeds = append(seeds, variant)
		}
	}
	for _, seed := range []string{
		``, `{`, `null`, `[]`, `"AdmissionReview"`,
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`,
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}}`,
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","kind":{"kind":"Pod","version":"v1"},"object":{"spec":{"containers":"x"}}}}`,
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","kind":{"group":"snapshot.storage.k8s.io","kind":"VolumeSnapshot","version":"v1"},"object":{"spec":{}}}}`,
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CONNECT","subResource":"exec","kind":{"kind":"PodExecOptions","version":"v1"},"object":{"command":["sh"]}}}`,
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"UPDATE","kind":{"group":"apps","kind":"Deployment","version":"v1"},"object":{"spec":{"replicas":"3"}},"oldObject":1}}`,
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"object":{"kind":"Pod","apiVersion":"v1","spec":{"hostPID":true}},"uid":"u","operation":"CREATE","kind":{"kind":"Pod","version":"v1"}}}`,
	} {
		seeds = append(seeds, []byte(seed))
	}
	for _, seed := range seeds {
		f.Add(seed)
	}

	s, err := NewServer(Options{Handler: Policy(newEvaluator(f)), TLS: TLSOptions{SelfSigned: true}, Logger: slog.New(slog.DiscardHandler),
		Findings: io.Discard, Registry: prometheus.NewRegistry()})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, rerr := decodeReview(body)
		if fast, careful := decodeBoth(body); !sameDecode(fast, careful) {
			t.Fatalf("the fast pass gives %s, the careful pass %s", fast, careful)
		}
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
		var out bytes.Buffer
		status, jerr := s.judge(context.Background(), body, &out)
		if jerr != nil || status != 200 {
			t.Fatalf("decoded, then not judged: %d %v", status, jerr)
		}
		var review admissionv1.AdmissionReview
		if err := sigsjson.UnmarshalCaseSensitivePreserveInts(out.Bytes(), &review); err != nil || review.Response == nil {
			t.Fatalf("the answer does not decode as an AdmissionReview: %v: %s", err, out.Bytes())
		}
		resp := review.Response
		if string(resp.UID) != req.UID || review.APIVersion != reviewAPIVersion || review.Kind != reviewKind {
			t.Fatalf("the answer is not the request's: %s", out.Bytes())
		}
		if !resp.Allowed && (resp.Result == nil || resp.Result.Message == "") {
			t.Fatalf("refused without a message: %s", out.Bytes())
		}
		if resp.Result != nil && strings.Contains(resp.Result.Message, "panicked") {
			t.Fatalf("the handler panicked: %s", resp.Result.Message)
		}
	})
}
