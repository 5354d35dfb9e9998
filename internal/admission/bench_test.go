package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"
)

// BenchmarkWebhookHTTPS measures the webhook end to end over HTTPS on loopback with keep-alive clients: the same
// server and transport with a handler that allows everything (the transport's own limit) and with the real
// evaluator running every registered check on a typical two-container CNF pod bound to a VNF instance. The figure
// that matters is vnfguard's req/s as a share of allow-all's, reported as %-of-allow-all (target ≥ 80).
//
//	go test -run '^$' -bench WebhookHTTPS -benchtime 3s ./internal/admission/
func BenchmarkWebhookHTTPS(b *testing.B) {
	body := readFixture(b, "pod-review.json")
	quiet := slog.New(slog.DiscardHandler)
	cases := []struct {
		name    string
		handler Handler
	}{
		{"allow-all", AllowAll},
		{"vnfguard", Policy(newEvaluator(b))},
	}
	var allowAllRate float64
	for _, bc := range cases {
		ts := startServer(b, Options{Handler: bc.handler, Logger: quiet, Findings: io.Discard})
		// Say what the policy decided, so that the figures can be read: a denial costs a finding and a log line.
		first := ts.review(b, body).Response
		b.Logf("%s: allowed=%v %s", bc.name, first.Allowed, resultMessage(first))
		warmUp(b, ts, body)
		b.Run(bc.name, func(b *testing.B) {
			cpu0 := cpuTime()
			rate, p50, p99 := load(b, ts, body)
			// CPU time per request (server and clients share the process) barely moves when other work loads the
			// machine, unlike req/s: the two variants' difference is what the policy costs.
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/1e3/float64(b.N), "cpu-µs/op")
			b.ReportMetric(rate, "req/s")
			b.ReportMetric(float64(p50.Nanoseconds())/1e3, "p50-µs")
			b.ReportMetric(float64(p99.Nanoseconds())/1e3, "p99-µs")
			if bc.name == "allow-all" {
				allowAllRate = rate
			} else if allowAllRate > 0 {
				b.ReportMetric(100*rate/allowAllRate, "%-of-allow-all")
			}
		})
	}
}

// cpuTime is the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the process's CPU time per op since cpu0 as cpu-ns/op: on a machine that other work loads,
// wall time per op swings twice as much as CPU time does.
func reportCPU(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

func resultMessage(r *admissionv1.AdmissionResponse) string {
	if r.Result == nil {
		return ""
	}
	return r.Result.Message
}

// warmUp opens the keep-alive connections (TLS handshakes) and warms the server before it is measured.
func warmUp(b *testing.B, ts *testServer, body []byte) {
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				resp, err := ts.client.Post(ts.url+"/validate", "application/json", bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
}

// load sends b.N reviews from parallel keep-alive clients and returns the throughput and latency percentiles.
func load(b *testing.B, ts *testServer, body []byte) (rate float64, p50, p99 time.Duration) {
	var (
		mu  sync.Mutex
		all = make([]time.Duration, 0, b.N)
	)
	url := ts.url + "/validate"
	b.SetParallelism(4) // 4 × GOMAXPROCS clients: enough to keep the server busy, as an API server would
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		local := make([]time.Duration, 0, 4096)
		for pb.Next() {
			t0 := time.Now()
			req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := ts.client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Errorf("status %d, read error %v", resp.StatusCode, err)
				return
			}
			local = append(local, time.Since(t0))
		}
		mu.Lock()
		all = append(all, local...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if len(all) == 0 {
		return 0, 0, 0
	}
	slices.Sort(all)
	return float64(len(all)) / elapsed.Seconds(), all[len(all)/2], all[(len(all)*99)/100]
}

// BenchmarkDecodeReview is the server's decode path alone: envelope and typed pod.
func BenchmarkDecodeReview(b *testing.B) {
	body := readFixture(b, "pod-review.json")
	b.ReportAllocs()
	defer reportCPU(b, cpuTime())
	for b.Loop() {
		if _, err := decodeReview(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeResponse is the server's encode path alone.
func BenchmarkEncodeResponse(b *testing.B) {
	resp := Allowed("3b1a6c2e-5f0d-4d7e-9a55-0c1d2e3f4a5b")
	var out bytes.Buffer
	b.ReportAllocs()
	defer reportCPU(b, cpuTime())
	for b.Loop() {
		out.Reset()
		if err := encodeResponse(&out, resp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReviewInProcess is the webhook's whole in-process path, what the HTTP handler does between reading the
// body and writing the answer (Server.judge): decode the AdmissionReview of testdata/pod-review.json, evaluate it
// with the real evaluator BenchmarkWebhookHTTPS uses, count and record the decision (findings written to
// io.Discard, logs discarded), encode the response. The fixture's pod is denied (its containers' root filesystems
// are writable, which readonly-rootfs refuses since it was added), so a denial's finding is part of "fixture";
// "allowed" is the same review with read-only root filesystems, which the policy admits.
//
//	go test -run '^$' -bench ReviewInProcess ./internal/admission/
func BenchmarkReviewInProcess(b *testing.B) {
	fixture := readFixture(b, "pod-review.json")
	allowed := bytes.ReplaceAll(fixture, []byte(`"allowPrivilegeEscalation": false,`), []byte(`"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,`))
	s, err := NewServer(Options{Handler: Policy(newEvaluator(b)), TLS: TLSOptions{SelfSigned: true}, Logger: slog.New(slog.DiscardHandler),
		Findings: io.Discard, Registry: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name    string
		body    []byte
		allowed bool
	}{{"fixture", fixture, false}, {"allowed", allowed, true}} {
		b.Run(bc.name, func(b *testing.B) {
			var out bytes.Buffer
			ctx := context.Background()
			if _, rerr := s.judge(ctx, bc.body, &out); rerr != nil {
				b.Fatal(rerr)
			}
			var review admissionv1.AdmissionReview
			if err := json.Unmarshal(out.Bytes(), &review); err != nil || review.Response == nil || review.Response.UID == "" {
				b.Fatalf("no AdmissionReview response: %v %s", err, out.Bytes())
			}
			if review.Response.Allowed != bc.allowed {
				b.Fatalf("allowed=%v, want %v: %s", review.Response.Allowed, bc.allowed, resultMessage(review.Response))
			}
			b.ReportAllocs()
			defer reportCPU(b, cpuTime())
			for b.Loop() {
				out.Reset()
				if _, rerr := s.judge(ctx, bc.body, &out); rerr != nil {
					b.Fatal(rerr)
				}
			}
		})
	}
}
