package admission

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/policy"
)

func TestMalformedReviewIs400(t *testing.T) {
	ts := startServer(t, Options{})
	badPod := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p"}, "spec": map[string]any{"containers": "sh"}}
	tests := []struct {
		name       string
		body       []byte
		wantReason string
		wantMsg    string
	}{
		{"empty body", nil, reasonJSON, "decode AdmissionReview: empty body"},
		{"truncated JSON", []byte(`{"apiVersion": "admission.k8s.io/v1", "kind": `), reasonJSON,
			`decode AdmissionReview: jsontext: unexpected EOF within "/kind" after offset 46 (near "io/v1\", \"kind\": ")`},
		{"not JSON", []byte(`apiVersion: admission.k8s.io/v1`), reasonJSON,
			`decode AdmissionReview: jsontext: invalid character 'a' at start of value at byte offset 0 (near "apiVersion: admi")`},
		{"request of wrong type", []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":"x"}`), reasonJSON,
			`decode AdmissionReview: json: cannot unmarshal JSON string into Go v1.AdmissionRequest within "/request" (at byte offset 71)`},
		{"v1beta1", bytes.Replace(readFixture(t, "pod-review.json"), []byte(`"admission.k8s.io/v1"`), []byte(`"admission.k8s.io/v1beta1"`), 1), reasonAPIVersion,
			`apiVersion is "admission.k8s.io/v1beta1", want "admission.k8s.io/v1"`},
		{"wrong kind", bytes.Replace(readFixture(t, "pod-review.json"), []byte(`"AdmissionReview"`), []byte(`"AdmissionResponse"`), 1), reasonKind,
			`kind is "AdmissionResponse", want "AdmissionReview"`},
		{"no request", []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`), reasonNoRequest, "request: missing"},
		{"no uid", withRequest(t, "pod-review.json", map[string]any{"uid": nil}), reasonNoUID, "request.uid: missing"},
		{"unknown operation", withRequest(t, "pod-review.json", map[string]any{"operation": "DESTROY"}), reasonObject,
			`request.operation "DESTROY" is not one of CREATE, UPDATE, DELETE, CONNECT`},
		{"undecodable object", withRequest(t, "pod-review.json", map[string]any{"object": badPod}), reasonObject,
			`request.object (Pod vnf-upf/upf-7d9c-abcde): decode Pod: json: cannot unmarshal JSON string into Go []v1.Container within "/spec/containers" (at byte offset `},
		{"long decoder message is cut", withRequest(t, "pod-review.json", map[string]any{
			"kind":   map[string]any{"group": "snapshot.storage.k8s.io", "version": "v1", "kind": "VolumeSnapshot"},
			"object": map[string]any{"spec": map[string]any{"source": strings.Repeat("x", 5000)}}}), reasonObject,
			"decode VolumeSnapshot: json: cannot unmarshal JSON object into Go unstructured.Unstructured: Object 'Kind' is missing"},
		{"undecodable old object", withRequest(t, "pod-review.json", map[string]any{"operation": "UPDATE", "oldObject": badPod}), reasonObject,
			`request.oldObject (Pod vnf-upf/upf-7d9c-abcde): decode Pod: json: cannot unmarshal JSON string into Go []v1.Container within "/spec/containers" (at byte offset `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := counterValue(t, ts.metrics.reviewErrors.WithLabelValues(tt.wantReason))
			status, body := ts.post(t, "application/json", bytes.NewReader(tt.body))
			if status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400; body %s", status, body)
			}
			if !strings.Contains(modalVerb(string(body)), tt.wantMsg) {
				t.Errorf("body %q does not say %q", body, tt.wantMsg)
			}
			if len(body) > 2200 {
				t.Errorf("body of %d bytes: long messages must be cut", len(body))
			}
			if got := counterValue(t, ts.metrics.reviewErrors.WithLabelValues(tt.wantReason)) - before; got != 1 {
				t.Errorf("review_errors_total{reason=%q} rose by %v, want 1", tt.wantReason, got)
			}
			quoted, _ := json.Marshal(tt.wantMsg)
			if !strings.Contains(modalVerb(ts.logs.String()), strings.Trim(string(quoted), `"`)) {
				t.Errorf("the rejection is not logged with its reason %q", tt.wantMsg)
			}
		})
	}
}

