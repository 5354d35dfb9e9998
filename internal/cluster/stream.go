package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/flowcontrol"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

// Defaults of StreamOptions.
const (
	// DefaultStreamQPS and DefaultStreamBurst bound the live GETs of a Stream: they happen only while a cache has
	// not synced, and an audit stream can ask for thousands of objects a second.
	DefaultStreamQPS   = 10
	DefaultStreamBurst = 20
	// DefaultStreamTimeout bounds the wait for one live GET: an event is judged without the object rather than
	// holding up every event queued behind it.
	DefaultStreamTimeout = 500 * time.Millisecond
	// DefaultStreamPause and DefaultStreamMaxPause are the first and the longest pause of live GETs after a
	// failure (doubling while they keep failing): an unavailable API server is not asked once per event.
	DefaultStreamPause    = time.Second
	DefaultStreamMaxPause = 30 * time.Second
)

// Answers a Stream gives, the values of Stats' keys (and of vnfguard_audit_lookups_total's label answer).
const (
	// AnswerCached: the informer's cache had the object.
	AnswerCached = "cached"
	// AnswerAbsent: the cache of the kind has synced and does not have the object, which is therefore reported as
	// not found without asking the API server (also: a kind the view does not track, a Secret or ConfigMap outside
	// the protected namespaces).
	AnswerAbsent = "absent"
	// AnswerLive: the API server answered (found or not found), or a recent live answer was reused.
	AnswerLive = "live"
	// AnswerFailed: a live GET failed or did not answer within the stream's timeout.
	AnswerFailed = "failed"
	// AnswerSkipped: a live GET was due but not made — over the rate limit, or in the pause after a failure.
	AnswerSkipped = "skipped"
)

// Answers lists every answer, in a stable order.
var Answers = []string{AnswerCached, AnswerAbsent, AnswerLive, AnswerFailed, AnswerSkipped}

// ErrLookupSkipped is wrapped by the LookupError of a live GET a Stream did not make (rate limit or pause).
var ErrLookupSkipped = errors.New("live lookup skipped")

// StreamOptions configure View.StreamWith; zero values take the defaults.
type StreamOptions struct {
	QPS      float32
	Burst    int
	Timeout  time.Duration
	Pause    time.Duration
	MaxPause time.Duration
}

// Stream is the view as the audit consumer needs it: every answer comes from the informers' caches, and once the
// cache of a kind has synced, an object it does not hold does not exist — reported as not found at once, without a
// live GET. The consumer judges events one after the other; a live GET per event about an object that does not
// exist would let anyone who can send requests for made-up names hold up every later finding (measured: 10 000
// such events delayed an exec into a STOPPED VNF by minutes, see docs/benchmarks.md).
//
// Live GETs remain only where no cache can answer yet (an informer that has not synced, a protected namespace whose
// Secrets have not been listed): they go through a token bucket (TryAccept: over the limit the GET is skipped, never
// waited for), are bounded by a short timeout, and after a failure are paused with exponential back-off
// (client-go's flowcontrol.Backoff). A skipped or failed GET is a LookupError, not "not found": detection then
// judges the event from what the event itself says (see detect.Env.Objects), so a check that needs no lookup fires
// regardless.
//
// The price: an object created a moment before its audit event is consumed, and not yet delivered by the watch, is
// reported as not found. The audit webhook backend batches events for up to seconds, the watch delivers in
// milliseconds, and detection also remembers the objects of the creates and updates it has judged.
type Stream struct {
	v       *View
	opts    StreamOptions
	limiter flowcontrol.RateLimiter
	pause   *flowcontrol.Backoff
	counts  [5]atomic.Uint64 // by index in Answers
}

// pauseKey is the one back-off entry of a Stream: a failure pauses all its live GETs, whichever object failed.
const pauseKey = "live"

// Stream returns a stream view with the default options.
func (v *View) Stream() *Stream { return v.StreamWith(StreamOptions{}) }

