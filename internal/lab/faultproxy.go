package lab

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Fault is what a FaultProxy does to the reads passing through it.
type Fault int

// The faults.
const (
	// Pass forwards everything.
	Pass Fault = iota
	// Slow holds every GET of a single object for the proxy's delay before forwarding it, and holds lists and
	// watches until the fault is lifted: an API server too slow for the informers to catch up.
	Slow
	// Unavailable answers every GET, list and watch with 503 Service Unavailable at once.
	Unavailable
)

func (f Fault) String() string {
	switch f {
	case Slow:
		return "slow"
	case Unavailable:
		return "unavailable"
	}
	return "pass"
}

// FaultProxy is a TLS reverse proxy on loopback in front of the lab's API server, for the one client that is given
// its kubeconfig (vnfguard's): everyone else still talks to the API server directly. Its fault can be switched at
// run time; switching to a fault also ends the watches in progress, so that objects created during the fault never
// reach the client's informers. Only reads of API resources are faulted; writes and discovery pass.
type FaultProxy struct {
	// URL is the proxy's address, https://127.0.0.1:PORT, with a certificate from the lab's CA.
	URL string
	// Kubeconfig is a kubeconfig file for the proxy with the credentials of the identity it was started for.
	Kubeconfig string

	server *http.Server
	proxy  *httputil.ReverseProxy

	mu      sync.Mutex
	fault   Fault
	delay   time.Duration
	lifted  chan struct{}                        // closed when the fault goes back to Pass
	streams map[*http.Request]context.CancelFunc // lists and watches in progress

	gets, faulted, broken atomic.Int64
	namespaceGets         atomic.Int64
}

// ProxyStats counts what a FaultProxy saw.
type ProxyStats struct {
	// Gets are the single-object GETs; NamespaceGets those of namespaces among them.
	Gets, NamespaceGets int64
	// Faulted are the reads delayed or refused; BrokenWatches the lists and watches ended by a switch to a fault.
	Faulted, BrokenWatches int64
}

// StartFaultProxy starts a FaultProxy in front of the API server for the named identity (its bearer token goes
// into the proxy's kubeconfig and through the proxy unchanged). The control plane's Stop does not stop it: call
// Stop.
func (cp *ControlPlane) StartFaultProxy(identity string) (*FaultProxy, error) {
	token, ok := cp.tokens[identity]
	if !ok {
		return nil, fmt.Errorf("lab: fault proxy: no identity %q", identity)
	}
	dir := filepath.Join(cp.WorkDir, "fault-proxy")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("lab: create %s: %w", dir, err)
	}
	certFile, keyFile, err := cp.CA.WriteServing(dir, "fault-proxy")
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("lab: fault proxy certificate: %w", err)
	}
	upstream, err := url.Parse(cp.URL)
	if err != nil {
		return nil, fmt.Errorf("lab: API server URL %q: %w", cp.URL, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("lab: fault proxy listen: %w", err)
	}
	p := &FaultProxy{
		URL:     "https://" + ln.Addr().String(),
		streams: map[*http.Request]context.CancelFunc{},
	}
	p.proxy = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(upstream) },
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: cp.CA.Pool(), MinVersion: tls.VersionTLS12},
			ForceAttemptHTTP2:   true,
			MaxIdleConnsPerHost: 100,
		},
		FlushInterval: -1, // watches stream event by event
		// A watch that Set ends, or a client that gave up, is not an error worth a log line.
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() == nil {
				unavailable(w, "fault proxy: "+err.Error())
			}
		},
	}
	p.server = &http.Server{
		Handler:           p,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = p.server.ServeTLS(ln, "", "") }()

	kc := clientcmdapi.NewConfig()
	kc.Clusters["fault-proxy"] = &clientcmdapi.Cluster{Server: p.URL, CertificateAuthorityData: cp.CA.CertPEM}
	kc.AuthInfos[identity] = &clientcmdapi.AuthInfo{Token: token}
	kc.Contexts["fault-proxy"] = &clientcmdapi.Context{Cluster: "fault-proxy", AuthInfo: identity}
	kc.CurrentContext = "fault-proxy"
	p.Kubeconfig = filepath.Join(dir, "kubeconfig-"+fileSafe(identity))
	if err := clientcmd.WriteToFile(*kc, p.Kubeconfig); err != nil {
		p.Stop()
		return nil, fmt.Errorf("lab: write the fault proxy's kubeconfig: %w", err)
	}
	cp.logger.Info("fault proxy in front of the API server", "url", p.URL, "identity", identity)
	return p, nil
}

