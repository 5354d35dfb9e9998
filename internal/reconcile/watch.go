package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/vnfguard/vnfguard/internal/cluster"
	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// metaKinds are watched as metadata only: labels, owners and timestamps are all reconciliation needs of them.
// Secrets and ConfigMaps (cluster.DataKinds) are watched the same way, but only in the protected namespaces, where
// vnfguard's Role for them is bound: their data never enters vnfguard's memory, and no cluster-wide grant is needed.
var metaKinds = map[string]schema.GroupVersionResource{
	KindPod:                   {Version: "v1", Resource: "pods"},
	KindPersistentVolumeClaim: {Version: "v1", Resource: "persistentvolumeclaims"},
	KindService:               {Version: "v1", Resource: "services"},
	KindReplicaSet:            {Group: "apps", Version: "v1", Resource: "replicasets"},
	KindReplicationController: {Version: "v1", Resource: "replicationcontrollers"},
	KindDeployment:            {Group: "apps", Version: "v1", Resource: "deployments"},
	KindStatefulSet:           {Group: "apps", Version: "v1", Resource: "statefulsets"},
	KindDaemonSet:             {Group: "apps", Version: "v1", Resource: "daemonsets"},
	KindJob:                   {Group: "batch", Version: "v1", Resource: "jobs"},
	KindCronJob:               {Group: "batch", Version: "v1", Resource: "cronjobs"},
}

var (
	namespacesGVR      = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	persistentVolumes  = schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumes"}
	volumeSnapshotsGVR = schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshots"}
)

// Timing of the live loop.
const (
	// DefaultDebounce gathers a burst of changes (a Deployment's rollout, a namespace being emptied) into one pass.
	DefaultDebounce = 200 * time.Millisecond
	// inventoryPoll is how often the inventory snapshot is looked at; Snapshot() is an atomic load.
	inventoryPoll = 250 * time.Millisecond
	// periodic passes let deletion grace periods run out and ages move on when nothing changes.
	periodic = 15 * time.Second
	// minInterval spaces passes caused by cluster changes: a pass over a large cluster costs a fraction of a
	// second of CPU, and a cluster that never stops changing must not keep a core busy with them. Inventory changes
	// are not held back by it.
	minInterval = time.Second
)

// Reconciler keeps the cluster's objects in informer caches and reconciles them with the inventory whenever
// either changes.
type Reconciler struct {
	cfg     *config.Config
	inv     vnf.Inventory
	opts    Options
	report  func(opened, resolved []finding.Finding)
	logger  *slog.Logger
	tracker *Tracker
	// Debounce is the quiet time after a change before a pass; set before Run.
	Debounce time.Duration
	// Shared, when set before Run, are informers this process already runs (the cluster view's): the reconciler
	// reads those instead of listing and watching the same kinds again, and starts its own only for the others
	// (Services, VolumeSnapshots). Its event handlers on them are removed when Run's context ends.
	Shared *cluster.Informers
	// LabelVolumes, when set before Run, makes each pass put the instance label on the PersistentVolumes bound to
	// an instance's claim that lack it (VolumeLabels); it needs patch on persistentvolumes.
	LabelVolumes bool
	// LifecycleParams, when set before Run, makes each pass write the VNF lifecycle parameters of the API server's
	// own policies (LifecycleParams, internal/apipolicy) into every protected namespace; it needs get, create and patch
	// on vnflifecycles.vnfguard.io (install.AdmissionPoliciesRole).
	LifecycleParams bool
	params          paramsWriter

	meta       metadata.Interface
	dyn        dynamic.Interface
	disc       discovery.DiscoveryInterface
	informers  map[string]cache.SharedIndexInformer // by kind, PersistentVolume and VolumeSnapshot included
	namespaces cache.SharedIndexInformer
	data       *cluster.Scoped // Secrets and ConfigMaps of the protected namespaces
	changed    chan struct{}

	mu       sync.Mutex
	open     []finding.Finding
	lastPass time.Time
}