// StreamWith returns a stream view over v's informers and live answers.
func (v *View) StreamWith(opts StreamOptions) *Stream {
	if opts.QPS <= 0 {
		opts.QPS = DefaultStreamQPS
	}
	if opts.Burst <= 0 {
		opts.Burst = DefaultStreamBurst
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultStreamTimeout
	}
	if opts.Pause <= 0 {
		opts.Pause = DefaultStreamPause
	}
	if opts.MaxPause < opts.Pause {
		opts.MaxPause = max(DefaultStreamMaxPause, opts.Pause)
	}
	return &Stream{v: v, opts: opts,
		limiter: flowcontrol.NewTokenBucketRateLimiter(opts.QPS, opts.Burst),
		pause:   flowcontrol.NewBackOff(opts.Pause, opts.MaxPause)}
}

// Stats returns how many lookups got each answer (keys: Answers).
func (s *Stream) Stats() map[string]uint64 {
	out := make(map[string]uint64, len(Answers))
	for i, a := range Answers {
		out[a] = s.counts[i].Load()
	}
	return out
}

func (s *Stream) count(answer string) {
	s.counts[slices.Index(Answers, answer)].Add(1)
}

// WaitForSync waits until the view's caches have synced or ctx ends (see View.WaitForSync).
func (s *Stream) WaitForSync(ctx context.Context) error { return s.v.WaitForSync(ctx) }

// Get implements vnf.Objects from the caches (see Stream).
func (s *Stream) Get(ctx context.Context, kind, namespace, name string) (metav1.Object, error) {
	if gvr, ok := DataKinds[kind]; ok {
		return s.getData(ctx, kind, gvr, namespace, name)
	}
	inf, ok := s.v.informers[kind]
	if !ok {
		s.count(AnswerAbsent)
		return nil, fmt.Errorf("cluster view: kind %s (of %s/%s) is not tracked: %w", kind, namespace, name, vnf.ErrNotFound)
	}
	if m, done, err := s.fromCache(inf, kind, namespace, name); done {
		return m, err
	}
	return s.live(ctx, kind, Kinds[kind], namespace, name)
}

// fromCache answers from an informer: the object, or not found once it has synced; done is false when only the API
// server can answer.
func (s *Stream) fromCache(inf cache.SharedIndexInformer, kind, namespace, name string) (metav1.Object, bool, error) {
	key := name
	if namespace != "" {
		key = namespace + "/" + name
	}
	if obj, exists, err := inf.GetIndexer().GetByKey(key); err == nil && exists {
		if m, ok := obj.(metav1.Object); ok {
			s.count(AnswerCached)
			return m, true, nil
		}
	}
	if inf.HasSynced() {
		s.count(AnswerAbsent)
		return nil, true, vnf.NotFound(kind, namespace, name, "not in the synced cache")
	}
	return nil, false, nil
}

// getData serves a Secret or ConfigMap from the cache of its protected namespace; outside the protected namespaces
// it does not exist for vnfguard (see View.getData).
func (s *Stream) getData(ctx context.Context, kind string, gvr schema.GroupVersionResource, namespace, name string) (metav1.Object, error) {
	if s.v.data != nil {
		obj, exists, watched := s.v.data.Get(kind, namespace, name)
		switch {
		case watched && exists:
			if m, ok := obj.(metav1.Object); ok {
				s.count(AnswerCached)
				return m, nil
			}
		case watched:
			s.count(AnswerAbsent)
			return nil, vnf.NotFound(kind, namespace, name, "not in the synced cache")
		}
		if !slices.Contains(s.v.data.Namespaces(), namespace) {
			s.count(AnswerAbsent)
			return nil, vnf.NotFound(kind, namespace, name, "a namespace vnfguard does not protect: it does not read its "+kind+"s")
		}
	}
	return s.live(ctx, kind, gvr, namespace, name)
}

// Labels implements detect.Namespaces from the namespace cache (see Stream).
func (s *Stream) Labels(ctx context.Context, name string) (map[string]string, error) {
	m, done, err := s.fromCache(s.v.namespaces, "Namespace", "", name)
	if !done {
		m, err = s.live(ctx, "Namespace", namespacesGVR, "", name)
	}
	if err != nil {
		return nil, err
	}
	return m.GetLabels(), nil
}

