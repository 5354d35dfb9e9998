package cluster

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	metadatafake "k8s.io/client-go/metadata/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/vnfguard/vnfguard/internal/vnf"
)

func protectedByLabel(_ string, labels map[string]string) bool {
	return labels["vnfguard.io/protected"] == "true"
}

// startedView runs a view with its informers over a fake API server holding objects.
func startedView(t *testing.T, objects ...runtime.Object) (*View, *metadatafake.FakeMetadataClient) {
	t.Helper()
	scheme := metadatafake.NewTestScheme()
	if err := metav1.AddMetaToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	client := metadatafake.NewSimpleMetadataClient(scheme, objects...)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	v := newView(ctx, client, client, nil, nil, slog.New(slog.DiscardHandler))
	v.WatchData(ctx, protectedByLabel, []string{"vnf-named"})
	if err := v.WaitForSync(ctx); err != nil {
		t.Fatal(err)
	}
	return v, client
}

func TestDataKindsAreWatchedOnlyInProtectedNamespaces(t *testing.T) {
	v, client := startedView(t,
		meta("v1", "Namespace", "", "vnf-upf", map[string]string{"vnfguard.io/protected": "true"}),
		meta("v1", "Namespace", "", "default", nil),
		meta("v1", "Secret", "vnf-upf", "upf-creds", map[string]string{"tacker_vnf_instance_id": "i1"}),
		meta("v1", "Secret", "vnf-named", "named-creds", nil),
		meta("v1", "Secret", "default", "other-creds", nil),
	)
	wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		return len(v.data.Namespaces()) == 2 && v.HasSynced(), nil
	})
	if got := v.data.Namespaces(); len(got) != 2 || got[0] != "vnf-named" || got[1] != "vnf-upf" {
		t.Fatalf("watched namespaces = %v, want [vnf-named vnf-upf]: by name and by label, not default", got)
	}
	// Every list and watch of Secrets must be namespaced: no cluster-wide grant is needed.
	for _, a := range client.Actions() {
		if a.GetResource().Resource == "secrets" && a.GetNamespace() == "" {
			t.Errorf("cluster-wide %s of secrets: vnfguard's RBAC grants Secrets only in protected namespaces", a.GetVerb())
		}
	}
	for _, key := range [][2]string{{"vnf-upf", "upf-creds"}, {"vnf-named", "named-creds"}} {
		m, err := v.Get(context.Background(), "Secret", key[0], key[1])
		if err != nil || m.GetName() != key[1] {
			t.Errorf("Get(Secret %s/%s) = %v, %v", key[0], key[1], m, err)
		}
	}
	client.ClearActions()
	if _, err := v.Get(context.Background(), "Secret", "default", "other-creds"); !errors.Is(err, vnf.ErrNotFound) {
		t.Errorf("Get(Secret in an unprotected namespace) error = %v, want vnf.ErrNotFound (no VNF lives there)", err)
	}
	if n := len(client.Actions()); n != 0 {
		t.Errorf("a Secret outside the protected namespaces cost %d API calls, want none (vnfguard holds no grant there)", n)
	}
}

func TestDataWatchFollowsTheProtectedLabel(t *testing.T) {
	v, client := startedView(t, meta("v1", "Namespace", "", "vnf-smf", nil), meta("v1", "Secret", "vnf-smf", "smf-creds", nil))
	if got := v.data.Namespaces(); len(got) != 1 {
		t.Fatalf("watched namespaces = %v, want only the named one", got)
	}
	ns := meta("v1", "Namespace", "", "vnf-smf", map[string]string{"vnfguard.io/protected": "true"})
	if _, err := client.Resource(namespacesGVR).(metadatafake.MetadataClient).UpdateFake(ns, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		_, exists, watched := v.data.Get("Secret", "vnf-smf", "smf-creds")
		return exists && watched, nil
	})
	if err != nil {
		t.Fatalf("labelled protected, vnf-smf's Secrets were not watched: %v (watched: %v)", err, v.data.Namespaces())
	}
	// Protection removed: the watch stops.
	ns.Labels = nil
	if _, err := client.Resource(namespacesGVR).(metadatafake.MetadataClient).UpdateFake(ns, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		return len(v.data.Namespaces()) == 1, nil
	})
	if err != nil {
		t.Errorf("unprotected again, vnf-smf is still watched: %v", v.data.Namespaces())
	}
}

func TestForbiddenNamespaceDoesNotHoldReadinessBack(t *testing.T) {
	scheme := metadatafake.NewTestScheme()
	if err := metav1.AddMetaToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	client := metadatafake.NewSimpleMetadataClient(scheme, meta("v1", "Namespace", "", "vnf-upf", map[string]string{"vnfguard.io/protected": "true"}))
	client.PrependReactor("list", "secrets", func(a clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, forbidden("secrets", a.GetNamespace())
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	v := newView(ctx, client, client, nil, nil, slog.New(slog.DiscardHandler))
	v.WatchData(ctx, protectedByLabel, nil)
	if err := v.WaitForSync(ctx); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		return len(v.DataForbidden()) == 1 && v.HasSynced(), nil
	})
	if err != nil {
		t.Fatalf("DataForbidden() = %v, HasSynced() = %v; want [vnf-upf] and ready", v.DataForbidden(), v.HasSynced())
	}
}

func forbidden(resource, namespace string) error {
	return apierrors.NewForbidden(schema.GroupResource{Resource: resource}, "", errors.New("User \"system:serviceaccount:vnfguard:vnfguard\" cannot list resource \""+resource+"\" in the namespace \""+namespace+"\""))
}
