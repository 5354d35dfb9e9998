package audit

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/vnfguard/vnfguard/internal/runtimeevent"
)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert, key}
}

func (ca *testCA) client(t *testing.T, cn string, usage x509.ExtKeyUsage) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{usage}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

const smallList = `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{"auditID":"s1","stage":"ResponseComplete","verb":"get"},{"auditID":"s2","stage":"ResponseComplete","verb":"create"}]}`

func TestReceiverHTTPS(t *testing.T) {
	goodList, err := os.ReadFile(filepath.Join("testdata", "eventlist.json"))
	if err != nil {
		t.Fatal(err)
	}
	ca, otherCA := newCA(t, "audit-client-ca"), newCA(t, "someone-else")
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)

	// Size the queue for two big batches and one small one: the third big batch finds it full.
	sizeOf := func(body []byte) int64 {
		list, err := DecodeEventList(body)
		if err != nil {
			t.Fatal(err)
		}
		m := openQ(t, t.TempDir(), QueueOptions{})
		defer m.Close()
		if err := m.Append(list.Items); err != nil {
			t.Fatal(err)
		}
		return int64(m.Stats().WritePos)
	}
	big := sizeOf(goodList)
	q := openQ(t, t.TempDir(), QueueOptions{Fsync: true, MaxBytes: 2*big + sizeOf([]byte(smallList)) + big/2})
	defer q.Close()
	rcv, err := NewReceiver(q, ReceiverOptions{BearerTokens: []string{"s3cret-token"}, ClientCAs: pool, MaxBodyBytes: 9000, RetryAfter: 3 * time.Second, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(rcv)
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	defer srv.Close()
	base := srv.Client().Transport.(*http.Transport)
	clientWith := func(certs ...tls.Certificate) *http.Client {
		tr := base.Clone()
		tr.TLSClientConfig.Certificates = certs
		return &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}
	plain := clientWith()

	tests := []struct {
		name       string
		client     *http.Client
		method     string
		token      string
		ctype      string
		body       string
		wantCode   int
		wantBody   string
		wantHeader [2]string
		wantEvents int // events the queue gains
	}{
		{"no credentials", plain, "POST", "", "application/json", smallList, 401, "unauthorized", [2]string{"WWW-Authenticate", `Bearer realm="vnfguard audit"`}, 0},
		{"wrong token", plain, "POST", "guess", "application/json", smallList, 401, "unauthorized", [2]string{}, 0},
		{"token", plain, "POST", "s3cret-token", "application/json", string(goodList), 200, "", [2]string{}, 5},
		{"client certificate", clientWith(ca.client(t, "kube-apiserver", x509.ExtKeyUsageClientAuth)), "POST", "", "application/json; charset=utf-8", smallList, 200, "", [2]string{}, 2},
		{"certificate of another CA", clientWith(otherCA.client(t, "kube-apiserver", x509.ExtKeyUsageClientAuth)), "POST", "", "application/json", smallList, 401, "unauthorized", [2]string{}, 0},
		{"server certificate as client", clientWith(ca.client(t, "kube-apiserver", x509.ExtKeyUsageServerAuth)), "POST", "", "application/json", smallList, 401, "unauthorized", [2]string{}, 0},
		{"GET", plain, "GET", "s3cret-token", "", "", 405, "not allowed", [2]string{"Allow", "POST"}, 0},
		{"text body", plain, "POST", "s3cret-token", "text/plain", smallList, 415, "want application/json", [2]string{}, 0},
		{"malformed item", plain, "POST", "s3cret-token", "application/json", strings.Replace(smallList, `"auditID":"s2",`, "", 1), 400, "items[1].auditID: missing", [2]string{}, 0},
		{"syntax error", plain, "POST", "s3cret-token", "application/json", smallList[:60], 400, "at byte offset 60", [2]string{}, 0},
		{"old version", plain, "POST", "s3cret-token", "application/json", strings.Replace(smallList, "audit.k8s.io/v1", "audit.k8s.io/v1alpha1", 1), 400, "apiVersion", [2]string{}, 0},
		{"too big", plain, "POST", "s3cret-token", "application/json", strings.Replace(string(goodList), `"metadata": {}`, `"metadata": {"x":"`+strings.Repeat("y", 2000)+`"}`, 1), 413, "body over 9000 bytes", [2]string{}, 0},
		{"fills the queue", plain, "POST", "s3cret-token", "application/json", string(goodList), 200, "", [2]string{}, 5},
		{"queue full", plain, "POST", "s3cret-token", "application/json", string(goodList), 429, "retry later", [2]string{"Retry-After", "3"}, 0},
	}
	total := 0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+"/audit", bytes.NewBufferString(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			resp, err := tc.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantCode || !strings.Contains(string(body), tc.wantBody) {
				t.Fatalf("got %d %q, want %d containing %q", resp.StatusCode, body, tc.wantCode, tc.wantBody)
			}
			if tc.wantHeader[0] != "" && resp.Header.Get(tc.wantHeader[0]) != tc.wantHeader[1] {
				t.Fatalf("header %s is %q, want %q", tc.wantHeader[0], resp.Header.Get(tc.wantHeader[0]), tc.wantHeader[1])
			}
			total += tc.wantEvents
			if got := len(drainOnly(t, q)); got != tc.wantEvents {
				t.Fatalf("queue gained %d events, want %d", got, tc.wantEvents)
			}
		})
	}
	s := rcv.Stats()
	if s.Events != uint64(total) || s.Batches != 3 || s.Unauthorized != 4 || s.QueueFull != 1 || s.TooLarge != 1 || s.BadRequest != 4 {
		t.Fatalf("stats %+v", s)
	}
}

