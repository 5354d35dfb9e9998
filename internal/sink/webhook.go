package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vnfguard/vnfguard/internal/finding"
)

// Webhook defaults.
const (
	DefaultWebhookTimeout = 10 * time.Second
	DefaultMaxRetries     = 5
	DefaultInitialBackoff = 200 * time.Millisecond
	MaxBackoff            = 10 * time.Second
	DefaultQueueSize      = 10000
	DefaultDrainTimeout   = 5 * time.Second
	// maxRetryAfter bounds a receiver's Retry-After so one answer cannot park the delivery goroutine for hours.
	maxRetryAfter = time.Minute
)

// WebhookOptions tune a Webhook; zero values take the defaults above.
type WebhookOptions struct {
	Timeout        time.Duration // per HTTP attempt
	MaxRetries     int           // retries after the first attempt; negative means none
	InitialBackoff time.Duration // doubles per retry, capped at MaxBackoff
	QueueSize      int           // batches waiting for delivery before new ones are dropped
	DrainTimeout   time.Duration // how long Close waits for the queue to empty
	Headers        map[string]string
	Client         *http.Client
	Logger         *slog.Logger
}

// WebhookStats counts deliveries. A batch is Sent, Dropped (queue full or sink closed) or Failed (rejected, retries
// exhausted, or abandoned at Close); Retried counts retry attempts.
type WebhookStats struct {
	Sent, Retried, Dropped, Failed uint64
}

// Webhook POSTs each batch of findings as a JSON array to a URL, from a background goroutine.
type Webhook struct {
	url  string
	opts WebhookOptions
	log  *slog.Logger

	mu     sync.RWMutex // guards closed against a Send racing the channel close
	closed bool
	queue  chan []finding.Finding
	done   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc

	sent, retried, dropped, failed atomic.Uint64
}

// NewWebhook validates the URL and starts the delivery goroutine.
func NewWebhook(rawURL string, opts WebhookOptions) (*Webhook, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("webhook sink: parse url %q: %w", rawURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("webhook sink: url %q: want an http or https URL with a host", rawURL)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultWebhookTimeout
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = DefaultMaxRetries
	} else if opts.MaxRetries < 0 {
		opts.MaxRetries = 0
	}
	if opts.InitialBackoff <= 0 {
		opts.InitialBackoff = DefaultInitialBackoff
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = DefaultDrainTimeout
	}
	if opts.Client == nil {
		opts.Client = &http.Client{}
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &Webhook{
		url:    rawURL,
		opts:   opts,
		log:    log.With("sink", "webhook", "url", u.Redacted()),
		queue:  make(chan []finding.Finding, opts.QueueSize),
		done:   make(chan struct{}),
		ctx:    ctx,
		cancel: cancel,
	}
	go w.run()
	return w, nil
}

// Send queues the batch and returns at once; it never waits for the network. When the queue is full the batch is
// dropped, counted and logged, and Send returns nil: losing an alert is better than stalling intake.
func (w *Webhook) Send(_ context.Context, fs []finding.Finding) error {
	if len(fs) == 0 {
		return nil
	}
	batch := append([]finding.Finding(nil), fs...) // the caller may reuse its slice
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		w.dropped.Add(1)
		return errors.New("webhook sink: send after close")
	}
	select {
	case w.queue <- batch:
	default:
		n := w.dropped.Add(1)
		w.log.Warn("webhook queue full, dropping batch", "findings", len(batch), "dropped_total", n)
	}
	return nil
}

// Stats returns the delivery counters.
func (w *Webhook) Stats() WebhookStats {
	return WebhookStats{Sent: w.sent.Load(), Retried: w.retried.Load(), Dropped: w.dropped.Load(), Failed: w.failed.Load()}
}

// Close stops accepting batches and waits up to DrainTimeout for queued ones to be delivered; past the deadline it
// abandons the rest (counted as Failed) and says how many.
func (w *Webhook) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	close(w.queue)
	w.mu.Unlock()

	timer := time.NewTimer(w.opts.DrainTimeout)
	defer timer.Stop()
	select {
	case <-w.done:
		w.cancel()
		return nil
	case <-timer.C:
	}
	before := w.failed.Load()
	w.cancel()
	<-w.done // every attempt and backoff observes ctx, so this is quick
	return fmt.Errorf("webhook sink: drain timed out after %s, abandoned %d batches", w.opts.DrainTimeout, w.failed.Load()-before)
}

func (w *Webhook) run() {
	defer close(w.done)
	for batch := range w.queue {
		w.deliver(batch)
	}
}

// deliver posts one batch with bounded retries on network errors, 5xx and 429.
func (w *Webhook) deliver(batch []finding.Finding) {
	body, err := json.Marshal(batch)
	if err != nil {
		w.failed.Add(1)
		w.log.Error("webhook encode batch", "findings", len(batch), "err", err)
		return
	}
	backoff := w.opts.InitialBackoff
	for attempt := 0; ; attempt++ {
		if w.ctx.Err() != nil {
			w.failed.Add(1)
			w.log.Error("webhook batch abandoned at close", "findings", len(batch))
			return
		}
		retryable, wait, err := w.post(body)
		if err == nil {
			w.sent.Add(1)
			return
		}
		if w.ctx.Err() != nil {
			w.failed.Add(1)
			w.log.Error("webhook batch abandoned at close", "findings", len(batch), "err", err)
			return
		}
		if !retryable || attempt >= w.opts.MaxRetries {
			w.failed.Add(1)
			w.log.Error("webhook delivery failed", "findings", len(batch), "attempts", attempt+1, "err", err)
			return
		}
		if wait <= 0 {
			wait = backoff
		}
		backoff = min(backoff*2, MaxBackoff)
		w.retried.Add(1)
		w.log.Warn("webhook delivery retry", "attempt", attempt+1, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-w.ctx.Done():
			t.Stop()
		}
	}
}

// post makes one attempt. It reports whether a failure is worth retrying and any wait the receiver asked for.
func (w *Webhook) post(body []byte) (retryable bool, wait time.Duration, err error) {
	ctx, cancel := context.WithTimeout(w.ctx, w.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return false, 0, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "vnfguard")
	for k, v := range w.opts.Headers {
		req.Header.Set(k, v)
	}
	resp, err := w.opts.Client.Do(req)
	if err != nil {
		return true, 0, fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	// Drain a little so the connection can be reused; a receiver's body is not interesting beyond that.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, 0, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return true, retryAfter(resp.Header.Get("Retry-After"), time.Now()), fmt.Errorf("receiver answered %s", resp.Status)
	default:
		return false, 0, fmt.Errorf("receiver rejected batch: %s", resp.Status)
	}
}

// retryAfter reads a Retry-After header (delay-seconds or HTTP-date); 0 means "use the backoff".
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.Atoi(v); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	if d < 0 {
		return 0
	}
	return min(d, maxRetryAfter)
}
