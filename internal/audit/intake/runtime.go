package intake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/cache"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/vnfguard/vnfguard/internal/audit"
	"github.com/vnfguard/vnfguard/internal/runtimeevent"
)

// Identity is who presented a token: the user name, and the node its pod runs on when the token says so (bound
// service-account tokens carry it since Kubernetes 1.30).
type Identity struct {
	User string
	Node string
}

// Authenticator checks a node agent's bearer token.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (Identity, error)
}

// nodeNameExtra is the key under which the API server puts the node of a bound service-account token's pod.
const nodeNameExtra = "authentication.kubernetes.io/node-name"

// TokenReviewer authenticates tokens with the API server's TokenReview, as kube-rbac-proxy does, caching each
// answer (positive or negative) for TTL so that a busy agent costs one review per TTL.
type TokenReviewer struct {
	client    kubernetes.Interface
	audiences []string
	ttl       time.Duration
	cache     *cache.LRUExpireCache
}

// NewTokenReviewer returns a TokenReviewer; audiences may be empty (the API server's own).
func NewTokenReviewer(client kubernetes.Interface, audiences []string, ttl time.Duration) *TokenReviewer {
	if ttl <= 0 {
		ttl = time.Minute
	}
	return &TokenReviewer{client: client, audiences: audiences, ttl: ttl, cache: cache.NewLRUExpireCache(4096)}
}

type reviewResult struct {
	id  Identity
	err error
}

// Authenticate implements Authenticator.
func (t *TokenReviewer) Authenticate(ctx context.Context, token string) (Identity, error) {
	if v, ok := t.cache.Get(token); ok {
		r := v.(reviewResult)
		return r.id, r.err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tr, err := t.client.AuthenticationV1().TokenReviews().Create(ctx, &authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token, Audiences: t.audiences}}, metav1.CreateOptions{})
	if err != nil {
		// Not cached: the API server may answer the next time.
		return Identity{}, fmt.Errorf("TokenReview failed: %w", err)
	}
	var r reviewResult
	if !tr.Status.Authenticated {
		r.err = fmt.Errorf("the API server does not accept the token: %s", tr.Status.Error)
	} else {
		r.id.User = tr.Status.User.Username
		if nodes := tr.Status.User.Extra[nodeNameExtra]; len(nodes) == 1 {
			r.id.Node = nodes[0]
		}
	}
	t.cache.Add(token, r, t.ttl)
	return r.id, r.err
}

// RuntimeOptions configure the /runtime endpoint.
type RuntimeOptions struct {
	Authenticator Authenticator
	// Agents are the user names node agents authenticate as (system:serviceaccount:NS:NAME).
	Agents       []string
	MaxBodyBytes int64 // default 8 MiB
	Logger       *slog.Logger
}

// RuntimeStats counts what the /runtime endpoint did.
type RuntimeStats struct {
	Batches, Events, Unauthorized, Forbidden, BadRequest, Errors uint64
}

// RuntimeReceiver is the /runtime endpoint: node agents (vnfguard node) POST a runtimeevent.List with their
// service-account token; the events go into the audit intake's durable queue, each in its audit envelope, and
// the answer is 200 only once they are durable.
//
//	401 no token, or one the API server does not accept (or could not be asked about: the agent retries)
//	403 an identity that is not a node agent, or an agent reporting for a node its token is not bound to
//	400 a malformed list; the body names the item and the field
//	413 a body over MaxBodyBytes; 429/503/500 as the audit endpoint (the agent retries)
type RuntimeReceiver struct {
	q    audit.Appender
	opts RuntimeOptions

	batches, events, unauthorized, forbidden, badRequest, errs atomic.Uint64
}