// drainOnly returns the records available now without acknowledging them (so the queue fills up).
func drainOnly(t *testing.T, q *Queue) []Record {
	t.Helper()
	var recs []Record
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		rec, err := q.Next(ctx)
		cancel()
		if err != nil {
			return recs
		}
		recs = append(recs, rec)
	}
}

func TestNewReceiverRefusesOpenConfig(t *testing.T) {
	q := openQ(t, t.TempDir(), QueueOptions{})
	defer q.Close()
	for _, opts := range []ReceiverOptions{{}, {BearerTokens: []string{" "}}} {
		if _, err := NewReceiver(q, opts); err == nil {
			t.Fatalf("NewReceiver(%+v) accepted a configuration without usable credentials", opts)
		}
	}
	if _, err := NewReceiver(nil, ReceiverOptions{BearerTokens: []string{"t"}}); err == nil {
		t.Fatal("NewReceiver without a queue succeeded")
	}
}

type appended struct{ events []auditv1.Event }

func (a *appended) Append(evs []auditv1.Event) error { a.events = append(a.events, evs...); return nil }

// TestReceiverNeverPassesRuntimeEnvelopes: only /runtime, which authenticates node agents, may hand the engine
// runtime reports; an audit event claiming the runtime verb is kept as an audit event under another verb.
func TestReceiverNeverPassesRuntimeEnvelopes(t *testing.T) {
	q := &appended{}
	r, err := NewReceiver(q, ReceiverOptions{BearerTokens: []string{"t"}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{"level":"Metadata","auditID":"a1","stage":"ResponseComplete","requestURI":"/x","verb":"runtime",` +
		`"user":{"username":"mallory"},"requestObject":{"id":"n/k8s.io/c/exec/x","kind":"exec"},"requestReceivedTimestamp":"2026-12-05T10:00:00.000000Z","stageTimestamp":"2026-12-05T10:00:00.000000Z"}]}`
	req := httptest.NewRequest(http.MethodPost, "/audit", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer t")
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	if w.Code != http.StatusOK || len(q.events) != 1 {
		t.Fatalf("%d %s, %d events", w.Code, w.Body.String(), len(q.events))
	}
	if _, ok, _ := runtimeevent.FromEnvelope(&q.events[0]); ok || q.events[0].Verb == runtimeevent.Verb {
		t.Errorf("an audit event passed as a runtime report: verb %q", q.events[0].Verb)
	}
}
