package sol003

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/vnfguard/vnfguard/internal/selfcert"
	"github.com/vnfguard/vnfguard/internal/vnf"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Limits that keep a broken or hostile VNFM from exhausting vnfguard.
const (
	maxBody  = 64 << 20 // one page or one instance
	maxPages = 10000    // a paged list longer than this is a loop the opaque markers hide
)

// Client calls a VNFM's SOL003 VNF LCM API (v2).
type Client struct {
	cfg  Config
	base string // APIRoot + BasePath
	http *http.Client

	oauth *clientcredentials.Config
	ctx   context.Context // carries http for the token requests
	mu    sync.Mutex
	ts    oauth2.TokenSource
}

// NewClient checks the config and builds the HTTP client: TLS with the CA and the client certificate when given,
// and the OAuth 2.0 client credentials grant when a token URL is given.
func NewClient(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pool, err := selfcert.ReadCertPool(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("sol003 config: caFile: %w", err)
		}
		tlsConfig.RootCAs = pool
	}
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("sol003 config: certFile/keyFile (%s, %s): %w", cfg.CertFile, cfg.KeyFile, err)
		}
		tlsConfig.Certificates = []tls.Certificate{cert}
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsConfig
	transport.Proxy = nil // the VNFM is reached directly, as the configured API root says
	hc := &http.Client{
		Transport: transport,
		Timeout:   cfg.Timeout,
		// A 303 to an existing subscription is an answer, not a redirect to follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	c := &Client{cfg: cfg, base: cfg.APIRoot + BasePath, http: hc}
	if cfg.TokenURL != "" {
		c.oauth = &clientcredentials.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, TokenURL: cfg.TokenURL}
		c.ctx = context.WithValue(context.Background(), oauth2.HTTPClient, hc)
		c.ts = c.oauth.TokenSource(c.ctx)
	}
	return c, nil
}

// StatusError is an HTTP answer other than the one expected.
type StatusError struct {
	Method, URL string
	Status      int
	Detail      string // ProblemDetails.detail, or the start of the body
	Hint        string // what to check, for 401 and 403
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s %s: HTTP %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	return msg
}

// Temporary reports whether retrying the same request may succeed: a server error or rate limiting.
func (e *StatusError) Temporary() bool {
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests || e.Status == http.StatusRequestTimeout
}

// ListInstances lists every VNF instance, following the Link rel="next" of each page. It asks for all_fields:
// without it, a VNFM leaves vimConnectionInfo, instantiatedVnfInfo and metadata out of the list (SOL003
// exclude_default; Tacker does), and vnfguard needs them all (the states, the resources, the namespace).
func (c *Client) ListInstances(ctx context.Context) ([]*vnf.Instance, error) {
	next := c.base + "/vnf_instances?all_fields"
	seen := map[string]bool{}
	var out []*vnf.Instance
	ids := map[string]int{}
	for page := 1; next != ""; page++ {
		if page > maxPages {
			return nil, fmt.Errorf("GET %s: more than %d pages; the VNFM's paging does not end", c.base+"/vnf_instances", maxPages)
		}
		if seen[next] {
			return nil, fmt.Errorf("GET %s (page %d): the Link rel=\"next\" points back to %s, an earlier page; the VNFM's paging loops", c.base+"/vnf_instances", page, next)
		}
		seen[next] = true
		resp, body, err := c.do(ctx, http.MethodGet, next, nil, http.StatusOK)
		if err != nil {
			return nil, pageErr(err, page)
		}
		where := "GET " + next
		items, err := decodeInstances(body, where, page)
		if err != nil {
			return nil, err
		}
		for i, inst := range items {
			if first, dup := ids[inst.ID]; dup {
				return nil, &DecodeError{Where: where, Page: page, Index: i, Path: "id", Msg: fmt.Sprintf("%q was listed already (instance %d of the list); the VNFM's paging repeats instances", inst.ID, first)}
			}
			ids[inst.ID] = len(out)
			out = append(out, inst)
		}
		current := next
		if next, err = nextLink(resp, current); err != nil {
			return nil, fmt.Errorf("GET %s (page %d): %w", current, page, err)
		}
	}
	return out, nil
}

func pageErr(err error, page int) error {
	if page == 1 {
		return err
	}
	return fmt.Errorf("page %d: %w", page, err)
}

// nextLink returns the absolute URL of the Link rel="next" of a page, or "" on the last page. SOL013 paging
// carries the nextpage_opaque_marker in that URL.
func nextLink(resp *http.Response, current string) (string, error) {
	for _, header := range resp.Header.Values("Link") {
		for _, link := range strings.Split(header, ",") {
			target, params, ok := strings.Cut(strings.TrimSpace(link), ";")
			if !ok {
				continue
			}
			target = strings.TrimSpace(target)
			if !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				return "", fmt.Errorf("malformed Link header %q: the target must be in <>", header)
			}
			rel := false
			for _, p := range strings.Split(params, ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(k, "rel") && strings.EqualFold(strings.Trim(v, `"`), "next") {
					rel = true
				}
			}
			if !rel {
				continue
			}
			base, err := url.Parse(current)
			if err != nil {
				return "", err
			}
			u, err := base.Parse(target[1 : len(target)-1])
			if err != nil {
				return "", fmt.Errorf("malformed Link rel=\"next\" %q: %w", target, err)
			}
			if u.Host != base.Host || u.Scheme != base.Scheme {
				return "", fmt.Errorf("the Link rel=\"next\" %s leaves the VNFM %s://%s; refusing to send the token there", u, base.Scheme, base.Host)
			}
			return u.String(), nil
		}
	}
	return "", nil
}

