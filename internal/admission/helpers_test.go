package admission

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	admissionv1 "k8s.io/api/admission/v1"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/policy"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// upfInstanceID is the instance the fixtures' pod belongs to.
const upfInstanceID = "7f3c0d6e-2b1a-4c5d-8e9f-0a1b2c3d4e5f"

// upfInventory holds one INSTANTIATED, STARTED UPF instance in namespace vnf-upf whose package declares the two
// images of testdata/pod-review.json.
func upfInventory() vnf.Inventory {
	inst := &vnf.Instance{
		ID: upfInstanceID, VnfdID: "upf-vnfd-1", VnfProvider: "Acme", VnfProductName: "UPF", VnfSoftwareVersion: "1.0",
		InstantiationState: vnf.Instantiated,
		InstantiatedVnfInfo: &vnf.InstantiatedVnfInfo{
			FlavourID: "simple", VnfState: vnf.Started,
			Metadata: map[string]any{"namespace": "vnf-upf"},
			VnfcResourceInfo: []vnf.VnfcResourceInfo{{ID: "vnfc-1", VduID: "upf", ComputeResource: vnf.ResourceHandle{
				ResourceID: "upf-7d9c-abcde", VimLevelResourceType: "Deployment"}}},
		},
		DeclaredImages: []vnf.DeclaredImage{
			{Name: "upf", Image: "127.0.0.1:5000/5gc/upf@sha256:1111111111111111111111111111111111111111111111111111111111111111"},
			{Name: "metrics", Image: "127.0.0.1:5000/5gc/upf-exporter@sha256:2222222222222222222222222222222222222222222222222222222222222222"},
		},
	}
	return vnf.Static{Snap: vnf.NewSnapshot("memory", "test", time.Now(), []*vnf.Instance{inst})}
}

// newEvaluator builds the real policy evaluator with every registered check over the in-memory inventory.
func newEvaluator(tb testing.TB) *policy.Evaluator {
	tb.Helper()
	cfg, err := config.Load(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	e, err := policy.New(policy.Environment{Config: cfg, Inventory: upfInventory(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// syncBuffer is a bytes.Buffer safe for the server's logger and the test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testServer is a started server on a loopback port with a client that trusts its CA.
type testServer struct {
	*Server
	url    string
	client *http.Client
	logs   *syncBuffer
	reg    *prometheus.Registry
}

// startServer starts a self-signed server on 127.0.0.1:0 with a fresh registry; opts.Handler defaults to AllowAll.
func startServer(tb testing.TB, opts Options) *testServer {
	tb.Helper()
	logs := &syncBuffer{}
	if opts.Handler == nil {
		opts.Handler = AllowAll
	}
	opts.Listen = "127.0.0.1:0"
	if opts.TLS.CertFile == "" {
		opts.TLS.SelfSigned = true
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	reg := prometheus.NewRegistry()
	if opts.Registry == nil {
		opts.Registry = reg
	}
	srv, err := NewServer(opts)
	if err != nil {
		tb.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			tb.Errorf("shutdown: %v", err)
		}
		if err := srv.Wait(); err != nil {
			tb.Errorf("serve: %v", err)
		}
	})
	tr := &http.Transport{MaxIdleConnsPerHost: 64, ForceAttemptHTTP2: false}
	if ca := srv.CABundle(); ca != nil {
		pool, err := (&Certificates{CA: ca}).CertPool()
		if err != nil {
			tb.Fatal(err)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	tb.Cleanup(tr.CloseIdleConnections)
	return &testServer{Server: srv, url: "https://" + srv.Addr(), client: &http.Client{Transport: tr, Timeout: 10 * time.Second}, logs: logs, reg: reg}
}

// post sends body to /validate with the given content type and returns the status and body.
func (ts *testServer) post(tb testing.TB, contentType string, body io.Reader) (int, []byte) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.url+"/validate", body)
	if err != nil {
		tb.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return ts.do(tb, req)
}

func (ts *testServer) get(tb testing.TB, path string) (int, []byte) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, ts.url+path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return ts.do(tb, req)
}

func (ts *testServer) do(tb testing.TB, req *http.Request) (int, []byte) {
	tb.Helper()
	resp, err := ts.client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp.StatusCode, data
}

// review posts a review and decodes the AdmissionReview answer; any status but 200 fails the test.
func (ts *testServer) review(tb testing.TB, body []byte) *admissionv1.AdmissionReview {
	tb.Helper()
	status, data := ts.post(tb, "application/json", bytes.NewReader(body))
	if status != http.StatusOK {
		tb.Fatalf("status %d, body %s", status, data)
	}
	out := &admissionv1.AdmissionReview{}
	if err := json.Unmarshal(data, out); err != nil {
		tb.Fatalf("response is not an AdmissionReview: %v\n%s", err, data)
	}
	if out.Response == nil {
		tb.Fatalf("AdmissionReview without response: %s", data)
	}
	return out
}

func readFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// withRequest returns the fixture review with fields of its request replaced (JSON values, nil deletes).
func withRequest(tb testing.TB, fixture string, set map[string]any) []byte {
	tb.Helper()
	var doc map[string]any
	if err := json.Unmarshal(readFixture(tb, fixture), &doc); err != nil {
		tb.Fatal(err)
	}
	req := doc["request"].(map[string]any)
	for k, v := range set {
		if v == nil {
			delete(req, k)
		} else {
			req[k] = v
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// counterValue reads a counter's current value.
func counterValue(tb testing.TB, c prometheus.Counter) float64 {
	tb.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		tb.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
