package manifest

import (
	"context"
	"errors"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

func testCluster(t *testing.T) (*Cluster, []Object) {
	t.Helper()
	objs, err := ReadFiles([]string{"testdata/multi-doc.yaml", "testdata/array.json", "testdata/dir"})
	if err != nil {
		t.Fatal(err)
	}
	return NewCluster(objs, "vnf-smf"), objs
}

func TestClusterGet(t *testing.T) {
	c, _ := testCluster(t)
	ctx := context.Background()
	tests := []struct {
		kind, namespace, name string
		found                 bool
	}{
		{"Deployment", "vnf-upf", "upf", true},
		{"ReplicaSet", "vnf-upf", "upf-7d9c5b6f4", true},
		{"Pod", "vnf-upf", "upf-7d9c5b6f4-abcde", true},
		{"StatefulSet", "vnf-udr", "udr", true},
		{"NetworkAttachmentDefinition", "vnf-upf", "n3", true},
		{"ConfigMap", "vnf-smf", "a", true},           // no namespace in the file: the default namespace
		{"ConfigMap", "default", "a", false},          // ... and not kubectl's default
		{"ClusterRole", "vnf-upf", "exec-pods", true}, // cluster-scoped: the namespace is ignored
		{"Deployment", "vnf-udr", "upf", false},       // wrong namespace
		{"StatefulSet", "vnf-upf", "upf", false},      // wrong kind
		{"Namespace", "", "vnf-upf", true},
	}
	for _, tt := range tests {
		obj, err := c.Get(ctx, tt.kind, tt.namespace, tt.name)
		if tt.found {
			if err != nil || obj.GetName() != tt.name {
				t.Errorf("Get(%s %s/%s) = %v, %v", tt.kind, tt.namespace, tt.name, obj, err)
			}
			continue
		}
		if !errors.Is(err, vnf.ErrNotFound) || obj != nil {
			t.Errorf("Get(%s %s/%s) = %v, %v; want ErrNotFound", tt.kind, tt.namespace, tt.name, obj, err)
		}
	}
	if _, err := c.Get(ctx, "Deployment", "vnf-udr", "upf"); err.Error() != "Deployment vnf-udr/upf is not in the manifests: not found" {
		t.Errorf("error text = %q", err)
	}
	// Get returns the typed object itself, so that callers can look at a pod's spec.
	obj, _ := c.Get(ctx, "Pod", "vnf-upf", "upf-7d9c5b6f4-abcde")
	if _, ok := obj.(*corev1.Pod); !ok {
		t.Errorf("Get returned %T, want *corev1.Pod", obj)
	}
}

func TestClusterLabels(t *testing.T) {
	c, _ := testCluster(t)
	ctx := context.Background()
	labels, err := c.Labels(ctx, "vnf-upf")
	if err != nil || !reflect.DeepEqual(labels, map[string]string{"vnfguard.io/protected": "true"}) {
		t.Errorf("Labels(vnf-upf) = %v, %v", labels, err)
	}
	labels["vnfguard.io/protected"] = "false" // a caller's change must not leak into the cluster
	if again, _ := c.Labels(ctx, "vnf-upf"); again["vnfguard.io/protected"] != "true" {
		t.Error("Labels returned the cluster's own map")
	}
	if labels, err := c.Labels(ctx, "vnf-udr"); err != nil || labels == nil || len(labels) != 0 {
		t.Errorf("Labels of an unlabelled namespace = %v, %v; want empty, nil", labels, err)
	}
	if _, err := c.Labels(ctx, "vnf-smf"); !errors.Is(err, vnf.ErrNotFound) {
		t.Errorf("Labels of a namespace without a Namespace object: %v", err)
	}
}

// The cluster answers the resolver's owner walk: the pod has no instance label, its Deployment has.
func TestClusterResolvesOwners(t *testing.T) {
	c, objs := testCluster(t)
	snap := vnf.NewSnapshot("test", "1", objs[0].Meta().GetCreationTimestamp().Time, []*vnf.Instance{{
		ID: "7f3c2a10-5d1e-4c1b-9a77-0c6d1e2f3a4b", VnfdID: "upf", InstantiationState: vnf.Instantiated,
		InstantiatedVnfInfo: &vnf.InstantiatedVnfInfo{VnfState: vnf.Started, Metadata: map[string]any{"namespace": "vnf-upf"}},
	}})
	r := &vnf.Resolver{Objects: c}
	pod := objs[3]
	b, err := r.Resolve(context.Background(), snap, pod.GVK.Kind, pod.Meta())
	if err != nil {
		t.Fatal(err)
	}
	if !b.Known() || b.Via != vnf.ViaLabel || b.HolderKind != "Deployment" || b.HolderName != "upf" {
		t.Errorf("binding = %+v", b)
	}
}

func TestNamespaceOf(t *testing.T) {
	c, objs := testCluster(t)
	got := map[string]string{}
	for _, o := range objs {
		got[o.GVK.Kind+"/"+o.Meta().GetName()] = c.NamespaceOf(o)
	}
	want := map[string]string{"Pod/upf-7d9c5b6f4-abcde": "vnf-upf", "ConfigMap/a": "vnf-smf", "ClusterRole/exec-pods": "", "Namespace/vnf-upf": ""}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("NamespaceOf(%s) = %q, want %q", k, got[k], v)
		}
	}
	if ns := NewCluster(nil, "").NamespaceOf(objs[7]); ns != DefaultNamespace {
		t.Errorf("NamespaceOf(%s) in a cluster without a default namespace = %q, want %q", objs[7], ns, DefaultNamespace)
	}
}