// GetInstance reads one VNF instance.
func (c *Client) GetInstance(ctx context.Context, id string) (*vnf.Instance, error) {
	u := c.base + "/vnf_instances/" + url.PathEscape(id)
	_, body, err := c.do(ctx, http.MethodGet, u, nil, http.StatusOK)
	if err != nil {
		return nil, err
	}
	inst, err := decodeInstance(body, "GET "+u)
	if err != nil {
		return nil, err
	}
	if inst.ID != id {
		return nil, &DecodeError{Where: "GET " + u, Index: -1, Path: "id", Msg: fmt.Sprintf("is %q, want the requested %q", inst.ID, id)}
	}
	return inst, nil
}

// SubscriptionRequest is SOL003's LccnSubscriptionRequest (the fields vnfguard sends).
type SubscriptionRequest struct {
	Filter         *SubscriptionFilter         `json:"filter,omitempty"`
	CallbackURI    string                      `json:"callbackUri"`
	Authentication *SubscriptionAuthentication `json:"authentication,omitempty"`
	Verbosity      string                      `json:"verbosity,omitempty"`
}

// SubscriptionFilter is SOL003's LifecycleChangeNotificationsFilter (the fields vnfguard sends).
type SubscriptionFilter struct {
	NotificationTypes []string `json:"notificationTypes,omitempty"`
}

// SubscriptionAuthentication is SOL013's SubscriptionAuthentication with HTTP Basic parameters.
type SubscriptionAuthentication struct {
	AuthType    []string     `json:"authType"`
	ParamsBasic *ParamsBasic `json:"paramsBasic,omitempty"`
}

// ParamsBasic are the Basic credentials the VNFM must use on the notification endpoint.
type ParamsBasic struct {
	UserName string `json:"userName"`
	Password string `json:"password"`
}

// NewSubscriptionRequest is the subscription vnfguard creates: the three notification types, delivered to
// callbackURI with HTTP Basic credentials.
func NewSubscriptionRequest(callbackURI, username, password string) SubscriptionRequest {
	return SubscriptionRequest{
		Filter:         &SubscriptionFilter{NotificationTypes: []string{NotificationLcmOperationOccurrence, NotificationIdentifierCreation, NotificationIdentifierDeletion}},
		CallbackURI:    callbackURI,
		Authentication: &SubscriptionAuthentication{AuthType: []string{"BASIC"}, ParamsBasic: &ParamsBasic{UserName: username, Password: password}},
	}
}

// Subscribe creates the subscription and returns its id: that of the new LccnSubscription (201), or of the
// existing one the VNFM points to (303 See Other, Location).
func (c *Client) Subscribe(ctx context.Context, req SubscriptionRequest) (string, error) {
	u := c.base + "/subscriptions"
	payload, err := json.Marshal(req)
	if err != nil {
		return "", fmt.Errorf("POST %s: encode the subscription: %w", u, err)
	}
	resp, body, err := c.do(ctx, http.MethodPost, u, payload, http.StatusCreated, http.StatusSeeOther)
	if err != nil {
		return "", err
	}
	if resp.StatusCode == http.StatusSeeOther {
		loc := resp.Header.Get("Location")
		if loc == "" {
			return "", &StatusError{Method: http.MethodPost, URL: u, Status: resp.StatusCode, Detail: "303 See Other without a Location header naming the existing subscription"}
		}
		lu, err := url.Parse(loc)
		if err != nil {
			return "", fmt.Errorf("POST %s: 303 Location %q: %w", u, loc, err)
		}
		id := lu.Path[strings.LastIndex(lu.Path, "/")+1:]
		if id == "" {
			return "", fmt.Errorf("POST %s: 303 Location %q names no subscription id", u, loc)
		}
		return id, nil
	}
	var sub struct {
		ID          string `json:"id"`
		CallbackURI string `json:"callbackUri"`
	}
	if err := unmarshal(body, &sub); err != nil {
		return "", &DecodeError{Where: "POST " + u, Index: -1, Msg: "not an LccnSubscription: " + err.Error()}
	}
	if sub.ID == "" {
		return "", &DecodeError{Where: "POST " + u, Index: -1, Path: "id", Msg: "is missing or empty"}
	}
	if sub.CallbackURI != req.CallbackURI {
		return "", &DecodeError{Where: "POST " + u, Index: -1, Path: "callbackUri", Msg: fmt.Sprintf("is %q, want the requested %q", sub.CallbackURI, req.CallbackURI)}
	}
	return sub.ID, nil
}