// modalVerb spells encoding/json/v2's errors one way: v2 says "cannot" or "unable to", picked at random once per
// process so that no test depends on its exact wording; these tests want the rest of the message exactly.
func modalVerb(s string) string { return strings.ReplaceAll(s, "json: unable to ", "json: cannot ") }

func TestTransportErrors(t *testing.T) {
	ts := startServer(t, Options{MaxBodyBytes: 4096})
	big := bytes.Repeat([]byte("x"), 5000)
	tests := []struct {
		name        string
		method      string
		contentType string
		body        func() io.Reader
		wantStatus  int
		wantMsg     string
	}{
		{"GET", http.MethodGet, "", nil, http.StatusMethodNotAllowed, "method GET not allowed"},
		{"PUT", http.MethodPut, "application/json", func() io.Reader { return bytes.NewReader(readFixture(t, "pod-review.json")) }, http.StatusMethodNotAllowed, "method PUT not allowed"},
		{"text/plain", http.MethodPost, "text/plain", func() io.Reader { return bytes.NewReader(readFixture(t, "pod-review.json")) }, http.StatusUnsupportedMediaType, `content type "text/plain" not supported`},
		{"no content type", http.MethodPost, "", func() io.Reader { return bytes.NewReader(readFixture(t, "pod-review.json")) }, http.StatusUnsupportedMediaType, `content type "" not supported`},
		{"too large with length", http.MethodPost, "application/json", func() io.Reader { return bytes.NewReader(big) }, http.StatusRequestEntityTooLarge, "body of 5000 bytes exceeds the limit of 4096 bytes"},
		// No Content-Length (chunked): the limit is found while reading.
		{"too large chunked", http.MethodPost, "application/json", func() io.Reader { return io.MultiReader(bytes.NewReader(big)) }, http.StatusRequestEntityTooLarge, "body exceeds the limit of 4096 bytes"},
		{"charset parameter accepted", http.MethodPost, "application/json; charset=utf-8", func() io.Reader { return bytes.NewReader(readFixture(t, "pod-review.json")) }, http.StatusOK, `"allowed":true`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != nil {
				body = tt.body()
			}
			req, err := http.NewRequest(tt.method, ts.url+"/validate", body)
			if err != nil {
				t.Fatal(err)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			status, data := ts.do(t, req)
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", status, tt.wantStatus, data)
			}
			if !strings.Contains(string(data), tt.wantMsg) {
				t.Errorf("body %q does not say %q", data, tt.wantMsg)
			}
		})
	}
	if got := counterValue(t, ts.metrics.reviewErrors.WithLabelValues(reasonTooLarge)); got != 2 {
		t.Errorf("review_errors_total{reason=too-large} = %v, want 2", got)
	}
}

func TestResponseEchoesUIDAndEnvelope(t *testing.T) {
	ts := startServer(t, Options{})
	for _, fixture := range []string{"pod-review.json", "exec-review.json"} {
		for _, uid := range []string{"u-1", "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"} {
			out := ts.review(t, withRequest(t, fixture, map[string]any{"uid": uid}))
			if string(out.Response.UID) != uid {
				t.Errorf("%s: response.uid %q, want %q", fixture, out.Response.UID, uid)
			}
			if out.APIVersion != "admission.k8s.io/v1" || out.Kind != "AdmissionReview" {
				t.Errorf("%s: envelope %s/%s, want admission.k8s.io/v1 AdmissionReview", fixture, out.APIVersion, out.Kind)
			}
			if out.Request != nil {
				t.Errorf("%s: response carries the request back", fixture)
			}
			if !out.Response.Allowed {
				t.Errorf("%s: allow-all handler's answer is not allowed: %+v", fixture, out.Response)
			}
		}
	}
}

