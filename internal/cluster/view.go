package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
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
	// Secrets and ConfigMaps are watched as metadata only (labels and owners, never their data): detection needs
	// to tell which VNF instance a read Secret belongs to.
	"Secret":      {Version: "v1", Resource: "secrets"},
	"ConfigMap":   {Version: "v1", Resource: "configmaps"},
	"ReplicaSet":  {Group: "apps", Version: "v1", Resource: "replicasets"},
	"Deployment":  {Group: "apps", Version: "v1", Resource: "deployments"},
	"StatefulSet": {Group: "apps", Version: "v1", Resource: "statefulsets"},
	"DaemonSet":   {Group: "apps", Version: "v1", Resource: "daemonsets"},
	"Job":         {Group: "batch", Version: "v1", Resource: "jobs"},
	"CronJob":     {Group: "batch", Version: "v1", Resource: "cronjobs"},
}

var namespacesGVR = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

// DefaultLookupTimeout bounds a live GET after a cache miss: the webhook's own deadline is a few seconds.
const DefaultLookupTimeout = 2 * time.Second

// View implements vnf.Objects and policy.Namespaces over metadata informers with a live fallback.
type View struct {
	client        metadata.Interface
	factory       metadatainformer.SharedInformerFactory
	typed         typedClient // nil: the specKinds are served as metadata only
	typedFactory  informers.SharedInformerFactory
	informers     map[string]cache.SharedIndexInformer // by kind
	namespaces    cache.SharedIndexInformer
	logger        *slog.Logger
	lookupTimeout time.Duration
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
	// Live lookups happen on the webhook's request path; client-side throttling at the default 5 QPS would
	// queue them behind each other.
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
	typed, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster: client for %s: %w", cfg.Host, err)
	}
	return newView(ctx, client, typed, logger), nil
}

// newView starts the informers of a view over any metadata client (a fake one in tests).
func newView(ctx context.Context, client metadata.Interface, typed typedClient, logger *slog.Logger) *View {
	v := &View{
		client:        client,
		factory:       metadatainformer.NewSharedInformerFactory(client, 0),
		informers:     map[string]cache.SharedIndexInformer{},
		logger:        logger,
		lookupTimeout: DefaultLookupTimeout,
	}
	if typed != nil {
		v.typed, v.typedFactory = typed, informers.NewSharedInformerFactory(typed, 0)
	}
	for kind, gvr := range Kinds {
		if v.typed != nil && specKinds[kind] {
			v.informers[kind] = volumeInformer(v.typedFactory, kind)
			continue
		}
		v.informers[kind] = v.factory.ForResource(gvr).Informer()
	}
	v.namespaces = v.factory.ForResource(namespacesGVR).Informer()
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

// HasSynced reports whether every informer has filled its cache once.
func (v *View) HasSynced() bool {
	if !v.namespaces.HasSynced() {
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
	if v.typed != nil && specKinds[kind] {
		return v.liveVolume(ctx, kind, namespace, name)
	}
	return v.live(ctx, kind, Kinds[kind], namespace, name)
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

// live fetches the object's metadata from the API server, bounded by the lookup timeout.
func (v *View) live(ctx context.Context, kind string, gvr schema.GroupVersionResource, namespace, name string) (metav1.Object, error) {
	ctx, cancel := context.WithTimeout(ctx, v.lookupTimeout)
	defer cancel()
	var (
		m   *metav1.PartialObjectMetadata
		err error
	)
	if namespace == "" {
		m, err = v.client.Resource(gvr).Get(ctx, name, metav1.GetOptions{})
	} else {
		m, err = v.client.Resource(gvr).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	}
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("%s %s: %w", kind, qualified(namespace, name), vnf.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("cluster view: get %s %s from the API server after a cache miss: %w", kind, qualified(namespace, name), err)
	}
	v.logger.Debug("cluster view: cache miss served by the API server", "kind", kind, "namespace", namespace, "name", name)
	return m, nil
}

func qualified(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}
