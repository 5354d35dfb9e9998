package reconcile

import (
	"context"
	"log/slog"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
	"k8s.io/client-go/metadata/metadatainformer"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"

	"github.com/vnfguard/vnfguard/internal/cluster"
	"github.com/vnfguard/vnfguard/internal/config"
)

func partial(apiVersion, kind, namespace, name string) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: apiVersion, Kind: kind},
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
}

// watches counts the watches each fake client was asked for, by resource.
func watches(fakes ...*clienttesting.Fake) map[string]int {
	n := map[string]int{}
	for _, f := range fakes {
		for _, a := range f.Actions() {
			if a.GetVerb() == "watch" {
				n[a.GetResource().Resource]++
			}
		}
	}
	return n
}

// TestSharedInformersAreNotWatchedTwice: given the cluster view's informers (as `vnfguard serve` gives them), the
// reconciler watches only what they lack (Services) and reads the rest from them — every resource is watched once
// in the process — including the PersistentVolumes' binding fields and the protected namespaces' Secrets; it is told
// of their changes during its term, and no more once the term ends.
func TestSharedInformersAreNotWatchedTwice(t *testing.T) {
	const ns = "vnf-core"
	cfg := config.Default()
	cfg.ProtectedNamespaces.Names = []string{ns}
	scheme := metadatafake.NewTestScheme()
	if err := metav1.AddMetaToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The view's informers: metadata, a typed PersistentVolume informer, and the protected namespaces' data.
	viewMeta := metadatafake.NewSimpleMetadataClient(scheme, partial("v1", "Namespace", "", ns),
		partial("v1", "Pod", ns, "amf-0"), partial("v1", "Pod", ns, "amf-1"), partial("v1", "Secret", ns, "amf-keys"))
	viewTyped := kubefake.NewClientset(&corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "amf-pv"},
		Spec:   corev1.PersistentVolumeSpec{PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain, ClaimRef: &corev1.ObjectReference{Namespace: ns, Name: "amf-data"}},
		Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeReleased}})
	mf := metadatainformer.NewSharedInformerFactory(viewMeta, 0)
	tf := informers.NewSharedInformerFactory(viewTyped, 0)
	shared := cluster.Informers{ByKind: map[string]cache.SharedIndexInformer{}, Namespaces: mf.ForResource(namespacesGVR).Informer()}
	for kind, gvr := range cluster.Kinds {
		if kind == KindPersistentVolume {
			shared.ByKind[kind] = tf.Core().V1().PersistentVolumes().Informer()
			continue
		}
		shared.ByKind[kind] = mf.ForResource(gvr).Informer()
	}
	shared.Data = cluster.NewScoped(ctx, viewMeta, shared.Namespaces, cluster.ScopedOptions{Protected: cfg.IsProtected, Named: cfg.ProtectedNamespaces.Names})
	mf.Start(ctx.Done())
	tf.Start(ctx.Done())

	// The reconciler's own clients.
	ownMeta := metadatafake.NewSimpleMetadataClient(scheme, partial("v1", "Service", ns, "amf"))
	// Lists of PersistentVolumes would go here if the reconciler did not take the view's.
	ownDyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{persistentVolumes: "PersistentVolumeList"})
	r := &Reconciler{cfg: cfg, opts: DefaultOptions(), logger: slog.New(slog.DiscardHandler), meta: ownMeta, dyn: ownDyn,
		disc: kubefake.NewClientset().Discovery(), changed: make(chan struct{}, 1), Shared: &shared}
	term, endTerm := context.WithCancel(ctx)
	r.start(term)
	if err := r.waitForSync(term); err != nil {
		t.Fatal(err)
	}

	all := watches(&viewMeta.Fake, &viewTyped.Fake, &ownMeta.Fake, &ownDyn.Fake)
	for resource, n := range all {
		if n != 1 {
			t.Errorf("%s watched %d times in the process; want once", resource, n)
		}
	}
	for _, resource := range []string{"pods", "namespaces", "persistentvolumes", "secrets", "services"} {
		if all[resource] != 1 {
			t.Errorf("%s watched %d times; want once", resource, all[resource])
		}
	}
	if own := watches(&ownMeta.Fake, &ownDyn.Fake); len(own) != 1 || own["services"] != 1 {
		t.Errorf("the reconciler's own watches: %v; want Services only", own)
	}

	state := r.State()
	if pv, ok := state.Get(KindPersistentVolume, "", "amf-pv"); !ok || pv.ClaimNamespace != ns || pv.ClaimName != "amf-data" || pv.ReclaimPolicy != "Retain" || pv.Phase != "Released" {
		t.Errorf("PersistentVolume amf-pv from the shared informer = %+v, %v; want its claim, reclaim policy and phase", pv, ok)
	}
	for _, o := range []struct{ kind, name string }{{KindPod, "amf-0"}, {KindSecret, "amf-keys"}, {KindService, "amf"}} {
		if _, ok := state.Get(o.kind, ns, o.name); !ok {
			t.Errorf("%s %s/%s is not in the state", o.kind, ns, o.name)
		}
	}

	// A change in a shared informer pokes the reconciler during its term...
	poked := func(wait time.Duration) bool {
		select {
		case <-r.changed:
			return true
		case <-time.After(wait):
			return false
		}
	}
	for poked(50 * time.Millisecond) { // the initial adds
	}
	if err := viewMeta.Resource(podsGVR).Namespace(ns).Delete(ctx, "amf-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if !poked(5 * time.Second) {
		t.Fatal("a pod deleted in the shared informer did not reach the reconciler")
	}
	// ...and not after: its handlers are gone, the shared informers keep running for the view.
	endTerm()
	time.Sleep(100 * time.Millisecond)
	for poked(50 * time.Millisecond) {
	}
	if err := viewMeta.Resource(podsGVR).Namespace(ns).Delete(ctx, "amf-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if poked(300 * time.Millisecond) {
		t.Error("a pod deleted after the term ended still reached the reconciler")
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, exists, _ := shared.ByKind[KindPod].GetStore().GetByKey(ns + "/amf-1"); !exists {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the shared pod informer stopped with the reconciler's term")
		}
	}
}

var podsGVR = metaKinds[KindPod]