// stubDecision builds a decision by hand, independent of the policy checks.
func stubDecision(allowed bool, denials, warnings, audits []policy.Violation) Handler {
	return HandlerFunc(func(_ context.Context, req *policy.Request) *policy.Decision {
		return &policy.Decision{Request: req, Allowed: allowed, Protected: true, Denials: denials, Warnings: warnings, Audits: audits,
			Exceptions: []string{"profile upf allows capability NET_ADMIN"}}
	})
}

var shellDenial = policy.Violation{Check: "reverse-shell", Technique: "FGT5013", Mitigations: []string{"M1038"},
	Field: "spec.containers[0].command", Message: "runs a reverse shell to 10.0.0.1:4444 (/dev/tcp/)"}

func TestDeniedResponse(t *testing.T) {
	findings := &syncBuffer{}
	ts := startServer(t, Options{Handler: stubDecision(false, []policy.Violation{shellDenial}, nil, nil), Findings: findings})
	out := ts.review(t, readFixture(t, "pod-review.json"))
	r := out.Response
	if r.Allowed {
		t.Fatal("denied decision answered as allowed")
	}
	if r.Result == nil || r.Result.Code != http.StatusForbidden || r.Result.Reason != metav1.StatusReasonForbidden {
		t.Fatalf("result %+v, want code 403 reason Forbidden", r.Result)
	}
	want := "vnfguard denied Pod vnf-upf/upf-7d9c-abcde [reverse-shell FGT5013] spec.containers[0].command: runs a reverse shell to 10.0.0.1:4444 (/dev/tcp/) (no VNF instance)"
	if r.Result.Message != want {
		t.Errorf("message\n %q\nwant\n %q", r.Result.Message, want)
	}
	if len(r.Warnings) != 1 || r.Warnings[0] != "vnfguard: profile upf allows capability NET_ADMIN" {
		t.Errorf("warnings %q, want the profile exception", r.Warnings)
	}
	lines := strings.Split(strings.TrimSpace(findings.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d finding lines, want 1:\n%s", len(lines), findings.String())
	}
	var f finding.Finding
	if err := json.Unmarshal([]byte(lines[0]), &f); err != nil {
		t.Fatal(err)
	}
	if f.Rule != "reverse-shell" || f.Action != "denied" || f.Technique != "FGT5013" || f.Evidence["admissionUID"] != "3b1a6c2e-5f0d-4d7e-9a55-0c1d2e3f4a5b" {
		t.Errorf("finding %+v", f)
	}
	logs := ts.logs.String()
	for _, want := range []string{`"msg":"admission denied"`, `"check":"reverse-shell"`, `"namespace":"vnf-upf"`, `"name":"upf-7d9c-abcde"`, `"user":"tacker-vnfm"`, `"instance":""`} {
		if !strings.Contains(logs, want) {
			t.Errorf("denial log lacks %s:\n%s", want, logs)
		}
	}
	if got := counterValue(t, ts.metrics.decisions.WithLabelValues("reverse-shell", resultDenied)); got != 1 {
		t.Errorf("decisions_total{reverse-shell,denied} = %v, want 1", got)
	}
}

func TestWarningsAndAudits(t *testing.T) {
	findings := &syncBuffer{}
	warn := policy.Violation{Check: "image-registry", Technique: "FGT5013", Field: "spec.containers[1].image", Message: "registry docker.io is not allowed"}
	audit := policy.Violation{Check: "pod-security", Technique: "FGT5013", Field: "spec.securityContext", Message: "runAsNonRoot unset"}
	ts := startServer(t, Options{Handler: stubDecision(true, nil, []policy.Violation{warn}, []policy.Violation{audit}), Findings: findings})
	r := ts.review(t, readFixture(t, "pod-review.json")).Response
	if !r.Allowed {
		t.Fatalf("allowed decision with warnings answered as denied: %+v", r.Result)
	}
	wantWarnings := []string{
		"vnfguard [image-registry FGT5013] spec.containers[1].image: registry docker.io is not allowed",
		"vnfguard: profile upf allows capability NET_ADMIN",
	}
	if fmt.Sprint(r.Warnings) != fmt.Sprint(wantWarnings) {
		t.Errorf("warnings %q, want %q", r.Warnings, wantWarnings)
	}
	var actions []string
	sc := bufio.NewScanner(strings.NewReader(findings.String()))
	for sc.Scan() {
		var f finding.Finding
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatal(err)
		}
		actions = append(actions, f.Rule+"/"+f.Action)
	}
	if fmt.Sprint(actions) != "[image-registry/warned pod-security/audited]" {
		t.Errorf("findings %v, want a warned and an audited one", actions)
	}
	for check, result := range map[string]string{"image-registry": resultWarned, "pod-security": resultAudited} {
		if got := counterValue(t, ts.metrics.decisions.WithLabelValues(check, result)); got != 1 {
			t.Errorf("decisions_total{%s,%s} = %v, want 1", check, result, got)
		}
	}
	if got := counterValue(t, ts.metrics.decisions.WithLabelValues(checkNone, resultAllowed)); got != 0 {
		t.Errorf("an allowed request with violations counted as check=none: %v", got)
	}
}

