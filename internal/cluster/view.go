package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilcache "k8s.io/apimachinery/pkg/util/cache"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

// Kinds maps every kind the view serves to its resource.
var Kinds = map[string]schema.GroupVersionResource{
	"Pod":                   {Version: "v1", Resource: "pods"},
	"PersistentVolumeClaim": {Version: "v1", Resource: "persistentvolumeclaims"},
	// Cluster-scoped. With PersistentVolumeClaim, served with its binding fields (see specKinds).
	"PersistentVolume": {Version: "v1", Resource: "persistentvolumes"},
	// Secrets and ConfigMaps are not here: they are DataKinds, watched only in protected namespaces (WatchData).
	"ReplicaSet": {Group: "apps", Version: "v1", Resource: "replicasets"},
	// A pod's owner may be a ReplicationController (the core group's ReplicaSet).
	"ReplicationController": {Version: "v1", Resource: "replicationcontrollers"},
	"Deployment":            {Group: "apps", Version: "v1", Resource: "deployments"},
	"StatefulSet":           {Group: "apps", Version: "v1", Resource: "statefulsets"},
	"DaemonSet":             {Group: "apps", Version: "v1", Resource: "daemonsets"},
	"Job":                   {Group: "batch", Version: "v1", Resource: "jobs"},
	"CronJob":               {Group: "batch", Version: "v1", Resource: "cronjobs"},
}

var namespacesGVR = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

// DefaultLookupTimeout bounds a live GET after a cache miss: the webhook's own deadline is a few seconds.
const DefaultLookupTimeout = 2 * time.Second

// DefaultAnswerTTL is how long the API server's answer to a live GET — the object, or that it does not exist — is
// reused: long enough to absorb a burst of admission requests for the same new namespace or owner until the
// informer has it, short enough that an object created right after a "not found" is seen at once by the informer,
// which is always asked first.
const DefaultAnswerTTL = 5 * time.Second

// DefaultErrorTTL is how long a failed live GET's error is reused: during an API server outage, one GET per object
// and second at most, however many admission requests ask, and the API server is not hammered while it recovers.
const DefaultErrorTTL = time.Second

// DefaultLiveLookups bounds the live GETs in flight at once. The client for live GETs has no client-side rate
// limiter: a token bucket (client-go's default 5 QPS, or the 50 QPS this view used to set) turns a burst of
// admission requests into waits that outlast the webhook's deadline, and a request that times out there is
// admitted unjudged in namespaces whose webhook fails open. Live GETs are rare — the informers answer nearly
// everything, repeated and concurrent GETs for one object are collapsed into one, answers are cached — and the
// bound keeps a storm of distinct misses from flooding the API server, whose own API Priority and Fairness is the
// place for fairness between clients. A lookup that waits for a slot waits within its own timeout.
const DefaultLiveLookups = 32

// answerCacheSize bounds the number of live answers kept.
const answerCacheSize = 4096

// View implements vnf.Objects and policy.Namespaces over metadata informers with a live fallback.
type View struct {
	client        metadata.Interface // informers' list and watch
	liveClient    metadata.Interface // GETs after a cache miss
	factory       metadatainformer.SharedInformerFactory
	typed         typedClient // the specKinds' informers; nil: the specKinds are served as metadata only
	liveTyped     typedClient // GETs of the specKinds after a cache miss
	typedFactory  informers.SharedInformerFactory
	informers     map[string]cache.SharedIndexInformer // by kind
	namespaces    cache.SharedIndexInformer
	logger        *slog.Logger
	lookupTimeout time.Duration
	// data watches Secrets and ConfigMaps in the protected namespaces; nil until WatchData.
	data *Scoped

	answers   *utilcache.LRUExpireCache // "kind/namespace/name" → liveAnswer, for answerTTL (errorTTL if failed)
	answerTTL time.Duration
	errorTTL  time.Duration
	inFlight  singleflight.Group // one live GET per key at a time, whoever asks
	slots     chan struct{}      // DefaultLiveLookups tokens
}

