package cluster_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/vnfguard/vnfguard/internal/cluster"
	"github.com/vnfguard/vnfguard/internal/lab"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

// TestViewAgainstRealControlPlane walks a real owner chain — a pod the ReplicaSet controller created, its
// ReplicaSet, the labelled Deployment — through the view, and checks that an object created a moment ago is found
// (cache or live fallback) and that deleted and absent objects are not found.
func TestViewAgainstRealControlPlane(t *testing.T) {
	ctx, cp := lab.StartForTest(t, 3*time.Minute)
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	const ns = "vnf-view"
	if err := cp.EnsureNamespace(ctx, ns, map[string]string{"vnfguard.io/protected": "true"}); err != nil {
		t.Fatal(err)
	}
	admin, cfg := cp.ClientFor(lab.Admin)
	view, err := cluster.New(ctx, cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := view.WaitForSync(ctx); err != nil {
		t.Fatal(err)
	}
	if !view.HasSynced() {
		t.Fatal("HasSynced is false after WaitForSync")
	}

	labels, err := view.Labels(ctx, ns)
	if err != nil || labels["vnfguard.io/protected"] != "true" {
		t.Fatalf("Labels(%s) = %v, %v; want the protected label", ns, labels, err)
	}

	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "upf", Namespace: ns, Labels: map[string]string{vnf.DefaultInstanceLabel: "7f3c"}},
		Spec: appsv1.DeploymentSpec{
			Replicas: func() *int32 { n := int32(1); return &n }(),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "upf"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "upf"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "upf", Image: lab.ImageRef("5gc/upf")}}},
			},
		},
	}
	if _, err := admin.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Right after the create: found, from the cache or through the live fallback.
	if obj, err := view.Get(ctx, "Deployment", ns, "upf"); err != nil || obj.GetLabels()[vnf.DefaultInstanceLabel] != "7f3c" {
		t.Fatalf("Get(Deployment) right after create = %v, %v", obj, err)
	}

	var pod corev1.Pod
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		pods, err := admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=upf"})
		if err != nil || len(pods.Items) == 0 {
			return false, nil
		}
		pod = pods.Items[0]
		return true, nil
	})
	if err != nil {
		t.Fatalf("the Deployment's pod never appeared: %v", err)
	}

	// Walk the chain the way the resolver does.
	resolver := vnf.Resolver{LabelKey: vnf.DefaultInstanceLabel, Objects: view}
	podMeta, err := view.Get(ctx, "Pod", ns, pod.Name)
	if err != nil {
		t.Fatalf("Get(Pod %s): %v", pod.Name, err)
	}
	snap := vnf.NewSnapshot("test", "1", time.Now(), nil)
	b, err := resolver.Resolve(ctx, snap, "Pod", podMeta)
	if err != nil {
		t.Fatalf("Resolve(pod %s): %v", pod.Name, err)
	}
	if b.InstanceID != "7f3c" || b.HolderKind != "Deployment" || b.HolderName != "upf" {
		t.Errorf("pod %s resolves to %+v; want instance 7f3c through Deployment upf", pod.Name, b)
	}

	for _, tc := range []struct{ kind, name string }{{"ReplicaSet", "absent"}, {"StatefulSet", "upf"}, {"PersistentVolumeClaim", "data"}} {
		if _, err := view.Get(ctx, tc.kind, ns, tc.name); !errors.Is(err, vnf.ErrNotFound) {
			t.Errorf("Get(%s %s) = %v; want vnf.ErrNotFound", tc.kind, tc.name, err)
		}
	}
	if _, err := view.Labels(ctx, "no-such-namespace"); !errors.Is(err, vnf.ErrNotFound) {
		t.Errorf("Labels(no-such-namespace) = %v; want vnf.ErrNotFound", err)
	}

	// A deleted object disappears from the view once the watch delivers the deletion.
	if err := admin.AppsV1().Deployments(ns).Delete(ctx, "upf", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := view.Get(ctx, "Deployment", ns, "upf")
		return errors.Is(err, vnf.ErrNotFound), nil
	})
	if err != nil {
		t.Errorf("the deleted Deployment is still in the view: %v", err)
	}
}