// NewReconciler prepares a reconciler; Run starts it. open are the reconciliation findings open before a restart
// (see NewTracker); report receives what each pass opens and resolves, from Run's goroutine. A nil logger discards
// logs.
func NewReconciler(restConfig *rest.Config, cfg *config.Config, inv vnf.Inventory, opts Options, open []finding.Finding,
	report func(opened, resolved []finding.Finding), logger *slog.Logger) (*Reconciler, error) {
	if restConfig == nil || cfg == nil || inv == nil {
		return nil, errors.New("reconcile: a client configuration, a vnfguard configuration and an inventory are required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if report == nil {
		report = func(_, _ []finding.Finding) {}
	}
	if opts.InstanceLabel == "" {
		opts.InstanceLabel = cfg.InstanceLabel
	}
	if opts.Claims == nil {
		opts.Claims = NewClaims()
	}
	opts.Claims.RememberFindings(open)
	restConfig = rest.CopyConfig(restConfig)
	if restConfig.UserAgent == "" {
		restConfig.UserAgent = "vnfguard-reconcile"
	}
	meta, err := metadata.NewForConfig(restConfig)
	if err != nil {
		return nil, fmt.Errorf("reconcile: metadata client for %s: %w", restConfig.Host, err)
	}
	dyn, err := dynamic.NewForConfig(restConfig)
	if err != nil {
		return nil, fmt.Errorf("reconcile: dynamic client for %s: %w", restConfig.Host, err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(restConfig)
	if err != nil {
		return nil, fmt.Errorf("reconcile: discovery client for %s: %w", restConfig.Host, err)
	}
	return &Reconciler{
		cfg: cfg, inv: inv, opts: opts, report: report, logger: logger,
		tracker: NewTracker(opts.For, open), Debounce: DefaultDebounce,
		meta: meta, dyn: dyn, disc: disc, changed: make(chan struct{}, 1),
	}, nil
}

// start creates the informers that are not shared and starts them; they stop when ctx ends. It adds its event
// handlers to every informer it reads, shared ones included, until ctx ends.
func (r *Reconciler) start(ctx context.Context) {
	var shared cluster.Informers
	if r.Shared != nil {
		shared = *r.Shared
	}
	r.informers = map[string]cache.SharedIndexInformer{}
	own := map[string]cache.SharedIndexInformer{}
	mf := metadatainformer.NewSharedInformerFactory(r.meta, 0)
	for kind, gvr := range metaKinds {
		if inf, ok := shared.ByKind[kind]; ok {
			r.informers[kind] = inf
			continue
		}
		own[kind] = mf.ForResource(gvr).Informer()
	}
	if r.namespaces = shared.Namespaces; r.namespaces == nil {
		r.namespaces = mf.ForResource(namespacesGVR).Informer()
		own["Namespace"] = r.namespaces
	}
	df := dynamicinformer.NewDynamicSharedInformerFactory(r.dyn, 0)
	if inf, ok := shared.ByKind[KindPersistentVolume]; ok {
		r.informers[KindPersistentVolume] = inf
	} else {
		// PVs need their spec (reclaim policy, claim): metadata is not enough.
		own[KindPersistentVolume] = df.ForResource(persistentVolumes).Informer()
	}
	if r.hasVolumeSnapshots() {
		own[KindVolumeSnapshot] = df.ForResource(volumeSnapshotsGVR).Informer()
	}
	for kind, inf := range own {
		if kind != "Namespace" {
			r.informers[kind] = inf
		}
		// managedFields are most of an object's metadata and reconciliation never reads them.
		_ = inf.SetTransform(cluster.StripManagedFields)
		_ = inf.SetWatchErrorHandler(func(_ *cache.Reflector, err error) {
			r.logger.Warn("reconcile: watch failed; retrying", "kind", kind, "error", err)
		})
	}
	notify := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { r.poke() },
		UpdateFunc: func(any, any) { r.poke() },
		DeleteFunc: func(any) { r.poke() },
	}
	for kind, inf := range r.withNamespaces() {
		reg, err := inf.AddEventHandler(notify)
		if err != nil {
			r.logger.Warn("reconcile: cannot watch changes; only periodic passes will see them", "kind", kind, "error", err)
			continue
		}
		context.AfterFunc(ctx, func() { _ = inf.RemoveEventHandler(reg) })
	}
	if shared.Data != nil {
		r.data = shared.Data
		context.AfterFunc(ctx, r.data.Subscribe(r.poke))
	} else {
		r.data = cluster.NewScoped(ctx, r.meta, r.namespaces, cluster.ScopedOptions{
			Protected: r.cfg.IsProtected, Named: r.cfg.ProtectedNamespaces.Names,
			Transform: cluster.StripManagedFields, OnChange: r.poke, Logger: r.logger,
		})
	}
	mf.Start(ctx.Done())
	df.Start(ctx.Done())
}

func (r *Reconciler) withNamespaces() map[string]cache.SharedIndexInformer {
	all := make(map[string]cache.SharedIndexInformer, len(r.informers)+1)
	for k, v := range r.informers {
		all[k] = v
	}
	all["Namespace"] = r.namespaces
	return all
}

// hasVolumeSnapshots asks discovery whether the VolumeSnapshot CRD is installed; it is looked at once, at start.
func (r *Reconciler) hasVolumeSnapshots() bool {
	list, err := r.disc.ServerResourcesForGroupVersion(volumeSnapshotsGVR.GroupVersion().String())
	if err != nil {
		if !apierrors.IsNotFound(err) {
			r.logger.Warn("reconcile: cannot tell whether VolumeSnapshots exist; not watching them", "error", err)
		}
		return false
	}
	for _, res := range list.APIResources {
		if res.Name == volumeSnapshotsGVR.Resource {
			return true
		}
	}
	return false
}

func (r *Reconciler) poke() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// waitForSync waits until every informer has listed once; the error names the kinds not synced.
func (r *Reconciler) waitForSync(ctx context.Context) error {
	all := r.withNamespaces()
	synced := make([]cache.InformerSynced, 0, len(all))
	for _, inf := range all {
		synced = append(synced, inf.HasSynced)
	}
	synced = append(synced, r.data.HasSynced)
	if cache.WaitForCacheSync(ctx.Done(), synced...) {
		return nil
	}
	var missing []string
	if !r.data.HasSynced() {
		missing = append(missing, "Secret/ConfigMap")
	}
	for kind, inf := range all {
		if !inf.HasSynced() {
			missing = append(missing, kind)
		}
	}
	sort.Strings(missing)
	return fmt.Errorf("reconcile: caches of %s not synced: %w", strings.Join(missing, ", "), ctx.Err())
}

// State builds a State from the informer caches: the protected namespaces per config.IsProtected with each
// namespace's labels, and the objects in them.
func (r *Reconciler) State() *State {
	var protected []string
	for _, obj := range r.namespaces.GetStore().List() {
		if m, ok := obj.(metav1.Object); ok && r.cfg.IsProtected(m.GetName(), m.GetLabels()) {
			protected = append(protected, m.GetName())
		}
	}
	var objs []Object
	add := func(kind string, list []any) {
		for _, obj := range list {
			switch o := obj.(type) {
			case *unstructured.Unstructured:
				rec := FromUnstructured(o)
				rec.Kind = kind
				objs = append(objs, rec)
			case *corev1.PersistentVolume:
				objs = append(objs, FromPersistentVolume(o))
			case metav1.Object:
				objs = append(objs, FromMeta(kind, o))
			}
		}
	}
	for kind, inf := range r.informers {
		add(kind, inf.GetStore().List())
	}
	for kind := range cluster.DataKinds {
		add(kind, r.data.List(kind))
	}
	return NewState(protected, objs)
}

// history is the inventory's Historian, when it keeps one.
func (r *Reconciler) history() vnf.Historian {
	h, _ := r.inv.(vnf.Historian)
	return h
}

// pass evaluates once and reports what opened and resolved.
func (r *Reconciler) pass(ctx context.Context, now time.Time) {
	snap := r.inv.Snapshot()
	if snap == nil || !snap.Loaded {
		r.logger.Debug("reconcile: the inventory has not loaded; nothing is judged")
		return
	}
	state := r.State()
	if r.opts.Claims.Learn(snap) {
		r.opts.Claims.Forget(snap, func(namespace, name string) bool {
			_, pod := state.Get(KindPod, namespace, name)
			_, pvc := state.Get(KindPersistentVolumeClaim, namespace, name)
			return pod || pvc
		})
	}
	if r.LabelVolumes {
		r.labelVolumes(ctx, VolumeLabels(snap, state, r.opts, now))
	}
	if r.LifecycleParams {
		r.writeParams(ctx, LifecycleParams(snap, state, r.opts, now))
	}
	current := Evaluate(snap, r.history(), state, r.opts, now)
	opened, resolved := r.tracker.Update(current, now)
	r.mu.Lock()
	r.open, r.lastPass = r.tracker.Open(), now
	r.mu.Unlock()
	if len(opened) > 0 || len(resolved) > 0 {
		r.logger.Info("reconcile: pass", "conditions", len(current), "opened", len(opened), "resolved", len(resolved), "inventory", snap.Version)
		r.report(opened, resolved)
	}
}

// Open returns the findings open after the last pass.
func (r *Reconciler) Open() []finding.Finding {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]finding.Finding(nil), r.open...)
}

