package admission

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/policy"
)

// DefaultMaxBodyBytes bounds an AdmissionReview body. The API server itself caps objects at about 1.5 MiB; a
// review carries the object and the old object, so 3 MiB admits every legitimate review.
const DefaultMaxBodyBytes = 3 << 20

// DefaultListen is the address the server listens on when Options.Listen is empty: loopback only.
const DefaultListen = "127.0.0.1:8443"

// TLSOptions says where the serving certificate comes from: a cert/key file pair, re-read when the files change,
// or (SelfSigned) a CA and serving certificate generated in memory for Hosts.
type TLSOptions struct {
	CertFile, KeyFile string
	SelfSigned        bool
	// Hosts are the DNS names and IP addresses of a self-signed serving certificate (DefaultHosts when empty).
	Hosts []string
	// GetCertificate, when set, supplies the serving certificate at each handshake (e.g. internal/selfcert's Source,
	// which follows a Secret); it excludes the files and SelfSigned.
	GetCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	// RequestClientCerts asks clients for a certificate without requiring one; handlers that authenticate by
	// client certificate (the audit receiver) verify the chain themselves.
	RequestClientCerts bool
}

// Options configure a Server. Handler is required; everything else has a default.
type Options struct {
	// Listen is the host:port to listen on (DefaultListen when empty; port 0 picks a free port, see Addr).
	Listen string
	TLS    TLSOptions
	// Handler judges each request, normally Policy(evaluator).
	Handler Handler
	// Ready reports readiness for /readyz: 200 when true, else 503; the second value is marshalled as the JSON
	// body. Nil means always ready.
	Ready func() (bool, any)
	// Findings receives one Finding JSON line per finding of each decision (nil: findings are not written).
	// Writes are serialised by the server.
	Findings io.Writer
	// Cluster names the cluster in every finding (config clusterName; see finding.InCluster).
	Cluster string
	Logger  *slog.Logger
	// MaxBodyBytes bounds the request body (DefaultMaxBodyBytes when zero); a bigger body gets 413.
	MaxBodyBytes int64
	// Registry receives the server's metrics and Gatherer serves /metrics. When both are nil the server uses a
	// registry of its own (with the Go and process collectors); when only Registry is set and it is also a
	// Gatherer (a *prometheus.Registry), it serves /metrics too.
	Registry prometheus.Registerer
	Gatherer prometheus.Gatherer
	// Now is the clock for finding timestamps (time.Now when nil).
	Now func() time.Time
	// OnFindings, when set, also receives the findings of each decision (after they are written to Findings): the
	// alert sinks and the findings store. It must not block for long; it runs on the request's goroutine.
	OnFindings func([]finding.Finding)
	// Routes are further handlers served on the same listener, by path (e.g. "/audit" for the API server's audit
	// webhook backend). They must not shadow the server's own paths.
	Routes map[string]http.Handler
	// HTTP2 offers HTTP/2 (ALPN h2) on the webhook port. Off, the port speaks HTTP/1.1 only: HTTP/2 is negotiated
	// in the TLS handshake, before any request is authenticated or judged, so its stream-multiplexing attacks
	// (rapid reset, CVE-2023-44487, and the like) reach every client that can open a connection. kube-apiserver
	// disables HTTP/2 for its webhooks by default for the same reason.
	HTTP2 bool
	// MetricsListen, when set, is a second, plain-HTTP listener (e.g. 127.0.0.1:9090) that serves /metrics, the
	// detailed /readyz and /healthz; /metrics then leaves the webhook port. Empty: /metrics stays on the webhook
	// port, and the readiness detail is served nowhere (the webhook port's /readyz only says ready or not).
	MetricsListen string
}

// Server is the HTTPS admission webhook.
type Server struct {
	opts    Options
	logger  *slog.Logger
	metrics *metrics
	tls     *tls.Config
	ca      []byte
	http    *http.Server
	mux     *http.ServeMux
	// admin is the plain-HTTP metrics listener's server (nil without Options.MetricsListen).
	admin *http.Server

	findingsMu sync.Mutex
	bufs       sync.Pool
	// draining is set by Drain: /readyz says not ready while requests are still answered.
	draining atomic.Bool

	mu            sync.Mutex
	listener      net.Listener
	adminListener net.Listener
	done          chan struct{}
	serveErr      error
}