func TestHandlerFailureIsErrored(t *testing.T) {
	tests := []struct {
		name    string
		handler Handler
		wantMsg string
	}{
		{"nil decision", HandlerFunc(func(context.Context, *policy.Request) *policy.Decision { return nil }), "handler returned no decision"},
		{"panic", HandlerFunc(func(context.Context, *policy.Request) *policy.Decision { panic("boom") }), "handler panicked: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, Options{Handler: tt.handler})
			r := ts.review(t, readFixture(t, "pod-review.json")).Response
			if r.Allowed || r.Result == nil || r.Result.Code != http.StatusInternalServerError || !strings.Contains(r.Result.Message, tt.wantMsg) {
				t.Errorf("response %+v, want refused with 500 and %q", r.Result, tt.wantMsg)
			}
			if string(r.UID) != "3b1a6c2e-5f0d-4d7e-9a55-0c1d2e3f4a5b" {
				t.Errorf("uid %q not echoed", r.UID)
			}
			if got := counterValue(t, ts.metrics.decisions.WithLabelValues(reasonHandler, resultError)); got != 1 {
				t.Errorf("decisions_total{handler,error} = %v, want 1", got)
			}
		})
	}
}

func TestInternalErrorDecision(t *testing.T) {
	findings := &syncBuffer{}
	h := HandlerFunc(func(_ context.Context, req *policy.Request) *policy.Decision {
		return &policy.Decision{Request: req, Allowed: false, Protected: true, Errors: []error{errors.New("lifecycle-access: look up target pod: connection refused")}}
	})
	ts := startServer(t, Options{Handler: h, Findings: findings})
	r := ts.review(t, readFixture(t, "exec-review.json")).Response
	if r.Allowed || r.Result.Code != http.StatusForbidden || !strings.Contains(r.Result.Message, "[internal-error]") {
		t.Errorf("fail-closed decision answered %+v", r.Result)
	}
	if got := counterValue(t, ts.metrics.decisions.WithLabelValues("lifecycle-access", resultError)); got != 1 {
		t.Errorf("decisions_total{lifecycle-access,error} = %v, want 1", got)
	}
	if !strings.Contains(findings.String(), `"rule":"internal-error"`) {
		t.Errorf("no internal-error finding: %s", findings.String())
	}
}

