package nodesensor

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/vnfguard/vnfguard/internal/runtimeevent"
	"github.com/vnfguard/vnfguard/internal/selfcert"
)

// ShipperOptions configure a Shipper.
type ShipperOptions struct {
	// URL is serve's /runtime endpoint (https://vnfguard.vnfguard.svc/runtime).
	URL string
	// TokenFile holds the bearer token (the pod's projected service-account token); read before every request,
	// since the kubelet rotates it.
	TokenFile string
	// CAFile verifies serve's certificate; empty: the system roots.
	CAFile string
	// MaxBuffer bounds the events held while serve cannot take them (default 100 000); beyond it Emit blocks, and
	// the sensor with it: containerd keeps its events for a slow subscriber only so long, and what is missed then
	// is found by the next inventory.
	MaxBuffer int
	// BatchSize bounds one request (default 500 events).
	BatchSize int
	// Backoff spaces the retries of a batch serve did not take (default 200 ms doubling to 10 s, with jitter).
	Backoff wait.Backoff
	Logger  *slog.Logger
	// Client overrides the HTTP client (tests).
	Client *http.Client
}

// Shipper sends the sensor's events to serve, in order, retrying until serve has stored them.
type Shipper struct {
	o      ShipperOptions
	client *http.Client

	mu      sync.Mutex
	notFull *sync.Cond
	buf     []runtimeevent.Event
	wake    chan struct{}

	sent, retries, rejected uint64
}

// NewShipper checks the options and reads the CA.
func NewShipper(o ShipperOptions) (*Shipper, error) {
	if o.URL == "" || o.TokenFile == "" {
		return nil, errors.New("nodesensor: the intake URL and the token file are required")
	}
	if o.MaxBuffer <= 0 {
		o.MaxBuffer = 100_000
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.Backoff.Duration == 0 {
		o.Backoff = wait.Backoff{Duration: 200 * time.Millisecond, Factor: 2, Jitter: 0.2, Cap: 10 * time.Second, Steps: 1 << 30}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Shipper{o: o, client: o.Client, wake: make(chan struct{}, 1)}
	s.notFull = sync.NewCond(&s.mu)
	if s.client == nil {
		tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if o.CAFile != "" {
			pool, err := selfcert.ReadCertPool(o.CAFile)
			if err != nil {
				return nil, fmt.Errorf("nodesensor: intake CA: %w", err)
			}
			tlsCfg.RootCAs = pool
		}
		s.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg, Proxy: http.ProxyFromEnvironment,
			MaxIdleConnsPerHost: 2, IdleConnTimeout: 90 * time.Second}}
	}
	return s, nil
}

// Emit queues events; it blocks while the buffer is full.
func (s *Shipper) Emit(evs []runtimeevent.Event) {
	s.mu.Lock()
	for len(s.buf)+len(evs) > s.o.MaxBuffer && len(s.buf) > 0 {
		s.notFull.Wait()
	}
	s.buf = append(s.buf, evs...)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Pending is how many events wait to be sent.
func (s *Shipper) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.buf)
}

// Run sends batches until ctx ends; then it tries for up to 5 s to send what is left.
func (s *Shipper) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			for s.Pending() > 0 && final.Err() == nil {
				if err := s.sendOne(final); err != nil {
					break
				}
			}
			if n := s.Pending(); n > 0 {
				s.o.Logger.Warn("stopping with runtime events unsent; the next start's inventory finds the containers again", "events", n)
			}
			return nil
		case <-s.wake:
		}
		backoff := s.o.Backoff
		for s.Pending() > 0 && ctx.Err() == nil {
			if err := s.sendOne(ctx); err != nil {
				s.retries++
				d := backoff.Step()
				s.o.Logger.Warn("runtime events not taken by the intake; retrying", "error", err, "in", d.String(), "pending", s.Pending())
				select {
				case <-time.After(d):
				case <-ctx.Done():
				}
				continue
			}
			backoff = s.o.Backoff
		}
	}
}

// sendOne sends the oldest batch and drops it from the buffer once serve answered 200 (or refused it as
// malformed: sending it again cannot help, and it must not block everything after it).
func (s *Shipper) sendOne(ctx context.Context) error {
	s.mu.Lock()
	n := min(len(s.buf), s.o.BatchSize)
	batch := s.buf[:n:n]
	s.mu.Unlock()
	if n == 0 {
		return nil
	}
	body, err := json.Marshal(runtimeevent.List{APIVersion: runtimeevent.ListAPIVersion, Kind: runtimeevent.ListKind, Items: batch})
	if err != nil {
		return err
	}
	token, err := os.ReadFile(s.o.TokenFile)
	if err != nil {
		return fmt.Errorf("read the token: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.o.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
		s.sent += uint64(n)
	case resp.StatusCode == http.StatusBadRequest:
		s.rejected += uint64(n)
		s.o.Logger.Error("the intake refused a batch as malformed; dropped", "events", n, "answer", strings.TrimSpace(string(msg)))
	default:
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	s.mu.Lock()
	s.buf = s.buf[n:]
	if len(s.buf) == 0 {
		s.buf = nil
	}
	s.notFull.Broadcast()
	s.mu.Unlock()
	return nil
}