// NewServer checks the options, loads or generates the serving certificate and registers the metrics. It does
// not listen yet: see Start.
func NewServer(opts Options) (*Server, error) {
	if opts.Handler == nil {
		return nil, errors.New("admission server: no handler")
	}
	if opts.Listen == "" {
		opts.Listen = DefaultListen
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Registry == nil && opts.Gatherer == nil {
		reg := newRegistry()
		opts.Registry, opts.Gatherer = reg, reg
	} else if opts.Gatherer == nil {
		g, ok := opts.Registry.(prometheus.Gatherer)
		if !ok {
			return nil, errors.New("admission server: Options.Registry is not a Gatherer; set Options.Gatherer to serve /metrics")
		}
		opts.Gatherer = g
	} else if opts.Registry == nil {
		return nil, errors.New("admission server: Options.Gatherer set without Options.Registry to register the metrics in")
	}
	s := &Server{opts: opts, logger: opts.Logger}
	s.bufs.New = func() any { return new(bytes.Buffer) }

	var err error
	if s.metrics, err = newMetrics(opts.Registry); err != nil {
		return nil, fmt.Errorf("admission server: register metrics: %w", err)
	}

	s.tls = serverTLSConfig()
	if opts.TLS.RequestClientCerts {
		s.tls.ClientAuth = tls.RequestClientCert
	}
	switch t := opts.TLS; {
	case t.GetCertificate != nil && (t.SelfSigned || t.CertFile != "" || t.KeyFile != ""):
		return nil, errors.New("admission server: TLS: a certificate source excludes a cert/key file pair and self-signed")
	case t.GetCertificate != nil:
		s.tls.GetCertificate = t.GetCertificate
	case t.SelfSigned && (t.CertFile != "" || t.KeyFile != ""):
		return nil, errors.New("admission server: TLS: choose either a cert/key file pair or self-signed, not both")
	case t.SelfSigned:
		certs, err := GenerateCertificates(t.Hosts, 0)
		if err != nil {
			return nil, fmt.Errorf("admission server: self-signed TLS: %w", err)
		}
		if s.tls.GetCertificate, err = staticCertificate(certs); err != nil {
			return nil, fmt.Errorf("admission server: self-signed TLS: %w", err)
		}
		s.ca = certs.CA
	case t.CertFile != "" && t.KeyFile != "":
		r, err := newCertReloader(t.CertFile, t.KeyFile, s.logger)
		if err != nil {
			return nil, fmt.Errorf("admission server: %w", err)
		}
		s.tls.GetCertificate = r.GetCertificate
	default:
		return nil, errors.New("admission server: TLS: give both a certificate and a key file, or choose self-signed")
	}

	metricsHandler := promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{ErrorLog: slogPromLogger{s.logger}})
	s.mux = http.NewServeMux()
	for path, h := range opts.Routes {
		switch path {
		case "/validate", "/healthz", "/readyz", "/metrics":
			return nil, fmt.Errorf("admission server: route %s is the server's own", path)
		}
		s.mux.Handle(path, h)
	}
	s.mux.HandleFunc("/validate", s.serveValidate)
	s.mux.HandleFunc("/healthz", s.serveHealthz)
	// Anyone who can open a connection to the webhook port reaches /readyz: it says ready or not, nothing more.
	s.mux.HandleFunc("/readyz", s.serveReadyz(false))
	if opts.MetricsListen == "" {
		s.mux.Handle("/metrics", metricsHandler)
	} else {
		admin := http.NewServeMux()
		admin.Handle("/metrics", metricsHandler)
		admin.HandleFunc("/healthz", s.serveHealthz)
		admin.HandleFunc("/readyz", s.serveReadyz(true))
		s.admin = &http.Server{
			Handler:           admin,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
		}
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(opts.HTTP2)
	s.http = &http.Server{
		Handler:   s.closeWhileDraining(s.mux),
		TLSConfig: s.tls,
		// ServeTLS offers in ALPN exactly these protocols: h2 only when HTTP2 is on.
		Protocols: &protocols,
		// The API server sends small requests and waits at most timeoutSeconds (≤ 30 s) for each.
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// CABundle returns the PEM CA that signed a self-signed serving certificate (for the registration's caBundle);
// nil when the certificate comes from files.
func (s *Server) CABundle() []byte { return bytes.Clone(s.ca) }

// Handler returns the server's HTTP handler (every endpoint), for tests and embedding.
func (s *Server) Handler() http.Handler { return s.mux }

// Start listens and serves in the background. It returns once the listener is bound (or failed to bind); the
// server stops when ctx is cancelled or Shutdown is called. Wait returns when it has stopped.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener != nil {
		return errors.New("admission server: already started")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.opts.Listen)
	if err != nil {
		return fmt.Errorf("admission server: listen on %s: %w", s.opts.Listen, err)
	}
	var adminLn net.Listener
	if s.admin != nil {
		if adminLn, err = lc.Listen(ctx, "tcp", s.opts.MetricsListen); err != nil {
			_ = ln.Close()
			return fmt.Errorf("admission server: metrics listener: listen on %s: %w", s.opts.MetricsListen, err)
		}
		s.logger.Info("metrics listening (plain HTTP): /metrics, /readyz with detail, /healthz", "address", adminLn.Addr().String())
	}
	s.listener, s.adminListener, s.done = ln, adminLn, make(chan struct{})
	s.logger.Info("admission webhook listening", "address", ln.Addr().String(), "selfSigned", s.opts.TLS.SelfSigned,
		"http2", s.opts.HTTP2, "metricsOnWebhookPort", s.admin == nil)
	adminDone := make(chan struct{})
	go func() {
		defer close(adminDone)
		if adminLn == nil {
			return
		}
		if err := s.admin.Serve(adminLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("metrics listener stopped serving", "error", err)
		}
	}()
	go func() {
		defer close(s.done)
		err := s.http.ServeTLS(ln, "", "")
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.mu.Lock()
		s.serveErr = err
		s.mu.Unlock()
		if err != nil {
			s.logger.Error("admission webhook stopped serving", "error", err)
		}
		<-adminDone
	}()
	go func() {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := s.Shutdown(sctx); err != nil {
				s.logger.Warn("admission webhook shutdown", "error", err)
			}
		case <-s.done:
		}
	}()
	return nil
}