// TestRealEvaluator runs the policy evaluator behind the server. The checks are written elsewhere, so it asserts
// only what the server owes whatever they decide: a well-formed answer, and findings that belong to the request.
func TestRealEvaluator(t *testing.T) {
	findings := &syncBuffer{}
	ts := startServer(t, Options{Handler: Policy(newEvaluator(t)), Findings: findings})
	for _, fixture := range []string{"pod-review.json", "exec-review.json"} {
		r := ts.review(t, readFixture(t, fixture)).Response
		if r.Result == nil {
			t.Fatalf("%s: no result", fixture)
		}
		if !r.Allowed && (r.Result.Code != http.StatusForbidden || !strings.HasPrefix(r.Result.Message, "vnfguard denied ")) {
			t.Errorf("%s: denial %+v lacks code 403 and the decision's message", fixture, r.Result)
		}
		if !r.Allowed && !strings.Contains(ts.logs.String(), `"msg":"admission denied"`) {
			t.Errorf("%s: denial not logged", fixture)
		}
	}
	// A command through a node's kubelet API: NodeProxyOptions decoded from the review, judged on its path.
	r := ts.review(t, readFixture(t, "nodeproxy-review.json")).Response
	if r.Allowed || r.Result == nil || r.Result.Code != http.StatusForbidden || !strings.Contains(r.Result.Message, "[kubelet-session FGT1609.501] path: run into pod vnf-upf/upf-7d9c-abcde through node worker-1's kubelet API by mallory") {
		t.Errorf("nodeproxy-review.json: answered %+v, want the kubelet-session denial naming the pod, the node and the user", r.Result)
	}
	sc := bufio.NewScanner(strings.NewReader(findings.String()))
	for sc.Scan() {
		var f finding.Finding
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatalf("finding line is not JSON: %v: %s", err, sc.Bytes())
		}
		if f.Source != "admission" || f.Evidence["admissionUID"] == "" {
			t.Errorf("finding %+v lacks its source or admission UID", f)
		}
	}
}

