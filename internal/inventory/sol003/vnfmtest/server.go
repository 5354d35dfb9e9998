package vnfmtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options configure a Server.
type Options struct {
	// PageSize is the number of instances per page of GET /vnf_instances; 0 puts them all on one page.
	PageSize int
	// TLS serves HTTPS with a throw-away CA (see WriteTLSFiles); RequireClientCert also demands a client
	// certificate signed by that CA (mutual TLS) and implies TLS.
	TLS               bool
	RequireClientCert bool
	// ClientID and ClientSecret enable the OAuth 2.0 token endpoint (client credentials grant) and make the API
	// require a bearer token it issued.
	ClientID, ClientSecret string
	// OnProcessing, when set, is called by an LCM operation after its PROCESSING notification and before the
	// change and the COMPLETED notification, so that a test can look at the state in between.
	OnProcessing func(instanceID, operation string)
	// CallbackClient sends notifications (http.DefaultClient's settings when nil).
	CallbackClient *http.Client
	// SeeOther answers a subscription to a callback URI and filter already subscribed with 303 See Other and the
	// existing subscription, as SOL013 allows. Without it the server does what Tacker 11.0.0 does: it creates
	// another subscription, and every notification is then sent once per subscription.
	SeeOther bool
	// DiscloseAccessInfo returns the VIM credentials in vimConnectionInfo.*.accessInfo (password, bearer_token,
	// client_secret), as Tacker did before 11.0.0; by default they are stripped, as Tacker 11 does (credentials.go).
	DiscloseAccessInfo bool
}

// Server is a VNFM that speaks SOL003 VNF LCM v2 and checks every exchange against ETSI's OpenAPI documents.
type Server struct {
	// URL is the API root ({apiRoot}); the API is under URL+"/vnflcm/v2". TokenURL is the OAuth 2.0 token
	// endpoint (always served; only enforced with Options.ClientID).
	URL      string
	TokenURL string

	opts     Options
	srv      *httptest.Server
	pki      *pki
	lcm, ntf *Spec
	callback *http.Client

	mu         sync.Mutex
	instances  map[string]*Instance
	raw        map[string]json.RawMessage // instances served verbatim (PutRaw)
	order      []string
	subs       []*subscription
	tokens     map[string]bool
	tokensMade int
	faults     []*Fault
	violations []error
	requests   []string // "METHOD path" of every API request, for tests
	vimSecrets []string // the secret values of the instances' accessInfo (credentials.go)
	drop       bool
	closed     bool
}

type subscription struct {
	ID          string
	CallbackURI string
	Types       []string
	User, Pass  string
	Verbosity   string
	filterKey   string
}

// Start starts a server for a test; it is closed, and its violations reported as test errors, when the test ends.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s, err := New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		s.Close()
		for _, v := range s.Violations() {
			tb.Errorf("%v", v)
		}
	})
	return s
}

// New starts a server on 127.0.0.1. Close it when done.
func New(opts Options) (*Server, error) {
	lcm, ntf, err := Specs()
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, lcm: lcm, ntf: ntf, instances: map[string]*Instance{}, raw: map[string]json.RawMessage{}, tokens: map[string]bool{}, callback: opts.CallbackClient}
	if s.callback == nil {
		s.callback = &http.Client{Timeout: 10 * time.Second}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth2/token", s.serveToken)
	mux.HandleFunc(BasePath+"/", s.serveAPI)
	s.srv = httptest.NewUnstartedServer(mux)
	// Refused handshakes are what the mutual-TLS tests provoke; they are not news.
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if opts.TLS || opts.RequireClientCert {
		if s.pki, err = newPKI(); err != nil {
			return nil, fmt.Errorf("vnfmtest: certificates: %w", err)
		}
		s.srv.TLS = &tls.Config{Certificates: []tls.Certificate{s.pki.server}, MinVersion: tls.VersionTLS12}
		if opts.RequireClientCert {
			s.srv.TLS.ClientCAs = s.pki.pool
			s.srv.TLS.ClientAuth = tls.RequireAndVerifyClientCert
		}
		s.srv.StartTLS()
	} else {
		s.srv.Start()
	}
	s.URL = s.srv.URL
	s.TokenURL = s.srv.URL + "/oauth2/token"
	return s, nil
}

// Close stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	closed := s.closed
	s.closed = true
	s.mu.Unlock()
	if !closed {
		s.srv.Close()
	}
}