// Addr returns the address the server listens on (with the port chosen when Listen had port 0), or "" before
// Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener == nil {
		return ""
	}
	return s.listener.Addr().String()
}

// MetricsAddr returns the address of the plain-HTTP metrics listener, or "" without one or before Start.
func (s *Server) MetricsAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.adminListener == nil {
		return ""
	}
	return s.adminListener.Addr().String()
}

// Drain makes /readyz answer 503 from now on while the server goes on answering admission reviews: called at the
// start of a shutdown, it lets the endpoint controllers take this replica out of its Service before it stops
// listening, so that no API server request is sent to a closed port (see serve's --shutdown-delay).
func (s *Server) Drain() { s.draining.Store(true) }

// closeWhileDraining makes every response of the drain ask the client to close its connection. The API server
// resolves a webhook Service to an endpoint when it dials, and then reuses a kept-alive connection for later
// requests however the endpoints changed: it goes on sending to a draining replica over the connections it holds.
// Without this, Shutdown closed those connections under it and a request written as they closed failed ("write:
// broken pipe", measured: 3 of 3,200 fail-closed requests in one graceful deletion under load). With it, each
// connection carries one more request and closes cleanly, and the next request is dialled to a ready replica.
func (s *Server) closeWhileDraining(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}

// Shutdown stops accepting connections and waits for requests in flight, until ctx expires.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	started := s.listener != nil
	s.mu.Unlock()
	if !started {
		return nil
	}
	err := s.http.Shutdown(ctx)
	if s.admin != nil {
		err = errors.Join(err, s.admin.Shutdown(ctx))
	}
	if err != nil {
		return fmt.Errorf("admission server: shutdown: %w", err)
	}
	return nil
}

// Wait blocks until the server has stopped serving and returns why (nil after a Shutdown).
func (s *Server) Wait() error {
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	if done == nil {
		return errors.New("admission server: not started")
	}
	<-done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.serveErr
}

