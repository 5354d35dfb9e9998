package exposure

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vnfguard/vnfguard/internal/finding"
)

// What Probe found answering at a target.
const (
	ServiceAPIServer       = "kube-apiserver"
	ServiceKubelet         = "kubelet"
	ServiceKubeletReadOnly = "kubelet-read-only"
	ServiceEtcd            = "etcd"
	ServiceDocker          = "docker"
	ServiceUnidentified    = "unidentified"
)

// The states of a target.
const (
	StateOpen        = "open"        // something accepted the connection
	StateClosed      = "closed"      // the connection was refused
	StateNoAnswer    = "no-answer"   // the connection timed out
	StateUnreachable = "unreachable" // any other dial error (no route, unknown host)
)

// ProbeOptions configures Probe.
type ProbeOptions struct {
	// Timeout bounds each connection and each request to a target (default 2 s).
	Timeout time.Duration
	// Parallel is how many targets are probed at once (default 4).
	Parallel int
	// Logger receives one line per target; nil discards.
	Logger *slog.Logger
	// Now stamps the findings (default time.Now).
	Now func() time.Time
}

// Result says what answered at one target, without credentials.
type Result struct {
	Target  string `json:"target"`
	State   string `json:"state"`
	Service string `json:"service,omitempty"`
	Scheme  string `json:"scheme,omitempty"`
	// Anonymous is what a request without credentials gets: "allowed" (data was served), "limited" (only
	// version or discovery), "denied" (401/403), or "" when not applicable.
	Anonymous string `json:"anonymous,omitempty"`
	// Evidence holds the status of every request ("GET /version" → "200"), the Server header, the version string.
	Evidence map[string]string `json:"evidence,omitempty"`
	Error    string            `json:"error,omitempty"`
}

// Probe asks each target (host:port, exactly as the user named it — Probe never picks an address itself) what
// it is and whether it serves requests without credentials: a Kubernetes API server, a kubelet (API or read-only
// port), etcd, or a Docker Engine API. It identifies them by their answers, not by their port. A closed port is a
// Result; the error is only for targets that are not host:port (then nothing is probed).
func Probe(ctx context.Context, targets []string, opts ProbeOptions) ([]finding.Finding, []Result, error) {
	for _, t := range targets {
		if _, port, err := net.SplitHostPort(t); err != nil {
			return nil, nil, fmt.Errorf("probe target %q: want HOST:PORT: %w", t, err)
		} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, nil, fmt.Errorf("probe target %q: port %q is not 1-65535", t, port)
		}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 4
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	results := make([]Result, len(targets))
	sem := make(chan struct{}, opts.Parallel)
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i] = probeOne(ctx, t, opts)
			opts.Logger.Info("probed", "target", t, "state", results[i].State, "service", results[i].Service, "anonymous", results[i].Anonymous)
		}()
	}
	wg.Wait()
	now := opts.Now()
	var out []finding.Finding
	for _, r := range results {
		if f, ok := probeFinding(r); ok {
			f.Time = now
			out = append(out, f)
		}
	}
	return out, results, ctx.Err()
}

// prober talks to one target.
type prober struct {
	target string
	scheme string
	client *http.Client
	res    *Result
}

// maxBody bounds what is read of an answer: enough to identify it.
const maxBody = 64 << 10

type answer struct {
	status int
	header http.Header
	body   []byte
	err    error
}

// json decodes the body into a map, nil when it is not a JSON object.
func (a answer) json() map[string]any {
	var m map[string]any
	if a.err != nil || json.Unmarshal(a.body, &m) != nil {
		return nil
	}
	return m
}