// Violations returns every contract violation seen so far.
func (s *Server) Violations() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.violations...)
}

// TakeViolations returns the violations seen so far and forgets them (for a test that provokes them on purpose).
func (s *Server) TakeViolations() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.violations
	s.violations = nil
	return v
}

// Requests returns "METHOD path?query" of every API request received so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// TokensIssued is the number of access tokens the token endpoint has issued.
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokensMade
}

// RevokeTokens invalidates every issued token, as a VNFM restart or a key rotation would.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = map[string]bool{}
}

// DropNotifications makes the server stop (true) or resume (false) delivering notifications, as a lost network
// path would: operations still change the instances.
func (s *Server) DropNotifications(drop bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drop = drop
}

// ForgetSubscriptions deletes every subscription, as a VNFM restored from an old backup would.
func (s *Server) ForgetSubscriptions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs = nil
}

// Subscriptions returns the callback URIs subscribed, by subscription id.
func (s *Server) Subscriptions() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for _, sub := range s.subs {
		out[sub.ID] = sub.CallbackURI
	}
	return out
}

func (s *Server) violate(v error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.violations = append(s.violations, v)
}

// Fault is a failure the server injects into the API requests whose path ends with Path ("" = all), Times times.
type Fault struct {
	Path  string
	Times int
	// Delay holds the answer back (longer than the client's timeout, to make it time out).
	Delay time.Duration
	// Status answers with this status and a ProblemDetails (500, 503, 401, 403, ...).
	Status int
	// Body answers 200 with this body, which breaks the contract on purpose and is not checked.
	Body string
	// LoopPaging makes the page's Link rel="next" point to the page itself.
	LoopPaging bool
}

// Inject adds a fault.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := f
	s.faults = append(s.faults, &c)
}

func (s *Server) fault(path string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if f.Times > 0 && strings.HasSuffix(path, f.Path) {
			f.Times--
			c := *f
			return &c
		}
	}
	return nil
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok {
		_ = r.ParseForm()
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if r.FormValue("grant_type") != "client_credentials" {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":"unsupported_grant_type"}`)
		return
	}
	if s.opts.ClientID == "" || id != s.opts.ClientID || secret != s.opts.ClientSecret {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":"invalid_client","error_description":"unknown client or wrong secret"}`)
		return
	}
	tok := newID()
	s.mu.Lock()
	s.tokens[tok] = true
	s.tokensMade++
	s.mu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3600})
}

// serveAPI checks the request against the contract, answers it, and checks the answer before sending it.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+r.URL.RequestURI())
	s.mu.Unlock()
	ctx := r.Context()
	route, op, v := checkRequest(ctx, s.lcm, r, body)
	rec := newRecorder()
	validate := true
	switch {
	case v != nil:
		s.violate(v)
		if route == nil {
			problem(rec, http.StatusNotFound, v.Error())
		} else {
			problem(rec, http.StatusBadRequest, v.Error())
		}
	default:
		validate = s.answer(rec, r, body)
		if r.Context().Err() != nil {
			return // the client gave up (an injected delay): nothing is sent
		}
	}
	if route != nil && validate {
		if v := checkResponse(ctx, r, route, op, rec.status, rec.header, rec.body.Bytes()); v != nil {
			s.violate(v)
		}
	}
	rec.flush(w)
}