// liveAnswer is the API server's answer to a live GET: the object as the view serves it (its metadata; for the
// specKinds, with their binding fields), nil when it does not exist, or the error the GET failed with.
type liveAnswer struct {
	obj metav1.Object
	err error
	at  time.Time
}

// New builds the view and starts its informers (for all namespaces); they stop when ctx ends. It returns at once:
// HasSynced (or WaitForSync) says when the caches are filled. Until then every lookup goes to the API server.
func New(ctx context.Context, cfg *rest.Config, logger *slog.Logger) (*View, error) {
	if cfg == nil {
		return nil, errors.New("cluster: no client configuration")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg = rest.CopyConfig(cfg)
	// The informers list once and then watch: a modest client-side limit keeps their restarts polite.
	if cfg.QPS < 50 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "vnfguard-cluster-view"
	}
	client, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster: metadata client for %s: %w", cfg.Host, err)
	}
	// Live lookups are on the webhook's request path: no client-side rate limiter (a negative QPS switches
	// client-go's off), a bound on concurrency instead (DefaultLiveLookups says why).
	liveCfg := rest.CopyConfig(cfg)
	liveCfg.QPS, liveCfg.Burst, liveCfg.RateLimiter = -1, 0, nil
	liveCfg.UserAgent = cfg.UserAgent + " (admission lookups)"
	live, err := metadata.NewForConfig(liveCfg)
	if err != nil {
		return nil, fmt.Errorf("cluster: metadata client for live lookups at %s: %w", cfg.Host, err)
	}
	typed, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster: client for %s: %w", cfg.Host, err)
	}
	liveTyped, err := kubernetes.NewForConfig(liveCfg)
	if err != nil {
		return nil, fmt.Errorf("cluster: client for live lookups at %s: %w", cfg.Host, err)
	}
	return newView(ctx, client, live, typed, liveTyped, logger), nil
}

// newView starts the informers of a view over any clients (fake ones in tests); typed, when not nil, serves the
// specKinds with their binding fields, and liveTyped (typed when nil) looks them up after a cache miss.
func newView(ctx context.Context, client, live metadata.Interface, typed, liveTyped typedClient, logger *slog.Logger) *View {
	v := newStoppedView(client, live, typed, liveTyped, logger)
	for kind, inf := range v.informers {
		kind := kind
		_ = inf.SetWatchErrorHandler(func(_ *cache.Reflector, err error) {
			logger.Warn("cluster view: watch failed; lookups fall back to the API server", "kind", kind, "error", err)
		})
	}
	v.factory.Start(ctx.Done())
	if v.typedFactory != nil {
		v.typedFactory.Start(ctx.Done())
	}
	return v
}

// WatchData starts watching the DataKinds (Secrets and ConfigMaps, as metadata: labels and owners, never their
// data — detection needs to tell which VNF instance a read Secret belongs to) in the protected namespaces only:
// those named, and those whose labels protected says are protected. Call it once, after New.
func (v *View) WatchData(ctx context.Context, protected func(name string, labels map[string]string) bool, named []string) {
	v.data = NewScoped(ctx, v.client, v.namespaces, ScopedOptions{Protected: protected, Named: named, Transform: StripManagedFields, Logger: v.logger})
}

// DataForbidden lists the protected namespaces where vnfguard may not read Secrets and ConfigMaps (its Role is
// not bound there).
func (v *View) DataForbidden() []string {
	if v.data == nil {
		return nil
	}
	return v.data.Forbidden()
}

