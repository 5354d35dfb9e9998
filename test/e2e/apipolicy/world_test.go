package apipolicy

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"

	"github.com/vnfguard/vnfguard/internal/config"
	"github.com/vnfguard/vnfguard/internal/lab"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

type worldObject struct {
	kind string
	meta metav1.Object
}

// world is the cluster and inventory both engines judge by: the objects it made in the API server, as the Go side's
// lookups (vnf.Objects, policy.Namespaces) see them.
type world struct {
	snap    *vnf.Snapshot
	objects []worldObject
	labels  map[string]map[string]string
}

func (w *world) Get(_ context.Context, kind, namespace, name string) (metav1.Object, error) {
	for _, o := range w.objects {
		if o.kind == kind && o.meta.GetNamespace() == namespace && o.meta.GetName() == name {
			return o.meta, nil
		}
	}
	return nil, fmt.Errorf("%s %s/%s: %w", kind, namespace, name, vnf.ErrNotFound)
}

func (w *world) Labels(_ context.Context, name string) (map[string]string, error) {
	if l, ok := w.labels[name]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("namespace %s: %w", name, vnf.ErrNotFound)
}

type staticInventory struct{ snap *vnf.Snapshot }

func (s staticInventory) Snapshot() *vnf.Snapshot { return s.snap }

// newWorld makes the namespaces, workloads, pods and claims in the API server, before any policy is installed.
func newWorld(ctx context.Context, t *testing.T, admin *kubernetes.Clientset, cfg *config.Config) *world {
	t.Helper()
	instance := func(id string, state vnf.InstantiationState, op vnf.OperationalState) *vnf.Instance {
		inst := &vnf.Instance{ID: id, VnfProductName: "UPF", InstantiationState: state}
		if state == vnf.Instantiated {
			inst.InstantiatedVnfInfo = &vnf.InstantiatedVnfInfo{VnfState: op}
		}
		return inst
	}
	w := &world{
		snap: vnf.NewSnapshot("differential", "v1", time.Now(), []*vnf.Instance{
			instance(running, vnf.Instantiated, vnf.Started), instance(stopped, vnf.Instantiated, vnf.Stopped),
			instance(terminated, vnf.NotInstantiated, ""),
		}),
		labels: map[string]map[string]string{},
	}
	for ns, labels := range map[string]map[string]string{protectedNS: {"vnfguard.io/protected": "true"}, sandboxNS: nil} {
		if err := admin.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err == nil {
			t.Fatalf("namespace %s existed", ns)
		}
		n, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: labels}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w.labels[ns] = n.Labels
		// No controller manager runs (APIServerOnly): the ServiceAccount admission plugin wants the default one.
		if _, err := admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, ns := range []string{"kube-system", "default"} {
		n, err := admin.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		w.labels[ns] = n.Labels
	}
	if !cfg.IsProtected(protectedNS, w.labels[protectedNS]) || cfg.IsProtected(sandboxNS, w.labels[sandboxNS]) {
		t.Fatal("the lab configuration does not protect the differential test's namespace")
	}
	label := func(id string) map[string]string { return map[string]string{vnf.DefaultInstanceLabel: id} }
	rsUID := map[string]string{}
	for name, id := range map[string]string{"rs-running": running, "rs-stopped": stopped} {
		spec := lab.RestrictedPodSpec("app", lab.ImageRef("5gc/upf"), []string{"/usr/bin/upf"})
		rs, err := admin.AppsV1().ReplicaSets(protectedNS).Create(ctx, &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: label(id)},
			Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](0), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}}, Spec: spec}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rsUID[name] = string(rs.UID)
		w.objects = append(w.objects, worldObject{"ReplicaSet", rs})
	}
	for name, owner := range map[string]string{"pod-running": "rs-running", "pod-stopped": "rs-stopped", "pod-none": "", "pod-sandbox": ""} {
		ns := protectedNS
		if name == "pod-sandbox" {
			ns = sandboxNS
		}
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: lab.RestrictedPodSpec("app", lab.ImageRef("5gc/upf"), []string{"/usr/bin/upf"})}
		if owner != "" {
			p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: owner, UID: typesUID(rsUID[owner]), Controller: ptr.To(true)}}
		}
		created, err := admin.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w.objects = append(w.objects, worldObject{"Pod", created})
	}
	for name, id := range map[string]string{"data-running": running, "data-stopped": stopped, "data-terminated": terminated, "data-none": ""} {
		pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: protectedNS},
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				StorageClassName: ptr.To(""),
				Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
		if id != "" {
			pvc.Labels = label(id)
		}
		created, err := admin.CoreV1().PersistentVolumeClaims(protectedNS).Create(ctx, pvc, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w.objects = append(w.objects, worldObject{"PersistentVolumeClaim", created})
	}
	return w
}

// exampleManifests reads the Pods, Deployments and CronJobs of examples/manifests.
func exampleManifests(t *testing.T) []runtime.Object {
	t.Helper()
	var out []runtime.Object
	for _, file := range []string{"attacks.yaml", "upf.yaml"} {
		data, err := os.ReadFile("../../../examples/manifests/" + file)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			var raw runtime.RawExtension
			if err := dec.Decode(&raw); err != nil {
				break
			}
			if len(bytes.TrimSpace(raw.Raw)) == 0 {
				continue
			}
			obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(raw.Raw, nil, nil)
			if err != nil {
				t.Fatalf("examples/manifests/%s: %v", file, err)
			}
			switch obj.(type) {
			case *corev1.Pod, *appsv1.Deployment:
				out = append(out, obj)
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("examples/manifests gave no Pod or Deployment")
	}
	return out
}

func typesUID(s string) types.UID { return types.UID(s) }