// answer serves an API request that conforms. It returns false when the answer breaks the contract on purpose.
func (s *Server) answer(w *recorder, r *http.Request, body []byte) bool {
	w.Header().Set("Version", r.Header.Get("Version"))
	if f := s.fault(r.URL.Path); f != nil {
		if f.Delay > 0 {
			select {
			case <-time.After(f.Delay):
			case <-r.Context().Done():
				return true
			}
		}
		switch {
		case f.Body != "":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, f.Body)
			return false
		case f.Status != 0:
			if f.Status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="vnfmtest"`)
			}
			problem(w, f.Status, "injected fault")
			return true
		case f.LoopPaging:
			return s.list(w, r, true)
		}
	}
	if s.opts.ClientID != "" {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		s.mu.Lock()
		valid := ok && s.tokens[tok]
		s.mu.Unlock()
		if !valid {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vnfmtest", error="invalid_token"`)
			problem(w, http.StatusUnauthorized, "a valid bearer token from the token endpoint is required")
			return true
		}
	}
	rest := strings.TrimPrefix(r.URL.Path, BasePath)
	switch {
	case r.Method == http.MethodGet && rest == "/vnf_instances":
		return s.list(w, r, false)
	case r.Method == http.MethodGet && strings.HasPrefix(rest, "/vnf_instances/"):
		id := strings.TrimPrefix(rest, "/vnf_instances/")
		s.mu.Lock()
		data, ok := s.marshal(id)
		s.mu.Unlock()
		if !ok {
			problem(w, http.StatusNotFound, "no VNF instance "+id)
			return true
		}
		writeJSON(w, http.StatusOK, data)
	case r.Method == http.MethodPost && rest == "/subscriptions":
		s.subscribe(w, r, body)
	case r.Method == http.MethodGet && rest == "/subscriptions":
		s.mu.Lock()
		list := make([]any, 0, len(s.subs))
		for _, sub := range s.subs {
			list = append(list, s.lccnSubscription(sub))
		}
		s.mu.Unlock()
		data, _ := json.Marshal(list)
		writeJSON(w, http.StatusOK, data)
	case strings.HasPrefix(rest, "/subscriptions/"):
		id := strings.TrimPrefix(rest, "/subscriptions/")
		s.mu.Lock()
		defer s.mu.Unlock()
		for i, sub := range s.subs {
			if sub.ID != id {
				continue
			}
			if r.Method == http.MethodDelete {
				s.subs = append(s.subs[:i], s.subs[i+1:]...)
				w.WriteHeader(http.StatusNoContent)
				return true
			}
			data, _ := json.Marshal(s.lccnSubscription(sub))
			writeJSON(w, http.StatusOK, data)
			return true
		}
		problem(w, http.StatusNotFound, "no subscription "+id)
	default:
		problem(w, http.StatusMethodNotAllowed, "not implemented by vnfmtest: "+r.Method+" "+rest)
	}
	return true
}

// list serves a page of GET /vnf_instances. The marker is the offset, opaque to clients.
func (s *Server) list(w *recorder, r *http.Request, loop bool) bool {
	offset := 0
	if m := r.URL.Query().Get("nextpage_opaque_marker"); m != "" {
		raw, err := base64.RawURLEncoding.DecodeString(m)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(raw), "offset="))
		if err != nil || err2 != nil || n < 0 {
			problem(w, http.StatusBadRequest, "invalid nextpage_opaque_marker")
			return true
		}
		offset = n
	}
	allFields, refused := selection(r.URL.Query())
	if refused != "" {
		problem(w, http.StatusBadRequest, refused)
		return true
	}
	s.mu.Lock()
	ids := s.order
	end := len(ids)
	if s.opts.PageSize > 0 {
		end = min(offset+s.opts.PageSize, len(ids))
	}
	page := []json.RawMessage{}
	for _, id := range ids[min(offset, len(ids)):end] {
		if data, ok := s.marshal(id); ok {
			if !allFields {
				data = excludeDefault(data)
			}
			page = append(page, data)
		}
	}
	data, err := json.Marshal(page)
	s.mu.Unlock()
	if err != nil {
		problem(w, http.StatusInternalServerError, err.Error())
		return true
	}
	switch {
	case loop: // the page links to itself
		w.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next"`, s.URL, r.URL.RequestURI()))
	case end < len(ids):
		// The next page's URL is this one's with the new marker, selectors kept, as Tacker builds it.
		q := r.URL.Query()
		q.Set("nextpage_opaque_marker", base64.RawURLEncoding.EncodeToString([]byte("offset="+strconv.Itoa(end))))
		w.Header().Set("Link", fmt.Sprintf(`<%s%s/vnf_instances?%s>; rel="next"`, s.URL, BasePath, q.Encode()))
	}
	writeJSON(w, http.StatusOK, data)
	return true
}

// marshal is the JSON of a stored instance, under mu.
func (s *Server) marshal(id string) (json.RawMessage, bool) {
	if raw, ok := s.raw[id]; ok {
		return raw, true
	}
	inst, ok := s.instances[id]
	if !ok {
		return nil, false
	}
	data, err := json.Marshal(s.served(inst))
	return data, err == nil
}

