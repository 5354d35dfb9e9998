package reconcile_test

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/finding"
	"github.com/vnfguard/vnfguard/internal/lab"
	"github.com/vnfguard/vnfguard/internal/reconcile"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// swappable is an inventory whose snapshot the test replaces, as a source does after an LCM notification.
type swappable struct{ p atomic.Pointer[vnf.Snapshot] }

func (s *swappable) Snapshot() *vnf.Snapshot { return s.p.Load() }

// collector keeps what the reconciler reported.
type collector struct {
	mu     sync.Mutex
	open   map[string]finding.Finding
	events []string
}

func (c *collector) report(opened, resolved []finding.Finding) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range opened {
		c.open[f.ID] = f
		c.events = append(c.events, "opened "+line(f))
	}
	for _, f := range resolved {
		if f.Action != reconcile.ActionResolved {
			panic("a resolved finding without Action resolved")
		}
		delete(c.open, f.ID)
		c.events = append(c.events, "resolved "+line(f))
	}
}

func (c *collector) lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, f := range c.open {
		out = append(out, line(f))
	}
	slices.Sort(out)
	return out
}

func line(f finding.Finding) string {
	return strings.TrimSpace(f.Rule + " " + f.Technique + " " + f.Object.String() + " " + f.VNFInstance)
}

func ptr[T any](v T) *T { return &v }

var volumeSnapshots = schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshots"}

// installVolumeSnapshotCRD creates the VolumeSnapshot CRD and waits until it is served.
func installVolumeSnapshotCRD(ctx context.Context, dyn dynamic.Interface) error {
	crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		// *.k8s.io groups need an API approval; the external-snapshotter's CRD carries this one.
		"metadata": map[string]any{"name": "volumesnapshots.snapshot.storage.k8s.io",
			"annotations": map[string]any{"api-approved.kubernetes.io": "https://github.com/kubernetes-csi/external-snapshotter/pull/814"}},
		"spec": map[string]any{
			"group": "snapshot.storage.k8s.io", "scope": "Namespaced",
			"names": map[string]any{"kind": "VolumeSnapshot", "listKind": "VolumeSnapshotList", "plural": "volumesnapshots", "singular": "volumesnapshot"},
			"versions": []any{map[string]any{
				"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
			}},
		},
	}}
	if _, err := dyn.Resource(crds).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		return err
	}
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := dyn.Resource(volumeSnapshots).Namespace("default").List(ctx, metav1.ListOptions{})
		return err == nil, nil
	})
}

