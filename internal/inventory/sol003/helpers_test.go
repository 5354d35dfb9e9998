package sol003

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vnfguard/vnfguard/internal/inventory/sol003/vnfmtest"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

const (
	notifyUser = "vnfguard"
	notifyPass = "s3cret-notify"
	clientID   = "vnfguard-client"
	secret     = "s3cret-oauth"
	fixture    = "vnfmtest/testdata/fixtures/tacker-cnf.json"
)

var upf = vnfmtest.Package{VnfdID: "b1bb0ce7-ebca-4fa7-95ed-4840d7000000", Provider: "Acme", ProductName: "UPF", SoftwareVersion: "2.1"}

// env is a test VNFM, a notification endpoint and a source wired together.
type env struct {
	vnfm     *vnfmtest.Server
	src      *Source
	callback *httptest.Server
	cfg      Config
}

// newEnv starts the VNFM and the notification endpoint and builds the source; Run is the test's call.
func newEnv(t testing.TB, opts vnfmtest.Options, tweak func(*Config)) *env {
	t.Helper()
	e := &env{vnfm: vnfmtest.Start(t, opts)}
	mux := http.NewServeMux()
	mux.Handle("/sol003/notifications", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { e.src.Handler().ServeHTTP(w, r) }))
	e.callback = httptest.NewServer(mux)
	t.Cleanup(e.callback.Close)
	e.cfg = Config{
		// The test VNFM speaks plain HTTP unless opts.TLS.
		APIRoot: e.vnfm.URL, Insecure: !opts.TLS, CallbackURI: e.callback.URL + "/sol003/notifications",
		NotificationUsername: notifyUser, NotificationPassword: notifyPass,
		Timeout: 2 * time.Second, Backoff: Backoff{Initial: 5 * time.Millisecond, Max: 50 * time.Millisecond},
	}
	if opts.ClientID != "" {
		e.cfg.TokenURL, e.cfg.ClientID, e.cfg.ClientSecret = e.vnfm.TokenURL, opts.ClientID, opts.ClientSecret
	}
	if tweak != nil {
		tweak(&e.cfg)
	}
	src, err := NewSource(e.cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	e.src = src
	return e
}

// run starts the source and waits until it is loaded (and subscribed when a callback is configured).
func (e *env) run(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.src.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	waitFor(t, "the first list and the subscription", func() bool {
		st := e.src.Status()
		return st.Loaded && (e.cfg.CallbackURI == "" || st.Subscribed)
	})
}

// waitFor polls cond until it holds; a generous deadline makes a hang fail the test rather than time it.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func (e *env) instance(id string) (*vnf.Instance, bool) { return e.src.Snapshot().Instance(id) }

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func errorsAs[T error](err error) (T, bool) {
	var target T
	ok := errors.As(err, &target)
	return target, ok
}

func resourceNames(inst *vnf.Instance) []string { return vnf.ResourceNames(inst) }

func inst0() time.Time { return time.Unix(0, 0) }

// testLogger sends the source's logs to the test's log.
func testLogger(t testing.TB) *slog.Logger {
	if _, bench := t.(*testing.B); bench {
		return nil
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
