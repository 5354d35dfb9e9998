package vnf

import (
	"context"
	"errors"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type claimObjects map[string]metav1.Object

func (o claimObjects) Get(_ context.Context, kind, namespace, name string) (metav1.Object, error) {
	if obj, ok := o[kind+"/"+namespace+"/"+name]; ok {
		return obj, nil
	}
	if name == "broken" {
		return nil, errors.New("the API server answered 503")
	}
	return nil, ErrNotFound
}

func TestResolveVolume(t *testing.T) {
	udr := &Instance{ID: "udr-1", InstantiationState: NotInstantiated, InstantiatedVnfInfo: &InstantiatedVnfInfo{
		Metadata: map[string]any{"namespace": "vnf-udr"},
		VirtualStorageResourceInfo: []StorageResourceInfo{{ID: "s0", StorageResource: ResourceHandle{ResourceID: "data-udr-0"}},
			{ID: "s1", StorageResource: ResourceHandle{ResourceID: "data-udr-1"}}},
	}}
	snap := NewSnapshot("test", "v", time.Now(), []*Instance{udr, {ID: "amf-1", InstantiationState: Instantiated}})
	objects := claimObjects{
		"PersistentVolumeClaim/vnf-amf/amf-data":   &metav1.ObjectMeta{Name: "amf-data", Namespace: "vnf-amf", UID: "a1", Labels: map[string]string{DefaultInstanceLabel: "amf-1"}},
		"PersistentVolumeClaim/vnf-udr/data-udr-0": &metav1.ObjectMeta{Name: "data-udr-0", Namespace: "vnf-udr", UID: "new-uid"},
	}
	r := Resolver{Objects: objects}
	for _, tt := range []struct {
		name    string
		pv      metav1.Object
		claim   ClaimRef
		want    string // instance ID
		via     string // HolderKind
		wantErr bool
	}{
		{"the volume's own label", &metav1.ObjectMeta{Name: "pv", Labels: map[string]string{DefaultInstanceLabel: "amf-1"}}, ClaimRef{}, "amf-1", KindPersistentVolume, false},
		{"through its claim's label", &metav1.ObjectMeta{Name: "pv"}, ClaimRef{"vnf-amf", "amf-data", "a1"}, "amf-1", KindPersistentVolumeClaim, false},
		{"claim gone: its name is the instance's storage resource", &metav1.ObjectMeta{Name: "pv"}, ClaimRef{"vnf-udr", "data-udr-1", "u1"}, "udr-1", KindPersistentVolumeClaim, false},
		{"claim gone, of no instance", &metav1.ObjectMeta{Name: "pv"}, ClaimRef{"vnf-udr", "gone-claim", ""}, "", "", false},
		{"claim made again (another UID): the volume is still the old claim's", &metav1.ObjectMeta{Name: "pv"}, ClaimRef{"vnf-udr", "data-udr-0", "old-uid"}, "udr-1", KindPersistentVolumeClaim, false},
		{"no claim, no label", &metav1.ObjectMeta{Name: "pv"}, ClaimRef{}, "", "", false},
		{"claim lookup fails", &metav1.ObjectMeta{Name: "pv"}, ClaimRef{"vnf-udr", "broken", ""}, "", "", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := r.ResolveVolume(context.Background(), snap, tt.pv, tt.claim)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if b.InstanceID != tt.want || (tt.want != "" && b.HolderKind != tt.via) {
				t.Errorf("bound to %q via %s, want %q via %s", b.InstanceID, b.HolderKind, tt.want, tt.via)
			}
		})
	}
}

func TestClaimRefRepoints(t *testing.T) {
	bound := ClaimRef{"vnf-udr", "data-udr-0", "u1"}
	for _, tt := range []struct {
		name      string
		old, next ClaimRef
		want      bool
	}{
		{"re-pointed", bound, ClaimRef{"lab-sandbox", "loot", ""}, true},
		{"cleared", bound, ClaimRef{}, true},
		{"UID cleared", bound, ClaimRef{"vnf-udr", "data-udr-0", ""}, true},
		{"UID replaced", bound, ClaimRef{"vnf-udr", "data-udr-0", "u2"}, true},
		{"set on a free volume", ClaimRef{}, bound, true},
		{"UID filled in", ClaimRef{"vnf-udr", "data-udr-0", ""}, bound, false},
		{"unchanged", bound, bound, false},
	} {
		if got := tt.old.Repoints(tt.next); got != tt.want {
			t.Errorf("%s: Repoints = %v, want %v", tt.name, got, tt.want)
		}
	}
}