// Set switches the fault (and, for Slow, the delay of single-object GETs). Switching to a fault ends the lists and
// watches in progress.
func (p *FaultProxy) Set(f Fault, delay time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	was := p.fault
	p.fault, p.delay = f, delay
	switch {
	case f == Pass && was != Pass:
		close(p.lifted)
	case f != Pass && was == Pass:
		p.lifted = make(chan struct{})
	}
	if f != Pass {
		for r, cancel := range p.streams {
			cancel()
			delete(p.streams, r)
			p.broken.Add(1)
		}
	}
}

// Stats returns what the proxy has seen so far.
func (p *FaultProxy) Stats() ProxyStats {
	return ProxyStats{Gets: p.gets.Load(), NamespaceGets: p.namespaceGets.Load(), Faulted: p.faulted.Load(), BrokenWatches: p.broken.Load()}
}

// Streams is the number of lists and watches passing through the proxy now: a client's informers are connected
// when it reaches their number.
func (p *FaultProxy) Streams() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.streams)
}

// Stop closes the proxy and every connection through it.
func (p *FaultProxy) Stop() {
	p.Set(Pass, 0)
	_ = p.server.Close()
}

// ServeHTTP forwards the request, faulting resource reads as set.
func (p *FaultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	kind, isNamespace := classify(r)
	if kind == "get" {
		p.gets.Add(1)
		if isNamespace {
			p.namespaceGets.Add(1)
		}
	}
	p.serve(w, r, kind)
}

func (p *FaultProxy) serve(w http.ResponseWriter, r *http.Request, kind string) {
	p.mu.Lock()
	fault, delay, lifted := p.fault, p.delay, p.lifted
	if kind == "stream" && fault == Pass {
		// Registered under the lock that Set takes, so that no stream escapes a switch to a fault.
		ctx, cancel := context.WithCancel(r.Context())
		r = r.WithContext(ctx)
		p.streams[r] = cancel
		defer func() {
			p.mu.Lock()
			delete(p.streams, r)
			p.mu.Unlock()
			cancel()
		}()
	}
	p.mu.Unlock()
	if kind == "" || fault == Pass {
		p.proxy.ServeHTTP(w, r)
		return
	}
	p.faulted.Add(1)
	if fault == Unavailable {
		unavailable(w, "the fault proxy plays an API server that is unavailable")
		return
	}
	// Slow: a GET waits for the delay, a list or watch until the fault is lifted (then it is served as any other).
	if kind == "stream" {
		select {
		case <-lifted:
			p.serve(w, r, kind)
		case <-r.Context().Done():
		}
		return
	}
	timer := time.NewTimer(delay)
	defer timer.Stop()
	select {
	case <-timer.C:
		p.proxy.ServeHTTP(w, r)
	case <-lifted:
		p.proxy.ServeHTTP(w, r)
	case <-r.Context().Done():
	}
}

// classify tells a single-object GET ("get") from a list or watch ("stream") of API resources; anything else (writes,
// discovery, health) is "". isNamespace: the object is a namespace.
func classify(r *http.Request) (kind string, isNamespace bool) {
	if r.Method != http.MethodGet {
		return "", false
	}
	path := strings.Trim(r.URL.Path, "/")
	var rest []string
	switch parts := strings.Split(path, "/"); {
	case len(parts) >= 3 && parts[0] == "api":
		rest = parts[2:]
	case len(parts) >= 4 && parts[0] == "apis":
		rest = parts[3:]
	default:
		return "", false
	}
	if len(rest) > 0 && rest[0] == "watch" || r.URL.Query().Get("watch") == "true" || r.URL.Query().Get("watch") == "1" {
		return "stream", false
	}
	// resource | resource/name | namespaces/ns/resource | namespaces/ns/resource/name (subresources are not reads
	// the cluster view makes)
	switch len(rest) {
	case 1, 3:
		return "stream", false
	case 2:
		return "get", rest[0] == "namespaces"
	case 4:
		return "get", false
	}
	return "", false
}

func unavailable(w http.ResponseWriter, why string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":%q,"reason":"ServiceUnavailable","code":503}`, why)
}