// LastPass returns when the last pass ran (zero before the first).
func (r *Reconciler) LastPass() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastPass
}

// Run starts the informers, waits for them to sync (so that the findings open before a restart are not resolved
// against an empty cache), and reconciles after changes (debounced), when the inventory's snapshot changes, when
// a held condition is due and periodically, until ctx ends. It returns nil when ctx ends after a sync, and an
// error when the caches never synced.
func (r *Reconciler) Run(ctx context.Context) error {
	r.start(ctx)
	if err := r.waitForSync(ctx); err != nil {
		return err
	}
	var (
		lastSnap *vnf.Snapshot
		lastPass time.Time
	)
	poll := time.NewTicker(inventoryPoll)
	defer poll.Stop()
	debounce := time.NewTimer(0) // the first pass, at once
	defer debounce.Stop()
	due := time.NewTimer(periodic)
	defer due.Stop()
	scheduled := true
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.changed:
			// The first change of a burst schedules the pass; later ones join it rather than postponing it, or
			// a steady stream of pod status updates would hold passes off for ever.
			if !scheduled {
				debounce.Reset(max(r.Debounce, time.Until(lastPass.Add(minInterval))))
				scheduled = true
			}
			continue
		case <-poll.C:
			if snap := r.inv.Snapshot(); snap != lastSnap && lastSnap != nil {
				lastSnap = snap
				debounce.Reset(0) // an LCM operation completed: judge at once
				scheduled = true
			}
			continue
		case <-debounce.C:
			scheduled = false
		case <-due.C:
		}
		lastSnap = r.inv.Snapshot()
		lastPass = time.Now()
		r.pass(ctx, lastPass)
		next := periodic
		if at, ok := r.tracker.NextDue(); ok {
			// A little after the hold ends, so that the pass sees it as held.
			if d := time.Until(at) + 10*time.Millisecond; d < next {
				next = max(d, 0)
			}
		}
		due.Reset(next)
	}
}

// Once lists the cluster's objects and the inventory and evaluates them once, without any For delay: for
// `vnfguard reconcile --once`. The inventory must have loaded.
func Once(ctx context.Context, restConfig *rest.Config, cfg *config.Config, inv vnf.Inventory, opts Options) ([]finding.Finding, error) {
	snap := inv.Snapshot()
	if snap == nil || !snap.Loaded {
		return nil, errors.New("reconcile: the inventory has not loaded: nothing can be reconciled against it")
	}
	r, err := NewReconciler(restConfig, cfg, inv, opts, nil, nil, nil)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the informers
	r.start(ctx)
	if err := r.waitForSync(ctx); err != nil {
		return nil, err
	}
	return Evaluate(inv.Snapshot(), r.history(), r.State(), r.opts, time.Now()), nil
}