// subscribe creates a subscription after testing its callback (GET must answer 204), or points to the existing
// one with the same callback URI and filter (303 See Other).
func (s *Server) subscribe(w *recorder, r *http.Request, body []byte) {
	var req struct {
		Filter *struct {
			NotificationTypes []string `json:"notificationTypes"`
		} `json:"filter"`
		CallbackURI    string `json:"callbackUri"`
		Authentication *struct {
			AuthType    []string `json:"authType"`
			ParamsBasic *struct {
				UserName string `json:"userName"`
				Password string `json:"password"`
			} `json:"paramsBasic"`
		} `json:"authentication"`
		Verbosity string `json:"verbosity"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		problem(w, http.StatusBadRequest, "invalid LccnSubscriptionRequest: "+err.Error())
		return
	}
	sub := &subscription{ID: newID(), CallbackURI: req.CallbackURI, Verbosity: cmpOr(req.Verbosity, "FULL")}
	if req.Filter != nil {
		sub.Types = req.Filter.NotificationTypes
	}
	if a := req.Authentication; a != nil && a.ParamsBasic != nil {
		sub.User, sub.Pass = a.ParamsBasic.UserName, a.ParamsBasic.Password
	}
	filter, _ := json.Marshal(req.Filter)
	sub.filterKey = req.CallbackURI + "\x00" + string(filter)
	s.mu.Lock()
	for _, existing := range s.subs {
		if s.opts.SeeOther && existing.filterKey == sub.filterKey {
			s.mu.Unlock()
			w.Header().Set("Location", s.URL+BasePath+"/subscriptions/"+existing.ID)
			w.WriteHeader(http.StatusSeeOther)
			return
		}
	}
	s.mu.Unlock()
	// SOL013 8.3.4: the API producer tests the notification endpoint before creating the subscription. Tacker
	// answers a failed test with 500 (its TestNotificationFailed), not a 4xx.
	if err := s.testCallback(r.Context(), sub); err != nil {
		problem(w, http.StatusInternalServerError, "the notification endpoint test failed: "+err.Error())
		return
	}
	s.mu.Lock()
	s.subs = append(s.subs, sub)
	data, _ := json.Marshal(s.lccnSubscription(sub))
	s.mu.Unlock()
	w.Header().Set("Location", s.URL+BasePath+"/subscriptions/"+sub.ID)
	writeJSON(w, http.StatusCreated, data)
}

func (s *Server) lccnSubscription(sub *subscription) map[string]any {
	out := map[string]any{
		"id": sub.ID, "callbackUri": sub.CallbackURI, "verbosity": sub.Verbosity,
		"_links": map[string]any{"self": map[string]string{"href": s.URL + BasePath + "/subscriptions/" + sub.ID}},
	}
	if len(sub.Types) > 0 {
		out["filter"] = map[string]any{"notificationTypes": sub.Types}
	}
	return out
}

func (s *Server) testCallback(ctx context.Context, sub *subscription) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, sub.CallbackURI, nil)
	if err != nil {
		return err
	}
	return s.deliver(req, sub, NotificationLcmOperationOccurrence, nil)
}

// deliver sends a notification request (or the endpoint test, with a nil body) and checks both sides against the
// notification document.
func (s *Server) deliver(req *http.Request, sub *subscription, notificationType string, body []byte) error {
	req.Header.Set("Version", "2.0.0")
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if sub.User != "" {
		req.SetBasicAuth(sub.User, sub.Pass)
	}
	// Check the request as the notification document's operation for this type.
	probe := req.Clone(req.Context())
	probe.URL = &url.URL{Path: "/URI_is_provided_by_the_client_when_creating_the_subscription-" + notificationType}
	probe.Host = ""
	route, op, v := checkRequest(req.Context(), s.ntf, probe, body)
	if v != nil {
		s.violate(v)
	}
	if body != nil {
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
	}
	resp, err := s.callback.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", req.Method, sub.CallbackURI, err)
	}
	defer resp.Body.Close()
	respBody, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if route != nil {
		if v := checkResponse(req.Context(), probe, route, op, resp.StatusCode, resp.Header, respBody); v != nil {
			s.violate(v)
		}
	}
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("%s %s: HTTP %d, want 204: %s", req.Method, sub.CallbackURI, resp.StatusCode, bytes.TrimSpace(respBody))
	}
	return nil
}

// problem writes a ProblemDetails. ETSI's OpenAPI documents give it the media type application/json (SOL013 text
// says application/problem+json); the documents are the contract here.
func problem(w http.ResponseWriter, status int, detail string) {
	data, _ := json.Marshal(map[string]any{"status": status, "title": http.StatusText(status), "detail": detail})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

func writeJSON(w http.ResponseWriter, status int, data []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// newID is a random UUID (version 4), the form Tacker's identifiers take.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

var errUnknown = errors.New("no such VNF instance")
