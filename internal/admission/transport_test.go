package admission

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// dialTLS does one handshake with the server as a client configured by cfg (RootCAs and ServerName filled in)
// and returns the connection state.
func dialTLS(t *testing.T, ts *testServer, cfg *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	pool, err := (&Certificates{CA: ts.CABundle()}).CertPool()
	if err != nil {
		t.Fatal(err)
	}
	cfg.RootCAs, cfg.ServerName = pool, "127.0.0.1"
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ts.Addr(), cfg)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer conn.Close()
	return conn.ConnectionState(), nil
}

// TestTLS12OnlyAEADSuites offers the webhook port every TLS 1.2 cipher suite Go's client knows, one at a time, as a
// real TLS client: only ECDHE with AES-GCM or ChaCha20-Poly1305 may complete a handshake (the serving key is ECDSA,
// so the ECDSA ones), and the CBC suites (ECDHE-ECDSA-AES128-SHA, which Go's default server list accepts) are
// refused.
func TestTLS12OnlyAEADSuites(t *testing.T) {
	ts := startServer(t, Options{})
	want := []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	}
	var accepted []uint16
	for _, suite := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		if !slices.Contains(suite.SupportedVersions, tls.VersionTLS12) {
			continue
		}
		st, err := dialTLS(t, ts, &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{suite.ID}})
		if err == nil {
			if st.CipherSuite != suite.ID {
				t.Errorf("offered only %s, negotiated %s", suite.Name, tls.CipherSuiteName(st.CipherSuite))
			}
			accepted = append(accepted, suite.ID)
		}
	}
	slices.Sort(accepted)
	slices.Sort(want)
	if !slices.Equal(accepted, want) {
		names := func(ids []uint16) (out []string) {
			for _, id := range ids {
				out = append(out, tls.CipherSuiteName(id))
			}
			return out
		}
		t.Errorf("TLS 1.2 suites accepted: %v, want only %v", names(accepted), names(want))
	}

	// The attack's own client: ECDHE-ECDSA-AES128-SHA alone.
	if _, err := dialTLS(t, ts, &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}); err == nil {
		t.Error("a client offering only ECDHE-ECDSA-AES128-SHA (CBC) completed a handshake")
	}
	// TLS 1.3 as Go does it.
	st, err := dialTLS(t, ts, &tls.Config{MinVersion: tls.VersionTLS13})
	if err != nil || st.Version != tls.VersionTLS13 {
		t.Errorf("TLS 1.3 handshake: version %x, %v", st.Version, err)
	}
}

// TestALPNHTTP2OnlyWhenSwitchedOn checks what a client offering h2 gets: HTTP/1.1 by default (no HTTP/2 before any
// authentication: the rapid-reset class), h2 when Options.HTTP2 is on — both in the handshake and over a real
// HTTP client that tries HTTP/2.
func TestALPNHTTP2OnlyWhenSwitchedOn(t *testing.T) {
	for _, tc := range []struct {
		http2     bool
		wantALPN  string
		wantProto int
	}{{false, "http/1.1", 1}, {true, "h2", 2}} {
		ts := startServer(t, Options{HTTP2: tc.http2})
		st, err := dialTLS(t, ts, &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		if st.NegotiatedProtocol != tc.wantALPN {
			t.Errorf("HTTP2=%v: ALPN negotiated %q, want %q", tc.http2, st.NegotiatedProtocol, tc.wantALPN)
		}
		// A client that offers h2 alone gets no h2.
		st, err = dialTLS(t, ts, &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"h2"}})
		if err == nil && st.NegotiatedProtocol == "h2" && !tc.http2 {
			t.Errorf("HTTP2=false: a client offering only h2 negotiated h2")
		}

		pool, err := (&Certificates{CA: ts.CABundle()}).CertPool()
		if err != nil {
			t.Fatal(err)
		}
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, ForceAttemptHTTP2: true}
		resp, err := (&http.Client{Transport: tr}).Post(ts.url+"/validate", "application/json", bytes.NewReader(readFixture(t, "pod-review.json")))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		tr.CloseIdleConnections()
		if resp.ProtoMajor != tc.wantProto || resp.StatusCode != http.StatusOK {
			t.Errorf("HTTP2=%v: %s %d, want HTTP/%d 200", tc.http2, resp.Proto, resp.StatusCode, tc.wantProto)
		}
	}
}

// readyDetail is what the readiness function of these tests returns: what `vnfguard serve` says about its
// inventory, which an anonymous caller of the webhook port must not learn.
func readyDetail(ready bool) (bool, any) {
	return ready, map[string]any{"ready": ready, "inventory": map[string]any{
		"loaded": ready, "source": "sol003:https://vnfm.internal:9890", "version": "abc123", "ageSeconds": 12.5,
		"lastError": "GET https://vnfm.internal:9890/vnflcm/v2/vnf_instances: 503", "subscribed": true}}
}