// newStoppedView builds a view whose informers are not started yet.
func newStoppedView(client, live metadata.Interface, typed, liveTyped typedClient, logger *slog.Logger) *View {
	v := &View{
		client:        client,
		liveClient:    live,
		factory:       metadatainformer.NewSharedInformerFactory(client, 0),
		informers:     map[string]cache.SharedIndexInformer{},
		logger:        logger,
		lookupTimeout: DefaultLookupTimeout,
		answers:       utilcache.NewLRUExpireCache(answerCacheSize),
		answerTTL:     DefaultAnswerTTL,
		errorTTL:      DefaultErrorTTL,
		slots:         make(chan struct{}, DefaultLiveLookups),
	}
	if typed != nil {
		v.typed, v.liveTyped, v.typedFactory = typed, liveTyped, informers.NewSharedInformerFactory(typed, 0)
		if liveTyped == nil {
			v.liveTyped = typed
		}
	}
	for kind, gvr := range Kinds {
		if v.typed != nil && specKinds[kind] {
			v.informers[kind] = volumeInformer(v.typedFactory, kind)
			continue
		}
		v.informers[kind] = v.factory.ForResource(gvr).Informer()
		// SetTransform fails only once the informer has started; it has not.
		_ = v.informers[kind].SetTransform(StripManagedFields)
	}
	v.namespaces = v.factory.ForResource(namespacesGVR).Informer()
	_ = v.namespaces.SetTransform(StripManagedFields)
	return v
}

// Informers are informers that run in this process, for another part of it to read instead of listing and
// watching the same objects again (reconciliation, beside the view of admission and detection). They are started
// and stopped by their owner: a reader adds its event handlers, and removes them when it stops.
type Informers struct {
	// ByKind holds an informer per kind (of Kinds): metadata (*metav1.PartialObjectMetadata), except
	// PersistentVolumes and claims, which are typed and keep their binding fields (spec.claimRef, reclaim policy
	// and phase; spec.volumeName). A PersistentVolume informer is there only when it has them.
	ByKind map[string]cache.SharedIndexInformer
	// Namespaces is the informer of Namespace metadata.
	Namespaces cache.SharedIndexInformer
	// Data watches the DataKinds in the protected namespaces; nil when there is none.
	Data *Scoped
}

// Informers returns the view's informers (started by New), and its watch of the DataKinds after WatchData. Their
// objects have no managedFields.
func (v *View) Informers() Informers {
	byKind := make(map[string]cache.SharedIndexInformer, len(v.informers))
	for kind, inf := range v.informers {
		if kind == vnf.KindPersistentVolume && v.typed == nil {
			continue // metadata only: no claimRef
		}
		byKind[kind] = inf
	}
	return Informers{ByKind: byKind, Namespaces: v.namespaces, Data: v.data}
}

// StripManagedFields is an informer transform that drops metadata.managedFields, most of an object's metadata,
// which vnfguard never reads.
func StripManagedFields(obj any) (any, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

// HasSynced reports whether every informer has filled its cache once.
func (v *View) HasSynced() bool {
	if !v.namespaces.HasSynced() {
		return false
	}
	if v.data != nil && !v.data.HasSynced() {
		return false
	}
	for _, inf := range v.informers {
		if !inf.HasSynced() {
			return false
		}
	}
	return true
}

// WaitForSync waits until HasSynced or ctx ends; the error names the kinds not synced yet.
func (v *View) WaitForSync(ctx context.Context) error {
	synced := []cache.InformerSynced{v.namespaces.HasSynced}
	for _, inf := range v.informers {
		synced = append(synced, inf.HasSynced)
	}
	if cache.WaitForCacheSync(ctx.Done(), synced...) {
		return nil
	}
	var missing []string
	if !v.namespaces.HasSynced() {
		missing = append(missing, "Namespace")
	}
	for kind, inf := range v.informers {
		if !inf.HasSynced() {
			missing = append(missing, kind)
		}
	}
	sort.Strings(missing)
	return fmt.Errorf("cluster view: caches of %s not synced: %w", strings.Join(missing, ", "), ctx.Err())
}

// Get returns the metadata of the object of the given kind (a *metav1.PartialObjectMetadata; for the specKinds a
// *corev1.PersistentVolume or *corev1.PersistentVolumeClaim with its binding fields), from the cache, or from the
// API server when the cache does not have it. The object is shared: callers must not modify it.
func (v *View) Get(ctx context.Context, kind, namespace, name string) (metav1.Object, error) {
	if gvr, ok := DataKinds[kind]; ok {
		return v.getData(ctx, kind, gvr, namespace, name)
	}
	inf, ok := v.informers[kind]
	if !ok {
		// An owner of a kind the policy does not govern (a custom resource's operator, say): the owner chain ends
		// here, as it would for a deleted owner.
		return nil, fmt.Errorf("cluster view: kind %s (of %s/%s) is not tracked: %w", kind, namespace, name, vnf.ErrNotFound)
	}
	key := name
	if namespace != "" {
		key = namespace + "/" + name
	}
	if obj, exists, err := inf.GetIndexer().GetByKey(key); err == nil && exists {
		if m, ok := obj.(metav1.Object); ok {
			return m, nil
		}
	}
	return v.live(ctx, kind, Kinds[kind], namespace, name)
}

// getData serves a Secret or ConfigMap: from the cache of a protected namespace; live when the namespace's cache
// has not listed yet (or vnfguard's Role there is missing, and the API server says so); as not found in a namespace
// that is not protected, where vnfguard holds no grant and no VNF instance lives.
func (v *View) getData(ctx context.Context, kind string, gvr schema.GroupVersionResource, namespace, name string) (metav1.Object, error) {
	if v.data == nil {
		return v.live(ctx, kind, gvr, namespace, name)
	}
	obj, exists, watched := v.data.Get(kind, namespace, name)
	switch {
	case watched && exists:
		if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
			return m, nil
		}
	case watched:
		return nil, vnf.NotFound(kind, namespace, name, "")
	}
	if !slices.Contains(v.data.Namespaces(), namespace) {
		return nil, vnf.NotFound(kind, namespace, name, "a namespace vnfguard does not protect: it does not read its "+kind+"s")
	}
	return v.live(ctx, kind, gvr, namespace, name)
}