// TestReconcileAgainstRealControlPlane creates a rogue pod, a zombie pod of a STOPPED instance, a residual PVC,
// Secret, Retain PV and VolumeSnapshot (its CRD installed first) of a terminated one, and leaves a declared pod missing; the reconciler (and Once) report
// them. Then the cluster and the inventory are put right — the rogue and the residual objects deleted (the PVC and
// the PV stay terminating behind their protection finalizers, as without a controller manager they would for
// ever: within the deletion grace they count as gone), the STOPPED instance started, the missing pod created —
// and every finding resolves.
func TestReconcileAgainstRealControlPlane(t *testing.T) {
	dir := lab.DefaultBinDir()
	if err := lab.CheckBinaries(dir, true); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// The API server alone: bare pods stay Pending and are deleted at once, which is all this test needs.
	cp, err := lab.Start(ctx, lab.Options{BinDir: dir, WorkDir: t.TempDir(), Logger: logger, APIServerOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cp.Stop)
	const ns = "vnf-reconcile"
	for name, labels := range map[string]map[string]string{ns: {"vnfguard.io/protected": "true"}, "unprotected": nil} {
		if err := cp.EnsureNamespace(ctx, name, labels); err != nil {
			t.Fatal(err)
		}
	}
	admin, restConfig := cp.ClientFor(lab.Admin)

	started := func(id, product string, podNames ...string) *vnf.Instance {
		inst := &vnf.Instance{ID: id, VnfdID: "vnfd-" + product, VnfProductName: product, InstantiationState: vnf.Instantiated,
			InstantiatedVnfInfo: &vnf.InstantiatedVnfInfo{VnfState: vnf.Started, Metadata: map[string]any{"namespace": ns}}}
		for _, p := range podNames {
			inst.InstantiatedVnfInfo.VnfcResourceInfo = append(inst.InstantiatedVnfInfo.VnfcResourceInfo,
				vnf.VnfcResourceInfo{ID: p, ComputeResource: vnf.ResourceHandle{ResourceID: p, VimLevelResourceType: "Pod"}})
		}
		return inst
	}
	upf := started("upf-1", "UPF", "upf-0", "upf-1")
	smf := started("smf-1", "SMF", "smf-0")
	smf.InstantiatedVnfInfo.VnfState = vnf.Stopped
	terminated := time.Now().Add(-time.Hour)
	amf := &vnf.Instance{ID: "amf-1", VnfdID: "vnfd-AMF", VnfProductName: "AMF", InstantiationState: vnf.NotInstantiated,
		Metadata: map[string]any{"namespace": ns}, TerminatedAt: &terminated}
	inv := &swappable{}
	inv.p.Store(vnf.NewSnapshot("test", "v1", time.Now(), []*vnf.Instance{upf, smf, amf}))

	podOf := func(name, instanceID string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: lab.ImageRef("5gc/upf")}}}}
		if instanceID != "" {
			p.Labels = map[string]string{vnf.DefaultInstanceLabel: instanceID}
		}
		return p
	}
	amfLabel := map[string]string{vnf.DefaultInstanceLabel: "amf-1"}
	for _, p := range []*corev1.Pod{podOf("upf-0", "upf-1"), podOf("smf-0", "smf-1"), podOf("peirates", "")} {
		if _, err := admin.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Outside the protected namespaces nothing is judged.
	outside := podOf("anything", "")
	outside.Namespace = "unprotected"
	if _, err := admin.CoreV1().Pods("unprotected").Create(ctx, outside, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "amf-data", Namespace: ns, Labels: amfLabel},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
	if _, err := admin.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "amf-keys", Namespace: ns, Labels: amfLabel}, StringData: map[string]string{"k": "v"}}
	if _, err := admin.CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "amf-pv"},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/amf", Type: ptr(corev1.HostPathDirectoryOrCreate)}},
			ClaimRef:                      &corev1.ObjectReference{Namespace: ns, Name: "amf-data"},
		}}
	if _, err := admin.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// The VolumeSnapshot CRD, as the external-snapshotter installs it (schema reduced to what the test needs), and a
	// snapshot of the terminated instance's PVC.
	dyn := dynamic.NewForConfigOrDie(restConfig)
	if err := installVolumeSnapshotCRD(ctx, dyn); err != nil {
		t.Fatal(err)
	}
	vs := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
		"metadata": map[string]any{"name": "amf-backup", "namespace": ns},
		"spec":     map[string]any{"source": map[string]any{"persistentVolumeClaimName": "amf-data"}},
	}}
	if _, err := dyn.Resource(volumeSnapshots).Namespace(ns).Create(ctx, vs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	want := []string{
		"reconcile-drift FGT5013 Pod vnf-reconcile/upf-1 upf-1",
		"reconcile-residual FGT1609.501 PersistentVolume amf-pv amf-1",
		"reconcile-residual FGT1609.501 PersistentVolumeClaim vnf-reconcile/amf-data amf-1",
		"reconcile-residual FGT1609.501 Secret vnf-reconcile/amf-keys amf-1",
		"reconcile-residual FGT1609.501 VolumeSnapshot vnf-reconcile/amf-backup amf-1",
		"reconcile-rogue FGT5013 Pod vnf-reconcile/peirates",
		"reconcile-zombie FGT1609.501 Pod vnf-reconcile/smf-0 smf-1",
	}
	cfg := config.Default()

	// One shot, as `vnfguard reconcile --once` runs it.
	once, err := reconcile.Once(ctx, restConfig, cfg, inv, reconcile.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var onceLines []string
	for _, f := range once {
		onceLines = append(onceLines, line(f))
	}
	slices.Sort(onceLines)
	if !slices.Equal(onceLines, want) {
		t.Fatalf("Once:\n  %s\nwant:\n  %s", strings.Join(onceLines, "\n  "), strings.Join(want, "\n  "))
	}

	// Continuous, with For 0 so that the test need not wait.
	opts := reconcile.DefaultOptions()
	opts.For = 0
	c := &collector{open: map[string]finding.Finding{}}
	r, err := reconcile.NewReconciler(restConfig, cfg, inv, opts, nil, c.report, logger)
	if err != nil {
		t.Fatal(err)
	}
	r.Debounce = 50 * time.Millisecond
	stopR := runInBackground(t, ctx, r)
	waitFor := func(what string, want []string) {
		t.Helper()
		err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
			return slices.Equal(c.lines(), want), nil
		})
		if err != nil {
			t.Fatalf("%s: open findings\n  %s\nwant\n  %s\nevents: %v", what, strings.Join(c.lines(), "\n  "), strings.Join(want, "\n  "), c.events)
		}
	}
	waitFor("the initial pass", want)
	if open := r.Open(); len(open) != len(want) || r.LastPass().IsZero() {
		t.Errorf("Open() has %d findings, LastPass %v", len(open), r.LastPass())
	}

	// Put things right.
	gone := metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}
	if err := admin.CoreV1().Pods(ns).Delete(ctx, "peirates", gone); err != nil {
		t.Fatal(err)
	}
	if err := admin.CoreV1().Secrets(ns).Delete(ctx, "amf-keys", gone); err != nil {
		t.Fatal(err)
	}
	if err := admin.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, "amf-data", gone); err != nil {
		t.Fatal(err)
	}
	if err := admin.CoreV1().PersistentVolumes().Delete(ctx, "amf-pv", gone); err != nil {
		t.Fatal(err)
	}
	if err := dyn.Resource(volumeSnapshots).Namespace(ns).Delete(ctx, "amf-backup", gone); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CoreV1().Pods(ns).Create(ctx, podOf("upf-1", "upf-1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor("after the clean-up", want[6:])
	// Without a controller manager nobody removes the protection finalizer: the PVC is still there, terminating,
	// and resolved because it is within the deletion grace.
	if cur, err := admin.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "amf-data", metav1.GetOptions{}); err != nil || cur.DeletionTimestamp == nil {
		t.Errorf("want the PVC terminating behind its finalizer; got %v (deletionTimestamp set: %v)", err, err == nil && cur.DeletionTimestamp != nil)
	}
	// The VNFM starts the SMF again: its pod is no zombie any more, through the inventory alone.
	restarted := started("smf-1", "SMF", "smf-0")
	inv.p.Store(vnf.NewSnapshot("test", "v2", time.Now(), []*vnf.Instance{upf, restarted, amf}))
	waitFor("after START", nil)
	c.mu.Lock()
	if len(c.events) != 2*len(want) {
		t.Errorf("want each finding opened once and resolved once, got %v", c.events)
	}
	c.mu.Unlock()

	// A restart: a rogue pod appears and is reported, vnfguard stops, and starts again with the findings open
	// before (the lead loads them from the store) plus one whose pod went away meanwhile. The first pass, after
	// the caches synced, resolves the stale one and does not report the one that still holds again.
	if _, err := admin.CoreV1().Pods(ns).Create(ctx, podOf("late", ""), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	lateLine := "reconcile-rogue FGT5013 Pod vnf-reconcile/late"
	waitFor("the late rogue pod", []string{lateLine})
	stopR()
	open := r.Open()
	stale := open[0]
	stale.Object.Name = "gone-while-down"
	stale.ID = finding.Key(stale.Rule, stale.Object, stale.VNFInstance)
	c2 := &collector{open: map[string]finding.Finding{}}
	r2, err := reconcile.NewReconciler(restConfig, cfg, inv, opts, append(open, stale), c2.report, logger)
	if err != nil {
		t.Fatal(err)
	}
	runInBackground(t, ctx, r2)
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		return !r2.LastPass().IsZero(), nil
	}); err != nil {
		t.Fatal("the restarted reconciler never ran a pass")
	}
	c2.mu.Lock()
	defer c2.mu.Unlock()
	if want := []string{"resolved reconcile-rogue FGT5013 Pod vnf-reconcile/gone-while-down"}; !slices.Equal(c2.events, want) {
		t.Errorf("after the restart: events %v, want %v", c2.events, want)
	}
	if got := r2.Open(); len(got) != 1 || line(got[0]) != lateLine {
		t.Errorf("after the restart open: %v, want the late pod only", got)
	}
}

// runInBackground runs r until the returned function (or the test's end) stops it, and checks Run's error.
func runInBackground(t *testing.T, ctx context.Context, r *reconcile.Reconciler) (stop func()) {
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(runCtx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}