func (s *Server) serveHealthz(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET, HEAD")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "ok\n")
}

// serveReadyz answers /readyz: 200 when ready, else 503. With detail (the metrics listener) the body is what
// Options.Ready returns (inventory source, version, age, last error…); without (the webhook port, open to anyone
// who can connect) it is only {"ready": true|false}.
func (s *Server) serveReadyz(detail bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { s.writeReadyz(w, r, detail) }
}

func (s *Server) writeReadyz(w http.ResponseWriter, r *http.Request, detail bool) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET, HEAD")
		return
	}
	ready, body := true, any(nil)
	if s.opts.Ready != nil {
		ready, body = s.opts.Ready()
	}
	if s.draining.Load() {
		ready, body = false, map[string]any{"ready": false, "draining": true}
	}
	if !detail || body == nil {
		body = map[string]bool{"ready": ready}
	}
	data, err := json.Marshal(body)
	if err != nil {
		s.logger.Error("readiness body does not encode", "error", err)
		data, _ = json.Marshal(map[string]any{"ready": ready, "error": err.Error()})
	}
	status := http.StatusOK
	if !ready {
		status = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	http.Error(w, "method not allowed: use "+allow, http.StatusMethodNotAllowed)
}

// serveValidate is POST /validate: AdmissionReview in, AdmissionReview out.
func (s *Server) serveValidate(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if r.Method != http.MethodPost {
		s.reject(w, r, http.StatusMethodNotAllowed, &reviewError{reasonMethod, "method " + r.Method + " not allowed: POST an AdmissionReview"})
		return
	}
	if ct := r.Header.Get("Content-Type"); !isJSON(ct) {
		s.reject(w, r, http.StatusUnsupportedMediaType, &reviewError{reasonContentType, fmt.Sprintf("content type %q not supported: send application/json", ct)})
		return
	}
	limit := s.opts.MaxBodyBytes
	if r.ContentLength > limit {
		s.reject(w, r, http.StatusRequestEntityTooLarge, tooLarge(r.ContentLength, limit))
		return
	}
	buf := s.bufs.Get().(*bytes.Buffer)
	defer s.putBuf(buf)
	buf.Reset()
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit)); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.reject(w, r, http.StatusRequestEntityTooLarge, tooLarge(-1, limit))
			return
		}
		s.reject(w, r, http.StatusBadRequest, &reviewError{reasonRead, "read body: " + err.Error()})
		return
	}
	out := s.bufs.Get().(*bytes.Buffer)
	defer s.putBuf(out)
	out.Reset()
	if status, rerr := s.judge(r.Context(), buf.Bytes(), out); rerr != nil {
		s.reject(w, r, status, rerr)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(out.Len()))
	_, _ = w.Write(out.Bytes())
	s.metrics.duration.Observe(time.Since(start).Seconds())
}

// judge answers one AdmissionReview body, everything the webhook does in process: it decodes the review, hands the
// request to the handler, counts and records the decision, and appends the AdmissionReview response to out. A
// review it cannot judge is an error to reject with the HTTP status returned (400 for a body that does not
// decode); nothing is written to out then.
func (s *Server) judge(ctx context.Context, body []byte, out *bytes.Buffer) (int, *reviewError) {
	req, rerr := decodeReview(body)
	if rerr != nil {
		return http.StatusBadRequest, rerr
	}
	uid := types.UID(req.UID)
	d, herr := s.handle(ctx, req)
	var resp *admissionv1.AdmissionResponse
	if herr != nil {
		s.metrics.reviewErrors.WithLabelValues(reasonHandler).Inc()
		s.metrics.decisions.WithLabelValues(reasonHandler, resultError).Inc()
		s.logger.Error("admission handler failed; refusing the request", "error", herr, "uid", uid,
			"namespace", req.Namespace, "name", req.Name, "kind", req.Kind.Kind, "subresource", req.SubResource)
		resp = Errored(uid, http.StatusInternalServerError, herr)
	} else {
		resp = Response(uid, d)
		s.metrics.observe(d)
		s.record(d)
	}
	if err := encodeResponse(out, resp); err != nil {
		// Cannot happen with the types above; answer so that the API server applies its failure policy.
		out.Reset()
		return http.StatusInternalServerError, &reviewError{reasonEncode, "encode AdmissionReview response: " + err.Error()}
	}
	return http.StatusOK, nil
}