// SubscriptionExists reports whether the VNFM still holds the subscription (GET /subscriptions/{id}: 200 or 404).
func (c *Client) SubscriptionExists(ctx context.Context, id string) (bool, error) {
	u := c.base + "/subscriptions/" + url.PathEscape(id)
	_, _, err := c.do(ctx, http.MethodGet, u, nil, http.StatusOK)
	var se *StatusError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &se) && se.Status == http.StatusNotFound:
		return false, nil
	}
	return false, err
}

// do sends one request and reads the answer, which must have one of the wanted statuses. A 401 with a token
// fetches a new token and tries once more: the VNFM may have revoked the cached one.
func (c *Client) do(ctx context.Context, method, u string, payload []byte, want ...int) (*http.Response, []byte, error) {
	for attempt := 0; ; attempt++ {
		resp, body, err := c.once(ctx, method, u, payload)
		if err != nil {
			return nil, nil, err
		}
		if resp.StatusCode == http.StatusUnauthorized && c.oauth != nil && attempt == 0 {
			c.mu.Lock()
			c.ts = c.oauth.TokenSource(c.ctx)
			c.mu.Unlock()
			continue
		}
		for _, w := range want {
			if resp.StatusCode == w {
				return resp, body, nil
			}
		}
		return nil, nil, c.statusError(method, u, resp, body)
	}
}

func (c *Client) once(ctx context.Context, method, u string, payload []byte) (*http.Response, []byte, error) {
	var reader io.Reader
	if payload != nil {
		reader = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, reader)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", method, u, err)
	}
	req.Header.Set("Version", c.cfg.Version)
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.oauth != nil {
		c.mu.Lock()
		ts := c.ts
		c.mu.Unlock()
		tok, err := ts.Token()
		if err != nil {
			return nil, nil, c.tokenError(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, transportError(method, u, c.cfg.Timeout.String(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, nil, transportError(method, u, c.cfg.Timeout.String(), fmt.Errorf("reading the body: %w", err))
	}
	if len(body) > maxBody {
		return nil, nil, fmt.Errorf("%s %s: the body exceeds %d MiB", method, u, maxBody>>20)
	}
	return resp, body, nil
}

// tokenError says which token endpoint and which client failed, and why.
func (c *Client) tokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		detail := re.ErrorCode
		if re.ErrorDescription != "" {
			detail += ": " + re.ErrorDescription
		}
		if detail == "" {
			detail = excerpt(re.Body)
		}
		return fmt.Errorf("OAuth 2.0 token request to %s for client %q: HTTP %d: %s (check clientID/clientSecret): %w", c.cfg.TokenURL, c.cfg.ClientID, re.Response.StatusCode, detail, err)
	}
	return fmt.Errorf("OAuth 2.0 token request to %s for client %q: %w", c.cfg.TokenURL, c.cfg.ClientID, err)
}

// transportError names what failed on the wire: a timeout, a refused connection, a TLS failure.
func transportError(method, u, timeout string, err error) error {
	var ne net.Error
	var ue *url.Error
	var ce *tls.CertificateVerificationError
	switch {
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s %s: cancelled: %w", method, u, err)
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s %s: no answer within %s (timeout): %w", method, u, timeout, err)
	case isRefused(err):
		return fmt.Errorf("%s %s: connection refused; is the VNFM up at this address?: %w", method, u, err)
	case errors.As(err, &ce):
		return fmt.Errorf("%s %s: the VNFM's certificate is not trusted (check caFile): %w", method, u, err)
	case errors.As(err, &ue):
		return fmt.Errorf("%s %s: %w", method, u, ue.Err)
	}
	return fmt.Errorf("%s %s: %w", method, u, err)
}

func isRefused(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial" && strings.Contains(oe.Err.Error(), "refused")
}

// excerpt is the start of a body, on one line, for messages.
func excerpt(body []byte) string {
	const limit = 200
	s := strings.Join(strings.Fields(string(body[:min(len(body), limit)])), " ")
	if len(body) > limit {
		s += "…"
	}
	return strconv.Quote(s)
}

// statusError reads a ProblemDetails body when there is one.
func (c *Client) statusError(method, u string, resp *http.Response, body []byte) error {
	e := &StatusError{Method: method, URL: u, Status: resp.StatusCode}
	var pd struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
	}
	if json.Unmarshal(body, &pd) == nil && (pd.Detail != "" || pd.Title != "") {
		e.Detail = strings.TrimSpace(pd.Title + " " + pd.Detail)
	} else if len(body) > 0 {
		e.Detail = excerpt(body)
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		if c.oauth != nil {
			e.Hint = fmt.Sprintf("the VNFM rejected the bearer token from %s for client %q, also after fetching a new one", c.cfg.TokenURL, c.cfg.ClientID)
		} else {
			e.Hint = "the VNFM requires authorisation; configure tokenURL, clientID and clientSecret"
		}
	case http.StatusForbidden:
		if c.oauth != nil {
			e.Hint = fmt.Sprintf("client %q is authenticated but not allowed to do this; check its permissions at the VNFM", c.cfg.ClientID)
		} else {
			e.Hint = "not allowed without credentials; configure tokenURL, clientID and clientSecret"
		}
	}
	return e
}