// NewRuntimeReceiver returns the endpoint over the intake's queue.
func NewRuntimeReceiver(q audit.Appender, opts RuntimeOptions) (*RuntimeReceiver, error) {
	if q == nil || opts.Authenticator == nil {
		return nil, errors.New("runtime intake: a queue and an authenticator are required")
	}
	if len(opts.Agents) == 0 {
		return nil, errors.New("runtime intake: no node-agent identity configured; every report would be refused")
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 8 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &RuntimeReceiver{q: q, opts: opts}, nil
}

// Stats returns the counters.
func (r *RuntimeReceiver) Stats() RuntimeStats {
	return RuntimeStats{Batches: r.batches.Load(), Events: r.events.Load(), Unauthorized: r.unauthorized.Load(),
		Forbidden: r.forbidden.Load(), BadRequest: r.badRequest.Load(), Errors: r.errs.Load()}
}

func (r *RuntimeReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	token, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
	if !ok || strings.TrimSpace(token) == "" {
		r.unauthorized.Add(1)
		w.Header().Set("WWW-Authenticate", `Bearer realm="vnfguard runtime"`)
		http.Error(w, "unauthorized: present the node agent's service-account token", http.StatusUnauthorized)
		return
	}
	id, err := r.opts.Authenticator.Authenticate(req.Context(), strings.TrimSpace(token))
	if err != nil {
		r.unauthorized.Add(1)
		r.opts.Logger.Warn("runtime intake: token refused", "error", err, "remote", req.RemoteAddr)
		http.Error(w, "unauthorized: "+err.Error(), http.StatusUnauthorized)
		return
	}
	if !slices.Contains(r.opts.Agents, id.User) {
		r.forbidden.Add(1)
		r.opts.Logger.Warn("runtime intake: not a node agent", "user", id.User, "remote", req.RemoteAddr)
		http.Error(w, fmt.Sprintf("forbidden: %s is not a vnfguard node agent (%s)", id.User, strings.Join(r.opts.Agents, ", ")), http.StatusForbidden)
		return
	}
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method "+req.Method+" not allowed: POST a "+runtimeevent.ListKind, http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, r.opts.MaxBodyBytes))
	if err != nil {
		r.badRequest.Add(1)
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, fmt.Sprintf("body over %d bytes: send smaller batches", r.opts.MaxBodyBytes), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	list, err := runtimeevent.DecodeList(body)
	if err != nil {
		r.badRequest.Add(1)
		r.opts.Logger.Warn("runtime intake: malformed batch refused", "error", err, "user", id.User)
		http.Error(w, "malformed "+runtimeevent.ListKind+": "+err.Error(), http.StatusBadRequest)
		return
	}
	source, _, _ := net.SplitHostPort(req.RemoteAddr)
	envelopes := make([]auditv1.Event, 0, len(list.Items))
	for i := range list.Items {
		e := &list.Items[i]
		if id.Node != "" && e.Node != id.Node {
			// A node agent speaks for its own node only: a compromised node must not invent another's containers.
			r.forbidden.Add(1)
			r.opts.Logger.Warn("runtime intake: agent reported for another node", "user", id.User, "tokenNode", id.Node, "eventNode", e.Node)
			http.Error(w, fmt.Sprintf("forbidden: items[%d] is about node %q, but the token is bound to node %q", i, e.Node, id.Node), http.StatusForbidden)
			return
		}
		env, err := runtimeevent.Envelope(e, id.User, source)
		if err != nil {
			r.badRequest.Add(1)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		envelopes = append(envelopes, env)
	}
	switch err := r.q.Append(envelopes); {
	case err == nil:
	case errors.Is(err, audit.ErrQueueFull):
		w.Header().Set("Retry-After", strconv.Itoa(2))
		http.Error(w, "queue full, retry later", http.StatusTooManyRequests)
		return
	case errors.Is(err, audit.ErrClosed):
		w.Header().Set("Retry-After", "1")
		http.Error(w, "shutting down, retry", http.StatusServiceUnavailable)
		return
	default:
		r.errs.Add(1)
		r.opts.Logger.Error("runtime intake: append failed", "events", len(envelopes), "error", err)
		http.Error(w, "could not store the batch, retry", http.StatusInternalServerError)
		return
	}
	r.batches.Add(1)
	r.events.Add(uint64(len(envelopes)))
	w.WriteHeader(http.StatusOK)
}