func (p *prober) do(ctx context.Context, method, path string, body []byte) answer {
	ctx, cancel := context.WithTimeout(ctx, p.client.Timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.scheme+"://"+p.target+path, rd)
	if err != nil {
		return answer{err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "vnfguard-exposure-probe")
	resp, err := p.client.Do(req)
	key := method + " " + path
	if err != nil {
		p.res.Evidence[key] = "error: " + err.Error()
		return answer{err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	p.res.Evidence[key] = strconv.Itoa(resp.StatusCode)
	if s := resp.Header.Get("Server"); s != "" {
		p.res.Evidence["server"] = s
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: data, err: err}
}

func probeOne(ctx context.Context, target string, opts ProbeOptions) Result {
	res := Result{Target: target, Evidence: map[string]string{}}
	d := net.Dialer{Timeout: opts.Timeout}
	conn, err := d.DialContext(ctx, "tcp", target)
	if err != nil {
		res.Error = err.Error()
		var ne net.Error
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			res.State = StateClosed
		case errors.As(err, &ne) && ne.Timeout():
			res.State = StateNoAnswer
		default:
			res.State = StateUnreachable
		}
		return res
	}
	res.State = StateOpen
	// TLS or not: try a handshake. InsecureSkipVerify only lets the probe see whether the server answers; nothing
	// it says is trusted.
	_ = conn.SetDeadline(time.Now().Add(opts.Timeout))
	tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // identification only, see above
	scheme := "http"
	if err := tc.HandshakeContext(ctx); err == nil {
		scheme = "https"
		st := tc.ConnectionState()
		res.Evidence["tls"] = tls.VersionName(st.Version)
		if len(st.PeerCertificates) > 0 {
			res.Evidence["certificate"] = st.PeerCertificates[0].Subject.String()
		}
	} else if clientCertRequired(err) {
		scheme = "https"
	}
	tc.Close()
	conn.Close()
	res.Scheme = scheme
	p := &prober{target: target, scheme: scheme, res: &res, client: &http.Client{
		Timeout: opts.Timeout,
		Transport: &http.Transport{
			// No proxy: the probe goes exactly where the user said.
			Proxy:             nil,
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // identification only
			DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	identify(ctx, p)
	return res
}

// clientCertRequired says whether a TLS error means the server wants a client certificate (TLS 1.2 fails the
// handshake; TLS 1.3 fails the first read).
func clientCertRequired(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "certificate required") || strings.Contains(msg, "bad certificate")
}

// identify asks the target its version, then the paths of the service that answered.
func identify(ctx context.Context, p *prober) {
	r := p.res
	version := p.do(ctx, http.MethodGet, "/version", nil)
	if clientCertRequired(version.err) {
		r.Service, r.Anonymous = ServiceUnidentified, "denied"
		r.Evidence["tls"] = "client certificate required"
		return
	}
	if version.err != nil && version.status == 0 {
		r.Service = ServiceUnidentified
		r.Error = version.err.Error()
		return
	}
	v := version.json()
	switch {
	case v["etcdserver"] != nil:
		probeEtcd(ctx, p, v)
	case v["ApiVersion"] != nil || version.header.Get("Api-Version") != "" && strings.HasPrefix(version.header.Get("Server"), "Docker"):
		probeDocker(ctx, p, v)
	case v["gitVersion"] != nil && v["major"] != nil, isStatus(v):
		probeAPIServer(ctx, p, version, v)
	default:
		probeKubeletOrOther(ctx, p)
	}
}

// isStatus says whether a body is a Kubernetes Status object (what the API server answers on errors).
func isStatus(m map[string]any) bool {
	return m["kind"] == "Status" && m["apiVersion"] == "v1"
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func probeAPIServer(ctx context.Context, p *prober, version answer, v map[string]any) {
	r := p.res
	r.Service = ServiceAPIServer
	if gv := str(v, "gitVersion"); gv != "" {
		r.Evidence["version"] = gv
	}
	api := p.do(ctx, http.MethodGet, "/api", nil)
	ns := p.do(ctx, http.MethodGet, "/api/v1/namespaces?limit=1", nil)
	pods := p.do(ctx, http.MethodGet, "/api/v1/pods?limit=1", nil)
	switch {
	case ns.status == http.StatusOK || pods.status == http.StatusOK:
		r.Anonymous = "allowed"
	case version.status == http.StatusOK || api.status == http.StatusOK:
		r.Anonymous = "limited"
	case ns.status == http.StatusUnauthorized || ns.status == http.StatusForbidden:
		r.Anonymous = "denied"
	}
}

func probeEtcd(ctx context.Context, p *prober, v map[string]any) {
	r := p.res
	r.Service = ServiceEtcd
	r.Evidence["version"] = str(v, "etcdserver")
	// A range over the single key "\x00", counting only: it proves the KV API serves an anonymous client without
	// reading any data. (An empty key is refused by etcd before authentication, so it would prove nothing.)
	kv := p.do(ctx, http.MethodPost, "/v3/kv/range", []byte(`{"key":"AA==","count_only":true}`))
	if kv.status == http.StatusOK && kv.json()["header"] != nil {
		r.Anonymous = "allowed"
		return
	}
	r.Anonymous = "limited" // it answers /version, but not the KV API (etcd authentication is on)
}

func probeDocker(ctx context.Context, p *prober, v map[string]any) {
	r := p.res
	r.Service = ServiceDocker
	if ver := str(v, "Version"); ver != "" {
		r.Evidence["version"] = ver
	}
	if av := str(v, "ApiVersion"); av != "" {
		r.Evidence["apiVersion"] = av
	}
	c := p.do(ctx, http.MethodGet, "/containers/json?limit=1", nil)
	switch {
	case c.status == http.StatusOK && bytes.HasPrefix(bytes.TrimSpace(c.body), []byte("[")):
		r.Anonymous = "allowed"
	case c.status == http.StatusUnauthorized || c.status == http.StatusForbidden:
		r.Anonymous = "denied" // an authorization plugin refused
	default:
		r.Anonymous = "limited"
	}
}

// probeKubeletOrOther asks for /pods, which only a kubelet serves (the API server's pods are under /api/v1).
func probeKubeletOrOther(ctx context.Context, p *prober) {
	r := p.res
	pods := p.do(ctx, http.MethodGet, "/pods", nil)
	m := pods.json()
	service := ServiceKubelet
	if p.scheme == "http" {
		service = ServiceKubeletReadOnly
	}
	switch {
	case pods.status == http.StatusOK && m["kind"] == "PodList":
		r.Service, r.Anonymous = service, "allowed"
		if p.scheme == "https" {
			p.do(ctx, http.MethodGet, "/runningpods/", nil)
		}
	case p.scheme == "https" && pods.status == http.StatusForbidden && bytes.Contains(pods.body, []byte("Forbidden (user=")):
		// The kubelet's own authorizer's message: anonymous is authenticated but not authorized.
		r.Service, r.Anonymous = ServiceKubelet, "denied"
	default:
		r.Service = ServiceUnidentified
	}
}
