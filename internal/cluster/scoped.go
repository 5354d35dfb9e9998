package cluster

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
)

// DataKinds are the kinds vnfguard reads only inside protected namespaces. RBAC cannot grant metadata-only access:
// whoever may list Secrets reads their data. So vnfguard holds no cluster-wide grant on them; its Role for them is
// bound in each protected namespace (see internal/install), and these kinds are watched namespace by namespace.
var DataKinds = map[string]schema.GroupVersionResource{
	"Secret":    {Version: "v1", Resource: "secrets"},
	"ConfigMap": {Version: "v1", Resource: "configmaps"},
}

// ScopedOptions configures NewScoped.
type ScopedOptions struct {
	// Kinds are the kinds to watch in each protected namespace (default DataKinds).
	Kinds map[string]schema.GroupVersionResource
	// Protected says whether a namespace with these labels is protected (config.IsProtected).
	Protected func(name string, labels map[string]string) bool
	// Named are the namespaces protected by name: watched from the start, whether they exist yet or not.
	Named []string
	// Transform, when set, is applied to every object before it is cached.
	Transform cache.TransformFunc
	// OnChange, when set, is called after any change of a watched object (as a subscription from the start).
	OnChange func()
	Logger   *slog.Logger
}

// Scoped keeps metadata informers of a few kinds in the protected namespaces only: started when a namespace is
// protected (by name at once; by label when the namespace informer sees it) and stopped when it stops being
// protected or is deleted. A namespace where vnfguard's Role is missing is reported (Forbidden) and does not hold
// readiness back: an operator who labels a namespace protected before binding the Role there must not take
// admission down with it.
type Scoped struct {
	client metadata.Interface
	opts   ScopedOptions
	ctx    context.Context

	mu sync.Mutex
	ns map[string]*scopedNamespace

	listenersMu sync.Mutex
	listeners   map[int]func() // OnChange and Subscribe's, by subscription
	nextID      int
}

type scopedNamespace struct {
	cancel    context.CancelFunc
	informers map[string]cache.SharedIndexInformer
	forbidden atomic.Bool
}

// NewScoped starts the informers of the namespaces protected by name and follows namespaces (an informer of
// Namespace metadata, the caller's) for the ones protected by label. Everything stops when ctx ends.
func NewScoped(ctx context.Context, client metadata.Interface, namespaces cache.SharedIndexInformer, opts ScopedOptions) *Scoped {
	if opts.Kinds == nil {
		opts.Kinds = DataKinds
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Scoped{client: client, opts: opts, ctx: ctx, ns: map[string]*scopedNamespace{}, listeners: map[int]func(){}}
	if opts.OnChange != nil {
		s.Subscribe(opts.OnChange)
	}
	for _, name := range opts.Named {
		s.start(name)
	}
	if namespaces != nil {
		follow := func(obj any) {
			if m, ok := obj.(metav1.Object); ok {
				s.follow(m.GetName(), m.GetLabels())
			}
		}
		_, err := namespaces.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    follow,
			UpdateFunc: func(_, obj any) { follow(obj) },
			DeleteFunc: func(obj any) {
				if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
					obj = t.Obj
				}
				if m, ok := obj.(metav1.Object); ok && !s.named(m.GetName()) {
					s.stop(m.GetName())
				}
			},
		})
		if err != nil {
			opts.Logger.Warn("cluster view: cannot follow namespaces; only namespaces protected by name are watched for "+kindList(opts.Kinds), "error", err)
		}
	}
	return s
}

func (s *Scoped) named(name string) bool {
	for _, n := range s.opts.Named {
		if n == name {
			return true
		}
	}
	return false
}

// follow starts or stops the namespace's informers after a change of its labels.
func (s *Scoped) follow(name string, labels map[string]string) {
	switch {
	case s.named(name):
	case s.opts.Protected != nil && s.opts.Protected(name, labels):
		s.start(name)
	default:
		s.stop(name)
	}
}