// Labels returns the labels of the namespace; a namespace that does not exist gives an error wrapping
// vnf.ErrNotFound.
func (v *View) Labels(ctx context.Context, name string) (map[string]string, error) {
	if obj, exists, err := v.namespaces.GetIndexer().GetByKey(name); err == nil && exists {
		if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
			return m.Labels, nil
		}
	}
	m, err := v.live(ctx, "Namespace", namespacesGVR, "", name)
	if err != nil {
		return nil, err
	}
	return m.GetLabels(), nil
}

// live answers a cache miss from the API server: from a recent answer (the object, or that it does not exist) when
// there is one, else by a GET that every concurrent caller for the same object shares. The caller waits at most
// until its own context ends; the GET itself is bounded by the lookup timeout, whoever is still waiting.
func (v *View) live(ctx context.Context, kind string, gvr schema.GroupVersionResource, namespace, name string) (metav1.Object, error) {
	key := kind + "/" + namespace + "/" + name
	if a, ok := v.answers.Get(key); ok {
		return v.answer(kind, namespace, name, a.(liveAnswer))
	}
	// The GET runs detached from the first caller's cancellation: the others share it.
	ch := v.inFlight.DoChan(key, func() (any, error) {
		return v.fetch(context.WithoutCancel(ctx), kind, gvr, namespace, name)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return v.answer(kind, namespace, name, res.Val.(liveAnswer))
	case <-ctx.Done():
		return nil, &LookupError{Kind: kind, Namespace: namespace, Name: name, Timeout: v.lookupTimeout, Err: ctx.Err(), callerGaveUp: true}
	}
}

func (v *View) answer(kind, namespace, name string, a liveAnswer) (metav1.Object, error) {
	if a.err != nil {
		return nil, a.err
	}
	if a.obj == nil {
		return nil, fmt.Errorf("%s %s (the API server's answer at %s): %w", kind, qualified(namespace, name), a.at.Format(time.RFC3339Nano), vnf.ErrNotFound)
	}
	return a.obj, nil
}

// fetch makes one live GET, bounded by the lookup timeout including the wait for a slot, and caches its answer
// (an error for errorTTL only).
func (v *View) fetch(ctx context.Context, kind string, gvr schema.GroupVersionResource, namespace, name string) (liveAnswer, error) {
	ctx, cancel := context.WithTimeout(ctx, v.lookupTimeout)
	defer cancel()
	key := kind + "/" + namespace + "/" + name
	fail := func(err error) (liveAnswer, error) {
		lerr := &LookupError{Kind: kind, Namespace: namespace, Name: name, Timeout: v.lookupTimeout, Err: err, InFlight: len(v.slots)}
		if v.errorTTL > 0 {
			v.answers.Add(key, liveAnswer{err: lerr, at: time.Now()}, v.errorTTL)
		}
		return liveAnswer{}, lerr
	}
	select {
	case v.slots <- struct{}{}:
		defer func() { <-v.slots }()
	case <-ctx.Done():
		return fail(fmt.Errorf("all %d live-lookup slots stayed busy: %w", cap(v.slots), ctx.Err()))
	}
	m, err := v.get(ctx, kind, gvr, namespace, name)
	switch {
	case apierrors.IsNotFound(err):
		a := liveAnswer{at: time.Now()}
		v.answers.Add(key, a, v.answerTTL)
		return a, nil
	case err != nil:
		return fail(err)
	}
	v.logger.Debug("cluster view: cache miss served by the API server", "kind", kind, "namespace", namespace, "name", name)
	a := liveAnswer{obj: m, at: time.Now()}
	v.answers.Add(key, a, v.answerTTL)
	return a, nil
}

// get is one GET of the object from the API server: its metadata, or for the specKinds (when the view has a typed
// client) the object stripped like the cached ones.
func (v *View) get(ctx context.Context, kind string, gvr schema.GroupVersionResource, namespace, name string) (metav1.Object, error) {
	if v.typed != nil && specKinds[kind] {
		return v.getVolume(ctx, kind, namespace, name)
	}
	var (
		m   *metav1.PartialObjectMetadata
		err error
	)
	if namespace == "" {
		m, err = v.liveClient.Resource(gvr).Get(ctx, name, metav1.GetOptions{})
	} else {
		m, err = v.liveClient.Resource(gvr).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// LookupError is a live GET that failed: it says which object, and why in words an operator can act on — the API
// server did not answer in time, answered that it is unavailable or overloaded, or refused.
type LookupError struct {
	Kind, Namespace, Name string
	// Timeout is the bound of one live GET.
	Timeout time.Duration
	// InFlight is the number of live GETs that were running when this one failed.
	InFlight int
	Err      error
	// callerGaveUp: the request that asked ran out of time before the GET answered.
	callerGaveUp bool
}

func (e *LookupError) Error() string {
	return "cluster view: get " + e.Kind + " " + qualified(e.Namespace, e.Name) + " from the API server after a cache miss: " + e.reason()
}

func (e *LookupError) Unwrap() error { return e.Err }

func (e *LookupError) reason() string {
	msg := strings.TrimSpace(e.Err.Error())
	if msg == "" {
		msg = fmt.Sprintf("%T without a message", e.Err)
	}
	var status apierrors.APIStatus
	switch {
	case e.callerGaveUp:
		return "the admission request's own deadline passed while waiting for the API server (" + msg + "): the API server is slow or unavailable"
	case errors.Is(e.Err, context.DeadlineExceeded) || strings.Contains(msg, "would exceed context deadline"):
		return fmt.Sprintf("no answer within %s (%d live lookups in flight): the API server is slow or unavailable (%s)", e.Timeout, e.InFlight, msg)
	case errors.As(e.Err, &status) && (status.Status().Code >= 500 || status.Status().Code == 429):
		return "the API server answered " + statusText(status.Status()) + ": it is unavailable or overloaded (" + msg + ")"
	case errors.As(e.Err, &status):
		return "the API server answered " + statusText(status.Status()) + " (" + msg + ")"
	}
	return msg
}

func statusText(st metav1.Status) string {
	text := fmt.Sprintf("HTTP %d", st.Code)
	if st.Reason != "" {
		text += " " + string(st.Reason)
	}
	return text
}

func qualified(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}
