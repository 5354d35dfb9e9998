package audit

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/vnfguard/vnfguard/internal/runtimeevent"
)

// Appender is where the receiver puts accepted batches: *Queue, or the PostgreSQL queue (package pgqueue) when
// several replicas share the work. Append answers only once the batch is durable.
type Appender interface {
	Append(events []auditv1.Event) error
}

// ReceiverOptions configures NewReceiver.
type ReceiverOptions struct {
	// BearerTokens are the tokens the API server may present (its webhook kubeconfig's user.token). Compared in
	// constant time.
	BearerTokens []string
	// ClientCAs verifies client certificates (the webhook kubeconfig's client-certificate). The TLS server must
	// request them (tls.Config.ClientAuth RequestClientCert or VerifyClientCertIfGiven); the receiver verifies the
	// chain itself, so the server's setting only decides whether one is asked for.
	ClientCAs *x509.CertPool
	// MaxBodyBytes bounds one EventList (default 32 MiB; the API server's batches hold up to 400 events, some of
	// them with request and response bodies). Bigger bodies get 413.
	MaxBodyBytes int64
	// RetryAfter is what a 429 asks the sender to wait (default 5s).
	RetryAfter time.Duration
	// Logger gets one record per rejected batch; default slog.Default().
	Logger *slog.Logger
}

// ReceiverStats counts what the receiver did, for metrics.
type ReceiverStats struct {
	Batches, Events, Unauthorized, BadRequest, TooLarge, QueueFull, Errors uint64
}

// Receiver is the HTTP handler for the API server's audit webhook backend (--audit-webhook-config-file): it takes
// POSTs of audit.k8s.io/v1 EventList and answers 200 only once the batch is appended durably.
//
//	401 no valid bearer token and no client certificate verified by ClientCAs
//	405 not a POST
//	415 a Content-Type other than application/json
//	400 a malformed EventList; the body says what and where
//	413 a body over MaxBodyBytes, or a batch bigger than the whole queue
//	429 the queue is full; Retry-After says when to try again (the API server retries the batch)
//	503 the queue is closed (shutting down); 500 an append failed
type Receiver struct {
	q      Appender
	opts   ReceiverOptions
	tokens [][sha256.Size]byte
	log    *slog.Logger

	batches, events, unauthorized, badRequest, tooLarge, queueFull, errs atomic.Uint64
}

// NewReceiver returns the handler. It refuses a configuration that would accept unauthenticated batches.
func NewReceiver(q Appender, opts ReceiverOptions) (*Receiver, error) {
	if q == nil {
		return nil, errors.New("audit receiver: no queue")
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 32 << 20
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	r := &Receiver{q: q, opts: opts, log: opts.Logger}
	for i, t := range opts.BearerTokens {
		if strings.TrimSpace(t) == "" {
			return nil, fmt.Errorf("audit receiver: bearer token %d is empty", i)
		}
		r.tokens = append(r.tokens, sha256.Sum256([]byte(t)))
	}
	if len(r.tokens) == 0 && opts.ClientCAs == nil {
		return nil, errors.New("audit receiver: neither bearer tokens nor client CAs configured; every batch would be refused")
	}
	return r, nil
}

// Stats returns the counters.
func (r *Receiver) Stats() ReceiverStats {
	return ReceiverStats{Batches: r.batches.Load(), Events: r.events.Load(), Unauthorized: r.unauthorized.Load(),
		BadRequest: r.badRequest.Load(), TooLarge: r.tooLarge.Load(), QueueFull: r.queueFull.Load(), Errors: r.errs.Load()}
}

func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if !r.authenticated(req) {
		r.unauthorized.Add(1)
		r.log.Warn("audit webhook: unauthenticated batch refused", "remote", req.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Bearer realm="vnfguard audit"`)
		http.Error(w, "unauthorized: present a bearer token or a client certificate vnfguard trusts", http.StatusUnauthorized)
		return
	}
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method "+req.Method+" not allowed: POST an audit.k8s.io/v1 EventList", http.StatusMethodNotAllowed)
		return
	}
	if ct := req.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			r.badRequest.Add(1)
			http.Error(w, fmt.Sprintf("content type %q: want application/json (the webhook backend sends JSON)", ct), http.StatusUnsupportedMediaType)
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, r.opts.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			r.tooLarge.Add(1)
			r.log.Warn("audit webhook: batch too large", "limit", r.opts.MaxBodyBytes, "remote", req.RemoteAddr)
			http.Error(w, fmt.Sprintf("body over %d bytes: lower --audit-webhook-batch-max-size", r.opts.MaxBodyBytes), http.StatusRequestEntityTooLarge)
			return
		}
		r.badRequest.Add(1)
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	list, err := DecodeEventList(body)
	if err != nil {
		r.badRequest.Add(1)
		r.log.Warn("audit webhook: malformed batch refused", "err", err, "bytes", len(body), "remote", req.RemoteAddr)
		http.Error(w, "malformed EventList: "+err.Error(), http.StatusBadRequest)
		return
	}
	for i := range list.Items {
		if list.Items[i].Verb == runtimeevent.Verb {
			// Only the node agents' endpoint (/runtime) may hand the engine runtime events; one arriving here is
			// kept as the audit event it claims to be, under a verb no runtime rule reads.
			r.log.Warn("audit webhook: an event with the runtime verb arrived as an audit event; kept, but not as a runtime event", "auditID", list.Items[i].AuditID)
			list.Items[i].Verb = "forged-" + runtimeevent.Verb
		}
	}
	if len(list.Items) > 0 { // an empty EventList has nothing to store; some queues refuse an empty batch
		err = r.q.Append(list.Items)
	}
	switch {
	case err == nil:
	case errors.Is(err, ErrQueueFull):
		r.queueFull.Add(1)
		r.log.Warn("audit webhook: queue full, asking the API server to retry", "events", len(list.Items), "err", err)
		w.Header().Set("Retry-After", strconv.Itoa(int((r.opts.RetryAfter+time.Second-1)/time.Second)))
		http.Error(w, "audit queue full, retry later", http.StatusTooManyRequests)
		return
	case errors.Is(err, ErrBatchTooLarge):
		r.tooLarge.Add(1)
		r.log.Error("audit webhook: batch larger than the queue", "events", len(list.Items), "err", err)
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	case errors.Is(err, ErrClosed):
		r.errs.Add(1)
		w.Header().Set("Retry-After", "1")
		http.Error(w, "shutting down, retry", http.StatusServiceUnavailable)
		return
	default:
		r.errs.Add(1)
		r.log.Error("audit webhook: append failed", "events", len(list.Items), "err", err)
		http.Error(w, "could not store the batch, retry", http.StatusInternalServerError)
		return
	}
	r.batches.Add(1)
	r.events.Add(uint64(len(list.Items)))
	w.WriteHeader(http.StatusOK)
}

// authenticated accepts a bearer token from the list or a client certificate that chains to ClientCAs for client
// authentication.
func (r *Receiver) authenticated(req *http.Request) bool {
	if tok, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer "); ok && len(r.tokens) > 0 {
		sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
		match := 0
		for i := range r.tokens {
			match |= subtle.ConstantTimeCompare(sum[:], r.tokens[i][:])
		}
		if match == 1 {
			return true
		}
	}
	if r.opts.ClientCAs == nil || req.TLS == nil || len(req.TLS.PeerCertificates) == 0 {
		return false
	}
	inter := x509.NewCertPool()
	for _, c := range req.TLS.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := req.TLS.PeerCertificates[0].Verify(x509.VerifyOptions{
		Roots: r.opts.ClientCAs, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	return err == nil
}
