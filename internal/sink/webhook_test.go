package sink

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

var quiet = slog.New(slog.DiscardHandler)

// recorder answers with a scripted sequence of statuses (the last one repeats) and keeps every body.
type recorder struct {
	mu       sync.Mutex
	statuses []int
	header   http.Header
	bodies   [][]byte
	headers  []http.Header
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	n := len(r.bodies)
	r.bodies = append(r.bodies, body)
	r.headers = append(r.headers, req.Header.Clone())
	status := r.statuses[min(n, len(r.statuses)-1)]
	r.mu.Unlock()
	for k, v := range r.header {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
}

func TestWebhookDelivery(t *testing.T) {
	tests := []struct {
		name       string
		statuses   []int
		header     http.Header
		maxRetries int
		want       WebhookStats
	}{
		{name: "accepted", statuses: []int{200}, want: WebhookStats{Sent: 1}},
		{name: "503 twice then accepted", statuses: []int{503, 503, 204}, want: WebhookStats{Sent: 1, Retried: 2}},
		{name: "429 with Retry-After", statuses: []int{429, 200}, header: http.Header{"Retry-After": {"0"}},
			want: WebhookStats{Sent: 1, Retried: 1}},
		{name: "400 is not retried", statuses: []int{400}, want: WebhookStats{Failed: 1}},
		{name: "500 until retries run out", statuses: []int{500}, maxRetries: 2, want: WebhookStats{Retried: 2, Failed: 1}},
	}
	fs := loadFindings(t)
	wantBody, err := json.Marshal(fs)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{statuses: tc.statuses, header: tc.header}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			w, err := NewWebhook(srv.URL, WebhookOptions{
				InitialBackoff: time.Millisecond, MaxRetries: tc.maxRetries, Logger: quiet,
				Headers: map[string]string{"Authorization": "Bearer t0ken"},
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Send(context.Background(), fs); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if got := w.Stats(); got != tc.want {
				t.Errorf("stats = %+v, want %+v", got, tc.want)
			}
			wantRequests := int(tc.want.Sent + tc.want.Failed + tc.want.Retried)
			if len(rec.bodies) != wantRequests {
				t.Fatalf("server saw %d requests, want %d", len(rec.bodies), wantRequests)
			}
			for i, body := range rec.bodies {
				if string(body) != string(wantBody) {
					t.Errorf("request %d body = %s, want %s", i, body, wantBody)
				}
				if h := rec.headers[i]; h.Get("Content-Type") != "application/json" || h.Get("Authorization") != "Bearer t0ken" {
					t.Errorf("request %d headers = %v", i, h)
				}
			}
			if err := w.Send(context.Background(), fs); err == nil {
				t.Error("Send after Close succeeded")
			}
		})
	}
}

func TestWebhookQueueFullDrops(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	var mu sync.Mutex
	requests := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests++
		mu.Unlock()
		once.Do(func() { close(started) })
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	w, err := NewWebhook(srv.URL, WebhookOptions{QueueSize: 1, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	fs := loadFindings(t)
	if err := w.Send(context.Background(), fs); err != nil {
		t.Fatal(err)
	}
	<-started // the worker is now stuck in the first request, so the queue only drains when release closes

	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 6 { // one fits the queue, five are dropped
			if err := w.Send(context.Background(), fs); err != nil {
				t.Error(err)
			}
		}
	}()
	select {
	case <-done: // all six Sends returned while the server still holds the first request
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("Send blocked while the receiver was slow")
	}
	if got := w.Stats().Dropped; got != 5 {
		t.Errorf("dropped = %d, want 5", got)
	}
	close(release)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := w.Stats(); got != (WebhookStats{Sent: 2, Dropped: 5}) {
		t.Errorf("stats = %+v, want 2 sent and 5 dropped", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if requests != 2 {
		t.Errorf("server saw %d requests, want 2", requests)
	}
}

func TestWebhookCloseDeadline(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release) // before srv.Close, which waits for handlers
	w, err := NewWebhook(srv.URL, WebhookOptions{DrainTimeout: 50 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	fs := loadFindings(t)
	for range 3 {
		if err := w.Send(context.Background(), fs); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err == nil {
		t.Fatal("Close met its deadline against a server that never answers")
	}
	if got := w.Stats(); got.Failed != 3 || got.Sent != 0 {
		t.Errorf("stats = %+v, want 3 failed", got)
	}
}

func TestNewWebhookRejectsBadURL(t *testing.T) {
	for _, u := range []string{"", "ftp://x/", "http://", "::"} {
		if _, err := NewWebhook(u, WebhookOptions{}); err == nil {
			t.Errorf("NewWebhook(%q) succeeded", u)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"3", 3 * time.Second}, {"-1", 0}, {"junk", 0}, {"99999", maxRetryAfter},
		{now.Add(5 * time.Second).Format(http.TimeFormat), 5 * time.Second},
	}
	for _, tc := range tests {
		if got := retryAfter(tc.in, now); got != tc.want {
			t.Errorf("retryAfter(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
