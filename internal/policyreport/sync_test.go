package policyreport

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	discoveryfake "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"
)

// cluster is a fake API server serving the report APIs given (discovery), with the objects given.
func cluster(t *testing.T, served []API, objs ...runtime.Object) (*dynamicfake.FakeDynamicClient, *discoveryfake.FakeDiscovery) {
	t.Helper()
	lists := map[schema.GroupVersionResource]string{}
	for _, api := range APIs {
		lists[api.Resource] = api.Kind + "List"
		lists[api.ClusterResource] = api.ClusterKind + "List"
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), lists, objs...)
	// The fake's tracker does not apply: a server-side apply here creates or replaces the object it carries.
	dyn.PrependReactor("patch", "*", func(action clienttesting.Action) (bool, runtime.Object, error) {
		p := action.(clienttesting.PatchAction)
		if p.GetPatchType() != types.ApplyPatchType {
			return false, nil, nil
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(p.GetPatch()); err != nil {
			return true, nil, err
		}
		err := dyn.Tracker().Create(p.GetResource(), obj, p.GetNamespace())
		if apierrors.IsAlreadyExists(err) {
			err = dyn.Tracker().Update(p.GetResource(), obj, p.GetNamespace())
		}
		return true, obj, err
	})
	disco := &discoveryfake.FakeDiscovery{Fake: &clienttesting.Fake{}}
	for _, api := range served {
		disco.Resources = append(disco.Resources, &metav1.APIResourceList{GroupVersion: api.GroupVersion.String(), APIResources: []metav1.APIResource{
			{Name: api.Resource.Resource, Kind: api.Kind, Namespaced: true}, {Name: api.ClusterResource.Resource, Kind: api.ClusterKind}}})
	}
	return dyn, disco
}

func names(apis []API) string {
	var out []string
	for _, a := range apis {
		out = append(out, a.Name)
	}
	return strings.Join(out, ",")
}

func written(o Outcome) string {
	var out []string
	for _, w := range o.Written {
		out = append(out, w.API.Name)
	}
	return strings.Join(out, ",")
}