// TestReadyzAnonymousIsBare checks that the webhook port's /readyz (open to anyone who can connect) gives the
// status and nothing else, whether or not a metrics listener is configured.
func TestReadyzAnonymousIsBare(t *testing.T) {
	for _, metricsListen := range []string{"", "127.0.0.1:0"} {
		for _, ready := range []bool{true, false} {
			ts := startServer(t, Options{MetricsListen: metricsListen, Ready: func() (bool, any) { return readyDetail(ready) }})
			status, body := ts.get(t, "/readyz")
			wantStatus := map[bool]int{true: http.StatusOK, false: http.StatusServiceUnavailable}[ready]
			var doc map[string]any
			if err := json.Unmarshal(body, &doc); err != nil {
				t.Fatalf("/readyz body is not JSON: %v: %s", err, body)
			}
			if status != wantStatus || len(doc) != 1 || doc["ready"] != ready {
				t.Errorf("metrics listener %q, ready=%v: webhook port /readyz %d %s, want %d and only {\"ready\":%v}", metricsListen, ready, status, body, wantStatus, ready)
			}
			for _, secret := range []string{"vnfm.internal", "abc123", "lastError", "subscribed"} {
				if strings.Contains(string(body), secret) {
					t.Errorf("webhook port /readyz tells an anonymous caller %q: %s", secret, body)
				}
			}
		}
	}
}

// TestMetricsListener checks the plain-HTTP metrics listener: /metrics and the detailed /readyz are there, and
// /metrics is no longer on the webhook port.
func TestMetricsListener(t *testing.T) {
	ts := startServer(t, Options{MetricsListen: "127.0.0.1:0", Ready: func() (bool, any) { return readyDetail(true) }})
	ts.review(t, readFixture(t, "pod-review.json"))
	admin := "http://" + ts.MetricsAddr()
	if ts.MetricsAddr() == "" {
		t.Fatal("MetricsAddr is empty with MetricsListen set")
	}
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if status, body := get(admin + "/metrics"); status != http.StatusOK || !strings.Contains(body, `vnfguard_admission_decisions_total{check="none",result="allowed"} 1`) {
		t.Errorf("metrics listener /metrics: %d %.300s", status, body)
	}
	if status, body := get(admin + "/readyz"); status != http.StatusOK || !strings.Contains(body, `"version":"abc123"`) || !strings.Contains(body, `"lastError"`) {
		t.Errorf("metrics listener /readyz: %d %s, want the detail", status, body)
	}
	if status, body := get(admin + "/healthz"); status != http.StatusOK || body != "ok\n" {
		t.Errorf("metrics listener /healthz: %d %q", status, body)
	}
	if status, _ := get(admin + "/validate"); status != http.StatusNotFound {
		t.Errorf("metrics listener /validate: %d, want 404 (admission only on the TLS port)", status)
	}
	if status, body := ts.get(t, "/metrics"); status != http.StatusNotFound {
		t.Errorf("webhook port /metrics with a metrics listener: %d %.200s, want 404", status, body)
	}
}

// TestDrainFailsReadinessButKeepsAdmitting checks Drain, which `serve` calls on SIGTERM before it stops listening:
// /readyz turns 503 on both ports (so the endpoints controller takes the replica out of the Service) while
// admission reviews in flight or already routed here still get answers.
func TestDrainFailsReadinessButKeepsAdmitting(t *testing.T) {
	ts := startServer(t, Options{MetricsListen: "127.0.0.1:0", Ready: func() (bool, any) { return readyDetail(true) }})
	if status, _ := ts.get(t, "/readyz"); status != http.StatusOK {
		t.Fatalf("before Drain: /readyz %d, want 200", status)
	}
	ts.Drain()
	if status, body := ts.get(t, "/readyz"); status != http.StatusServiceUnavailable || strings.TrimSpace(string(body)) != `{"ready":false}` {
		t.Errorf("after Drain: webhook port /readyz %d %s, want 503 {\"ready\":false}", status, body)
	}
	resp, err := http.Get("http://" + ts.MetricsAddr() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), `"draining":true`) {
		t.Errorf("after Drain: metrics /readyz %d %s, want 503 saying draining", resp.StatusCode, body)
	}
	if review := ts.review(t, readFixture(t, "pod-review.json")); review.Response == nil || !review.Response.Allowed {
		t.Errorf("after Drain: admission review not answered: %+v", review.Response)
	}
	// Each answer of the drain closes its connection: the client's next request is dialled anew (to a ready
	// replica), never written to a connection that Shutdown closes.
	for _, drained := range []bool{false, true} {
		ts := startServer(t, Options{})
		if drained {
			ts.Drain()
		}
		req, err := http.NewRequest(http.MethodPost, ts.url+"/validate", bytes.NewReader(readFixture(t, "pod-review.json")))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := ts.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Close != drained {
			t.Errorf("drained %v: /validate %d, connection closed after it: %v; want 200 and %v", drained, resp.StatusCode, resp.Close, drained)
		}
	}
	if status, _ := ts.get(t, "/healthz"); status != http.StatusOK {
		t.Errorf("after Drain: /healthz %d, want 200 (draining is not dead)", status)
	}
}
