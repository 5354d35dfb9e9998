package cluster

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	metadatafake "k8s.io/client-go/metadata/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/vnfguard/vnfguard/internal/policy"
	"github.com/vnfguard/vnfguard/internal/vnf"
)

var (
	_ vnf.Objects       = (*View)(nil)
	_ policy.Namespaces = (*View)(nil)
)

func meta(apiVersion, kind, namespace, name string, labels map[string]string) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: apiVersion, Kind: kind},
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: labels},
	}
}

// testView builds a view whose informers are not started: the test fills their caches by hand, and everything
// else comes from the fake metadata client (the "live" API server).
func testView(t testing.TB, cached []*metav1.PartialObjectMetadata, live ...runtime.Object) (*View, *metadatafake.FakeMetadataClient) {
	t.Helper()
	scheme := metadatafake.NewTestScheme()
	if err := metav1.AddMetaToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	client := metadatafake.NewSimpleMetadataClient(scheme, live...)
	v := newStoppedView(client, client, nil, nil, slog.New(slog.DiscardHandler))
	for _, m := range cached {
		inf := v.namespaces
		if m.Kind != "Namespace" {
			inf = v.informers[m.Kind]
		}
		if err := inf.GetIndexer().Add(m); err != nil {
			t.Fatal(err)
		}
	}
	return v, client
}

func TestGet(t *testing.T) {
	cached := []*metav1.PartialObjectMetadata{
		meta("apps/v1", "ReplicaSet", "vnf-upf", "upf-7d9c", map[string]string{"app": "upf"}),
		meta("v1", "Pod", "vnf-upf", "upf-7d9c-abcde", nil),
	}
	live := []runtime.Object{
		meta("apps/v1", "Deployment", "vnf-upf", "upf", map[string]string{vnf.DefaultInstanceLabel: "7f3c"}),
		meta("v1", "PersistentVolumeClaim", "vnf-udr", "data-udr-0", nil),
	}
	v, _ := testView(t, cached, live...)
	tests := []struct {
		name, kind, namespace, object string
		wantLabel                     string // a label key the result must carry; "" for none
		wantNotFound                  bool
	}{
		{name: "cache hit", kind: "ReplicaSet", namespace: "vnf-upf", object: "upf-7d9c", wantLabel: "app"},
		{name: "cached pod", kind: "Pod", namespace: "vnf-upf", object: "upf-7d9c-abcde"},
		{name: "cache miss served live", kind: "Deployment", namespace: "vnf-upf", object: "upf", wantLabel: vnf.DefaultInstanceLabel},
		{name: "claim served live", kind: "PersistentVolumeClaim", namespace: "vnf-udr", object: "data-udr-0"},
		{name: "absent everywhere", kind: "StatefulSet", namespace: "vnf-udr", object: "udr", wantNotFound: true},
		{name: "same name other namespace", kind: "ReplicaSet", namespace: "other", object: "upf-7d9c", wantNotFound: true},
		{name: "untracked kind ends the owner chain", kind: "UPFCluster", namespace: "vnf-upf", object: "upf", wantNotFound: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, err := v.Get(context.Background(), tt.kind, tt.namespace, tt.object)
			if tt.wantNotFound {
				if !errors.Is(err, vnf.ErrNotFound) {
					t.Fatalf("Get(%s %s/%s) = %v, %v; want an error wrapping vnf.ErrNotFound", tt.kind, tt.namespace, tt.object, obj, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Get(%s %s/%s): %v", tt.kind, tt.namespace, tt.object, err)
			}
			if obj.GetName() != tt.object || obj.GetNamespace() != tt.namespace {
				t.Errorf("got %s/%s, want %s/%s", obj.GetNamespace(), obj.GetName(), tt.namespace, tt.object)
			}
			if _, ok := obj.GetLabels()[tt.wantLabel]; tt.wantLabel != "" && !ok {
				t.Errorf("labels %v lack %s", obj.GetLabels(), tt.wantLabel)
			}
		})
	}
}

// A failing API server is not "not found": the policy must be able to fail closed.
func TestGetLiveErrorIsNotNotFound(t *testing.T) {
	v, client := testView(t, nil)
	client.PrependReactor("get", "*", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewServiceUnavailable("etcd is down")
	})
	_, err := v.Get(context.Background(), "ReplicaSet", "vnf-upf", "upf-7d9c")
	if err == nil || errors.Is(err, vnf.ErrNotFound) {
		t.Fatalf("Get with the API server failing = %v; want an error that does not wrap vnf.ErrNotFound", err)
	}
	if !apierrors.IsServiceUnavailable(errors.Unwrap(err)) {
		t.Errorf("error %v does not wrap the API server's error", err)
	}
}

func TestLabels(t *testing.T) {
	cached := []*metav1.PartialObjectMetadata{meta("v1", "Namespace", "", "vnf-upf", map[string]string{"vnfguard.io/protected": "true"})}
	v, _ := testView(t, cached, meta("v1", "Namespace", "", "vnf-new", map[string]string{"vnfguard.io/protected": "true"}))
	for _, ns := range []string{"vnf-upf", "vnf-new"} {
		labels, err := v.Labels(context.Background(), ns)
		if err != nil {
			t.Fatalf("Labels(%s): %v", ns, err)
		}
		if labels["vnfguard.io/protected"] != "true" {
			t.Errorf("Labels(%s) = %v, want the protected label", ns, labels)
		}
	}
	if _, err := v.Labels(context.Background(), "absent"); !errors.Is(err, vnf.ErrNotFound) {
		t.Errorf("Labels(absent) error = %v, want vnf.ErrNotFound", err)
	}
}

func TestKindsAreTheVNFObjectKinds(t *testing.T) {
	for _, kind := range []string{"Pod", "ReplicaSet", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "PersistentVolumeClaim", "Secret", "ConfigMap"} {
		_, watched := Kinds[kind]
		_, data := DataKinds[kind]
		if !watched && !data {
			t.Errorf("the view does not serve %s, which vnf.Objects documents", kind)
		}
	}
	if got := Kinds["CronJob"]; got != (schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "cronjobs"}) {
		t.Errorf("CronJob maps to %v", got)
	}
}