func TestPublishChoosesByDiscovery(t *testing.T) {
	desired, err := Build("posture", findings(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		served            []API
		choice            Choice
		written, unserved string
		noCRD             bool
	}{
		"auto, wgpolicyk8s only":   {[]API{WGPolicy}, Auto, "wgpolicyk8s", "", false},
		"auto, openreports only":   {[]API{OpenReports}, Auto, "openreports", "", false},
		"auto, both":               {APIs, Auto, "wgpolicyk8s,openreports", "", false},
		"auto, neither":            {nil, Auto, "", "wgpolicyk8s,openreports", true},
		"wgpolicyk8s, both served": {APIs, ChooseWGPolicy, "wgpolicyk8s", "", false},
		"openreports, not served":  {[]API{WGPolicy}, ChooseOpenReports, "", "openreports", true},
		"both, one served":         {[]API{OpenReports}, Both, "openreports", "wgpolicyk8s", false},
	} {
		t.Run(name, func(t *testing.T) {
			dyn, disco := cluster(t, tc.served)
			out, err := Publish(context.Background(), dyn, disco, tc.choice, "posture", desired)
			if errors.Is(err, ErrNoCRD) != tc.noCRD || (err != nil && !tc.noCRD) {
				t.Fatalf("error %v, want ErrNoCRD %v", err, tc.noCRD)
			}
			if written(out) != tc.written || names(out.Unserved) != tc.unserved {
				t.Errorf("written %q, unserved %q; want %q and %q", written(out), names(out.Unserved), tc.written, tc.unserved)
			}
			for _, w := range out.Written {
				if w.Applied != 2 {
					t.Errorf("%s: %d reports applied, want 2 (vnf-upf and the cluster's)", w.API.Name, w.Applied)
				}
				if _, err := dyn.Resource(w.API.Resource).Namespace("vnf-upf").Get(context.Background(), "vnfguard-posture", metav1.GetOptions{}); err != nil {
					t.Errorf("%s: %v", w.API.Name, err)
				}
			}
			if tc.noCRD {
				for _, api := range out.Unserved {
					if !strings.Contains(err.Error(), api.String()) || !strings.Contains(err.Error(), api.Kind) {
						t.Errorf("error %q does not name %s and its kinds", err, api)
					}
				}
			}
		})
	}
}

func TestPublishClearsTheAPINotChosen(t *testing.T) {
	ours := func(api API, ns string) *unstructured.Unstructured {
		u := (&Report{Source: "posture", Namespace: ns, Hash: "old"}).Object(api)
		u.SetUID(types.UID("uid-" + ns))
		return u
	}
	theirs := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": "PolicyReport",
		"metadata": map[string]any{"name": "kyverno-pod-security", "namespace": "vnf-upf", "labels": map[string]any{ManagedByLabel: "kyverno"}}}}
	reconcile := (&Report{Source: "reconcile", Namespace: "vnf-upf", Hash: "x"}).Object(WGPolicy)
	dyn, disco := cluster(t, APIs, ours(WGPolicy, "vnf-upf"), ours(WGPolicy, ""), theirs, reconcile)
	desired, _ := Build("posture", findings(time.Now()))
	out, err := Publish(context.Background(), dyn, disco, ChooseOpenReports, "posture", desired)
	if err != nil {
		t.Fatal(err)
	}
	if written(out) != "openreports" || len(out.Cleared) != 1 || out.Cleared[0].API.Name != "wgpolicyk8s" || out.Cleared[0].Deleted != 2 {
		t.Fatalf("outcome %+v, want openreports written and wgpolicyk8s's two posture reports deleted", out)
	}
	left, err := dyn.Resource(WGPolicy.Resource).Namespace("vnf-upf").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, it := range left.Items {
		kept = append(kept, it.GetName())
	}
	if strings.Join(kept, ",") != "kyverno-pod-security,vnfguard-reconcile" {
		t.Errorf("wgpolicyk8s reports left in vnf-upf: %v, want Kyverno's and vnfguard's reconcile report untouched", kept)
	}
}

func TestSyncLeavesUnchangedReports(t *testing.T) {
	desired, _ := Build("posture", findings(time.Now()))
	dyn, _ := cluster(t, APIs)
	if st, err := Sync(context.Background(), dyn, OpenReports, "posture", desired); err != nil || st.Applied != 2 {
		t.Fatalf("first sync: %+v %v", st, err)
	}
	dyn.ClearActions()
	again, _ := Build("posture", findings(time.Now().Add(time.Hour)))
	st, err := Sync(context.Background(), dyn, OpenReports, "posture", again)
	if err != nil || st.Unchanged != 2 || st.Applied != 0 {
		t.Fatalf("second sync: %+v %v, want both unchanged", st, err)
	}
	for _, a := range dyn.Actions() {
		if a.GetVerb() != "list" {
			t.Errorf("a sync of unchanged results did %s %s", a.GetVerb(), a.GetResource())
		}
	}
	if st, err := Sync(context.Background(), dyn, OpenReports, "posture", nil); err != nil || st.Deleted != 2 {
		t.Errorf("sync of no results: %+v %v, want both reports deleted", st, err)
	}
}

func TestParseChoice(t *testing.T) {
	for _, s := range []string{"auto", "wgpolicyk8s", "openreports", "both"} {
		if c, err := ParseChoice(s); err != nil || string(c) != s {
			t.Errorf("ParseChoice(%q) = %q, %v", s, c, err)
		}
	}
	if _, err := ParseChoice("wgpolicy"); err == nil || !strings.Contains(err.Error(), "auto, wgpolicyk8s, openreports, both") {
		t.Errorf("ParseChoice(wgpolicy): %v, want the choices named", err)
	}
}