// live is the rate-limited, paused, short live GET of an object no synced cache can answer for; a recent live answer
// is reused.
func (s *Stream) live(ctx context.Context, kind string, gvr schema.GroupVersionResource, namespace, name string) (metav1.Object, error) {
	if a, ok := s.v.answers.Get(kind + "/" + namespace + "/" + name); ok {
		s.count(AnswerLive)
		return s.v.answer(kind, namespace, name, a.(liveAnswer))
	}
	var obj metav1.Object
	err := s.guard(ctx, kind, namespace, name, func(ctx context.Context) (err error) {
		obj, err = s.v.live(ctx, kind, gvr, namespace, name)
		return err
	})
	return obj, err
}

// guard makes one live call under the stream's rules: skipped (a LookupError wrapping ErrLookupSkipped, at once)
// during the pause after a failure or over the rate limit; else bounded by the timeout. A failure other than "not
// found" starts or lengthens the pause, an answer ends it.
func (s *Stream) guard(ctx context.Context, kind, namespace, name string, call func(context.Context) error) error {
	now := time.Now()
	skip := func(why string) error {
		s.count(AnswerSkipped)
		return &LookupError{Kind: kind, Namespace: namespace, Name: name, Timeout: s.opts.Timeout, Err: fmt.Errorf("%w: %s", ErrLookupSkipped, why)}
	}
	if s.pause.IsInBackOffSinceUpdate(pauseKey, now) {
		return skip(fmt.Sprintf("paused for %s after a failed live lookup", s.pause.Get(pauseKey)))
	}
	if !s.limiter.TryAccept() {
		return skip(fmt.Sprintf("over %g live lookups per second while the caches sync", s.opts.QPS))
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	err := call(ctx)
	if err != nil && !errors.Is(err, vnf.ErrNotFound) && !apierrors.IsNotFound(err) {
		var le *LookupError
		if errors.As(err, &le) && le.callerGaveUp {
			// Not an admission request's deadline (View.live's wording) but the stream's own bound.
			le.callerGaveUp, le.Timeout = false, s.opts.Timeout
		}
		s.pause.Next(pauseKey, now)
		s.count(AnswerFailed)
		return err
	}
	s.pause.Reset(pauseKey)
	s.count(AnswerLive)
	return err
}

// PodSpecs returns p as the stream needs it: a pod the synced cache does not hold has no spec to read (no GET), and
// the GET of a pod's spec goes through the stream's rate limit, timeout and pause (see Stream).
func (s *Stream) PodSpecs(p *PodSpecs) *StreamPodSpecs { return &StreamPodSpecs{s: s, p: p} }

// StreamPodSpecs is PodSpecs behind a Stream; it implements detect.PodSpecs.
type StreamPodSpecs struct {
	s *Stream
	p *PodSpecs
}

// PodSpec returns the spec of namespace/name (uid, when set, must match), from PodSpecs' cache, else by a guarded
// GET of a pod the stream knows to exist.
func (w *StreamPodSpecs) PodSpec(ctx context.Context, namespace, name, uid string) (*corev1.PodSpec, error) {
	if spec, ok := w.p.cached(namespace, name, uid); ok {
		return spec, nil
	}
	m, err := w.s.Get(ctx, "Pod", namespace, name)
	if err != nil {
		return nil, fmt.Errorf("pod %s/%s: %w", namespace, name, err)
	}
	if uid != "" && m.GetUID() != "" && string(m.GetUID()) != uid {
		return nil, fmt.Errorf("pod %s/%s is now %s, not %s: the pod that ran the exec is gone", namespace, name, m.GetUID(), uid)
	}
	var spec *corev1.PodSpec
	err = w.s.guard(ctx, "Pod", namespace, name, func(ctx context.Context) (err error) {
		spec, err = w.p.PodSpec(ctx, namespace, name, uid)
		return err
	})
	return spec, err
}