// TestFindingsConcurrent checks that concurrent decisions never interleave their finding lines.
func TestFindingsConcurrent(t *testing.T) {
	findings := &syncBuffer{}
	two := []policy.Violation{shellDenial, {Check: "host-takeover", Technique: "FGT5013", Field: "spec.volumes[0].hostPath.path", Message: "mounts the host's /"}}
	ts := startServer(t, Options{Handler: stubDecision(false, two, nil, nil), Findings: findings})
	body := readFixture(t, "pod-review.json")
	const clients, each = 8, 10
	var wg sync.WaitGroup
	var failures atomic.Int32
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				status, _ := ts.post(t, "application/json", bytes.NewReader(body))
				if status != http.StatusOK {
					failures.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if failures.Load() > 0 {
		t.Fatalf("%d requests failed", failures.Load())
	}
	lines := strings.Split(strings.TrimSpace(findings.String()), "\n")
	if len(lines) != 2*clients*each {
		t.Fatalf("%d finding lines, want %d", len(lines), 2*clients*each)
	}
	for _, line := range lines {
		if !json.Valid([]byte(line)) {
			t.Fatalf("interleaved finding line: %s", line)
		}
	}
	if got := counterValue(t, ts.metrics.decisions.WithLabelValues("host-takeover", resultDenied)); got != clients*each {
		t.Errorf("decisions_total{host-takeover,denied} = %v, want %d", got, clients*each)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	var ready atomic.Bool
	ts := startServer(t, Options{MetricsListen: "127.0.0.1:0", Ready: func() (bool, any) {
		r := ready.Load()
		return r, map[string]any{"ready": r, "inventory": map[string]any{"loaded": r, "source": "file:/tmp/inv.yaml", "instances": 1}}
	}})
	if status, body := ts.get(t, "/healthz"); status != http.StatusOK || string(body) != "ok\n" {
		t.Errorf("/healthz: %d %q", status, body)
	}
	for _, tt := range []struct {
		ready      bool
		wantStatus int
	}{{false, http.StatusServiceUnavailable}, {true, http.StatusOK}, {false, http.StatusServiceUnavailable}} {
		ready.Store(tt.ready)
		// The detail is on the metrics listener (the webhook port's /readyz: TestReadyzAnonymousIsBare).
		resp, err := http.Get("http://" + ts.MetricsAddr() + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		status := resp.StatusCode
		if status != tt.wantStatus {
			t.Errorf("ready=%v: /readyz %d, want %d", tt.ready, status, tt.wantStatus)
		}
		var doc struct {
			Ready     bool `json:"ready"`
			Inventory struct {
				Loaded bool   `json:"loaded"`
				Source string `json:"source"`
			} `json:"inventory"`
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatalf("/readyz body is not JSON: %v: %s", err, body)
		}
		if doc.Ready != tt.ready || doc.Inventory.Loaded != tt.ready || doc.Inventory.Source != "file:/tmp/inv.yaml" {
			t.Errorf("ready=%v: body %s", tt.ready, body)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, ts.url+"/readyz", nil)
	if status, _ := ts.do(t, req); status != http.StatusMethodNotAllowed {
		t.Errorf("POST /readyz: %d, want 405", status)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	ts := startServer(t, Options{})
	ts.review(t, readFixture(t, "pod-review.json"))
	ts.review(t, readFixture(t, "exec-review.json"))
	ts.post(t, "application/json", strings.NewReader("{"))
	status, body := ts.get(t, "/metrics")
	if status != http.StatusOK {
		t.Fatalf("/metrics: %d", status)
	}
	for _, want := range []string{
		`vnfguard_admission_decisions_total{check="none",result="allowed"} 2`,
		`vnfguard_admission_review_errors_total{reason="json"} 1`,
		`vnfguard_admission_duration_seconds_count 2`,
		`vnfguard_admission_duration_seconds_bucket{le="2.5e-05"}`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestNewServerOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"no handler", Options{TLS: TLSOptions{SelfSigned: true}}, "no handler"},
		{"no TLS", Options{Handler: AllowAll}, "give both a certificate and a key file, or choose self-signed"},
		{"both TLS modes", Options{Handler: AllowAll, TLS: TLSOptions{SelfSigned: true, CertFile: "c", KeyFile: "k"}}, "not both"},
		{"missing files", Options{Handler: AllowAll, TLS: TLSOptions{CertFile: "testdata/nope.crt", KeyFile: "testdata/nope.key"}}, "TLS certificate file: stat testdata/nope.crt"},
		{"gatherer alone", Options{Handler: AllowAll, TLS: TLSOptions{SelfSigned: true}, Gatherer: newRegistry()}, "Gatherer set without"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewServer(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %v, want one saying %q", err, tt.wantErr)
			}
		})
	}
	// Two servers on one registry share the metrics instead of failing to register.
	reg := newRegistry()
	for range 2 {
		if _, err := NewServer(Options{Handler: AllowAll, TLS: TLSOptions{SelfSigned: true}, Registry: reg}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStartCancelStops(t *testing.T) {
	srv, err := NewServer(Options{Handler: AllowAll, Listen: "127.0.0.1:0", TLS: TLSOptions{SelfSigned: true}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if srv.Addr() == "" || !strings.HasPrefix(srv.Addr(), "127.0.0.1:") {
		t.Fatalf("Addr %q", srv.Addr())
	}
	if err := srv.Start(ctx); err == nil {
		t.Error("second Start succeeded")
	}
	cancel()
	if err := srv.Wait(); err != nil {
		t.Errorf("Wait after cancel: %v", err)
	}
}

// With a cluster name, every admission finding carries it, in the printed line and the one handed to the sinks.
func TestFindingsNameTheCluster(t *testing.T) {
	findings := &syncBuffer{}
	var published []finding.Finding
	var mu sync.Mutex
	ts := startServer(t, Options{Handler: stubDecision(false, []policy.Violation{shellDenial}, nil, nil), Findings: findings, Cluster: "edge-east",
		OnFindings: func(fs []finding.Finding) { mu.Lock(); published = append(published, fs...); mu.Unlock() }})
	ts.review(t, readFixture(t, "pod-review.json"))
	var f finding.Finding
	if err := json.Unmarshal([]byte(strings.TrimSpace(findings.String())), &f); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if f.Cluster != "edge-east" || len(published) != 1 || published[0].Cluster != "edge-east" || published[0].ID != f.ID {
		t.Errorf("printed %+v, published %+v: want cluster edge-east in both, one ID", f, published)
	}
}