func (s *Scoped) start(namespace string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ns[namespace]; ok || s.ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	n := &scopedNamespace{cancel: cancel, informers: map[string]cache.SharedIndexInformer{}}
	factory := metadatainformer.NewFilteredSharedInformerFactory(s.client, 0, namespace, nil)
	for kind, gvr := range s.opts.Kinds {
		inf := factory.ForResource(gvr).Informer()
		if s.opts.Transform != nil {
			_ = inf.SetTransform(s.opts.Transform)
		}
		change := func(any) { s.changed() }
		_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: change, UpdateFunc: func(_, o any) { change(o) }, DeleteFunc: change})
		kind := kind
		_ = inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
			if apierrors.IsForbidden(err) {
				if !n.forbidden.Swap(true) {
					s.opts.Logger.Error("cluster view: vnfguard may not read "+kind+"s in this protected namespace; bind the ClusterRole vnfguard-namespace-data there (vnfguard rbac --data-namespace "+namespace+")",
						"namespace", namespace, "kind", kind, "error", err)
				}
				return
			}
			s.opts.Logger.Warn("cluster view: watch failed; retrying", "namespace", namespace, "kind", kind, "error", err)
		})
		n.informers[kind] = inf
	}
	s.ns[namespace] = n
	factory.Start(ctx.Done())
}

func (s *Scoped) stop(namespace string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n, ok := s.ns[namespace]; ok {
		n.cancel()
		delete(s.ns, namespace)
	}
}

// Subscribe has f called after any change of a watched object, in any namespace, from now until the returned
// function is called: for a reader of a Scoped it did not create (see Informers).
func (s *Scoped) Subscribe(f func()) (unsubscribe func()) {
	s.listenersMu.Lock()
	defer s.listenersMu.Unlock()
	id := s.nextID
	s.nextID++
	s.listeners[id] = f
	return func() {
		s.listenersMu.Lock()
		defer s.listenersMu.Unlock()
		delete(s.listeners, id)
	}
}

func (s *Scoped) changed() {
	s.listenersMu.Lock()
	fs := make([]func(), 0, len(s.listeners))
	for _, f := range s.listeners {
		fs = append(fs, f)
	}
	s.listenersMu.Unlock()
	for _, f := range fs {
		f()
	}
}

// Tracks reports whether kind is one of the scoped kinds.
func (s *Scoped) Tracks(kind string) bool {
	_, ok := s.opts.Kinds[kind]
	return ok
}

// Get returns the cached object; watched is false when the namespace is not watched (not protected, or its Role is
// missing and nothing has been listed), so the caller knows the cache cannot answer.
func (s *Scoped) Get(kind, namespace, name string) (obj any, exists, watched bool) {
	s.mu.Lock()
	n, ok := s.ns[namespace]
	s.mu.Unlock()
	if !ok {
		return nil, false, false
	}
	inf, ok := n.informers[kind]
	if !ok || !inf.HasSynced() {
		return nil, false, false
	}
	obj, exists, err := inf.GetIndexer().GetByKey(namespace + "/" + name)
	if err != nil {
		return nil, false, false
	}
	return obj, exists, true
}

// List returns every cached object of kind across the watched namespaces.
func (s *Scoped) List(kind string) []any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []any
	for _, n := range s.ns {
		if inf, ok := n.informers[kind]; ok {
			out = append(out, inf.GetStore().List()...)
		}
	}
	return out
}

// HasSynced reports whether every watched namespace has listed each kind once, not counting namespaces where
// vnfguard's Role is missing (see Forbidden).
func (s *Scoped) HasSynced() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.ns {
		if !n.synced() && !n.forbidden.Load() {
			return false
		}
	}
	return true
}

func (n *scopedNamespace) synced() bool {
	for _, inf := range n.informers {
		if !inf.HasSynced() {
			return false
		}
	}
	return true
}

// Namespaces lists the namespaces watched now.
func (s *Scoped) Namespaces() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.ns))
	for name := range s.ns {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Forbidden lists the protected namespaces where vnfguard was refused the scoped kinds and has not listed them
// since (a Role bound later clears it at the informer's next retry).
func (s *Scoped) Forbidden() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for name, n := range s.ns {
		if n.forbidden.Load() && !n.synced() {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func kindList(kinds map[string]schema.GroupVersionResource) string {
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	out := ""
	for i, k := range names {
		if i > 0 {
			out += ", "
		}
		out += k
	}
	return out
}