func (s *Server) putBuf(buf *bytes.Buffer) {
	// Do not keep the buffer of an unusually large review alive in the pool.
	if buf.Cap() <= 256<<10 {
		s.bufs.Put(buf)
	}
}

// handle calls the handler, turning a panic or a nil decision into an error.
func (s *Server) handle(ctx context.Context, req *policy.Request) (d *policy.Decision, err error) {
	defer func() {
		if p := recover(); p != nil {
			d, err = nil, fmt.Errorf("handler panicked: %v", p)
			s.logger.Error("admission handler panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
	}()
	d = s.opts.Handler.Handle(ctx, req)
	if d == nil {
		return nil, errors.New("handler returned no decision")
	}
	if d.Request == nil {
		d.Request = req
	}
	return d, nil
}

// record logs a denial and writes the decision's findings.
func (s *Server) record(d *policy.Decision) {
	req := d.Request
	if !d.Allowed {
		checks := make([]string, 0, len(d.Denials))
		for _, v := range d.Denials {
			checks = append(checks, v.Check)
		}
		if len(checks) == 0 && len(d.Errors) > 0 {
			checks = append(checks, "internal-error")
		}
		s.logger.Info("admission denied", "check", strings.Join(checks, ","), "namespace", req.Namespace,
			"name", req.Name, "kind", req.Kind.Kind, "subresource", req.SubResource, "operation", req.Operation,
			"user", req.User.Username, "instance", d.Binding.InstanceID, "uid", req.UID)
	}
	if (s.opts.Findings == nil && s.opts.OnFindings == nil) || d.Quiet() {
		return
	}
	findings := d.Findings(s.opts.Now())
	finding.InCluster(findings, s.opts.Cluster)
	if s.opts.Findings != nil {
		var lines []byte
		for i := range findings {
			line, err := findings[i].JSONLine()
			if err != nil {
				s.logger.Error("finding does not encode", "rule", findings[i].Rule, "error", err)
				continue
			}
			lines = append(lines, line...)
		}
		// One write per decision under the lock: lines of concurrent decisions never interleave.
		s.findingsMu.Lock()
		_, err := s.opts.Findings.Write(lines)
		s.findingsMu.Unlock()
		if err != nil {
			s.logger.Error("write findings", "error", err, "count", len(findings))
		}
	}
	if s.opts.OnFindings != nil {
		s.opts.OnFindings(findings)
	}
}

// reject answers a request that cannot be judged: the status, the reason as plain text, a metric and a log line.
func (s *Server) reject(w http.ResponseWriter, r *http.Request, status int, rerr *reviewError) {
	s.metrics.reviewErrors.WithLabelValues(rerr.reason).Inc()
	// Some decoders quote the whole offending object; a 3 MiB object must not become a 3 MiB log line.
	const maxMessage = 2048
	if n := maxMessage; len(rerr.msg) > n {
		for n > 0 && !utf8.RuneStart(rerr.msg[n]) {
			n--
		}
		rerr = &reviewError{rerr.reason, rerr.msg[:n] + fmt.Sprintf("… (%d more bytes)", len(rerr.msg)-n)}
	}
	s.logger.Warn("admission review rejected", "status", status, "reason", rerr.reason, "error", rerr.msg,
		"remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path)
	if status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", http.MethodPost)
	}
	http.Error(w, "vnfguard: "+rerr.msg, status)
}

func tooLarge(size, limit int64) *reviewError {
	if size < 0 {
		return &reviewError{reasonTooLarge, fmt.Sprintf("body exceeds the limit of %d bytes", limit)}
	}
	return &reviewError{reasonTooLarge, fmt.Sprintf("body of %d bytes exceeds the limit of %d bytes", size, limit)}
}

// isJSON accepts application/json with optional parameters (charset=utf-8).
func isJSON(contentType string) bool {
	if contentType == "application/json" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

// slogPromLogger routes promhttp's error log to slog.
type slogPromLogger struct{ l *slog.Logger }

func (p slogPromLogger) Println(v ...any) { p.l.Error("metrics: " + fmt.Sprint(v...)) }
